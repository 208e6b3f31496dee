"""Retry days and send windows."""

from __future__ import annotations

from datetime import date

import pytest

from domain.dunning import country_zone, send_after, send_window_utc
from domain.dunning.calendar import easter, retry_day_problem

from .build import POLICY

CALENDAR = POLICY.retries.calendar


@pytest.mark.parametrize(
    ("year", "sunday"),
    [(2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5))],
)
def test_easter(year: int, sunday: date) -> None:
    assert easter(year) == sunday


@pytest.mark.parametrize(
    ("day", "problem"),
    [
        (date(2026, 11, 26), None),  # a Thursday
        (date(2026, 11, 28), "weekend"),
        (date(2026, 4, 6), "holiday"),  # Easter Monday
        (date(2026, 5, 14), "holiday"),  # Ascension
        (date(2026, 12, 25), "holiday"),
        (date(2026, 10, 27), "end_of_month"),  # a Tuesday before payday
        (date(2026, 11, 2), None),
    ],
)
def test_retry_days(day: date, problem: str | None) -> None:
    assert retry_day_problem(CALENDAR, day) == problem


def test_send_window_in_the_customers_time_zone() -> None:
    day = date(2026, 11, 26)
    assert send_after(POLICY, "FR", day).isoformat() == "2026-11-26T08:00:00+00:00"
    assert send_after(POLICY, "US", day).isoformat() == "2026-11-26T14:00:00+00:00"
    assert send_after(POLICY, "JP", day).isoformat() == "2026-11-26T00:00:00+00:00"
    assert send_after(POLICY, None, day).isoformat() == "2026-11-26T08:00:00+00:00"
    # Summer time: 09:00 in Paris is 07:00 UTC.
    assert send_after(POLICY, "FR", date(2026, 7, 1)).isoformat() == "2026-07-01T07:00:00+00:00"
    start, end = send_window_utc(POLICY, "GB", day)
    assert (start.hour, end.hour) == (9, 19)


def test_country_zones() -> None:
    assert country_zone(POLICY, "de") == "Europe/Berlin"
    assert country_zone(POLICY, "US") == "America/New_York"
    assert country_zone(POLICY, "ZZ") == "Europe/Paris"
