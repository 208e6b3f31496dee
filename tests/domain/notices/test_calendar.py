"""Month arithmetic, the L215-1 window, withdrawal periods and Paris business dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from domain.notices.calendar import (
    add_months,
    local_day,
    month_end,
    next_boundary,
    notice_window,
    withdrawal_closes,
)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2027, 3, 31), -1, date(2027, 2, 28)),
        (date(2028, 3, 31), -1, date(2028, 2, 29)),
        (date(2027, 5, 31), -3, date(2027, 2, 28)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 11, 15), 3, date(2027, 2, 15)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
    ],
)
def test_add_months_clamps_to_the_end_of_the_month(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("deadline", "window"),
    [
        # the plain case: exactly three months and exactly one month before
        (date(2026, 12, 20), (date(2026, 9, 20), date(2026, 11, 20))),
        # 28 Feb + 3 months is 28 May, before a 31 May deadline: the window opens 1 March
        (date(2027, 5, 31), (date(2027, 3, 1), date(2027, 4, 30))),
        (date(2028, 5, 31), (date(2028, 3, 1), date(2028, 4, 30))),
        # a leap year has a 29 February that is exactly three months before 29 May
        (date(2028, 5, 29), (date(2028, 2, 29), date(2028, 4, 29))),
        (date(2027, 5, 29), (date(2027, 3, 1), date(2027, 4, 29))),
        # one month before 31 March is the end of February, 28th or 29th
        (date(2027, 3, 31), (date(2026, 12, 31), date(2027, 2, 28))),
        (date(2028, 3, 31), (date(2027, 12, 31), date(2028, 2, 29))),
        (date(2027, 2, 28), (date(2026, 11, 28), date(2027, 1, 28))),
    ],
)
def test_notice_window_edges(deadline: date, window: tuple[date, date]) -> None:
    assert notice_window(deadline, 3, 1) == window


def _legal(day: date, deadline: date) -> bool:
    """Both readings of "3 months at the earliest, 1 month at the latest before"."""
    return (
        add_months(day, 1) <= deadline
        and add_months(day, 3) >= deadline
        and add_months(deadline, -3) <= day <= add_months(deadline, -1)
    )


def test_every_day_of_every_window_is_legal_and_the_window_cannot_grow() -> None:
    """Every deadline over eight years (two leap years, every month end)."""
    deadline = date(2024, 1, 1)
    while deadline < date(2032, 1, 1):
        first, last = notice_window(deadline, 3, 1)
        assert first <= last
        for offset in range((last - first).days + 1):
            assert _legal(first + timedelta(days=offset), deadline), (deadline, offset)
        assert not _legal(first - timedelta(days=1), deadline), deadline
        assert not _legal(last + timedelta(days=1), deadline), deadline
        deadline += timedelta(days=1)


@pytest.mark.parametrize(
    ("anchor", "as_of", "unit", "expected"),
    [
        (date(2026, 7, 16), date(2026, 6, 30), "month", date(2026, 7, 16)),
        (date(2026, 7, 16), date(2026, 7, 16), "month", date(2026, 8, 16)),
        (date(2026, 1, 31), date(2026, 2, 27), "month", date(2026, 2, 28)),
        # projected from the anchor, not by clamping twice: March has a 31st
        (date(2026, 1, 31), date(2026, 3, 1), "month", date(2026, 3, 31)),
        (date(2024, 2, 29), date(2024, 2, 29), "year", date(2025, 2, 28)),
        (date(2024, 2, 29), date(2027, 3, 1), "year", date(2028, 2, 29)),
        (date(2026, 6, 1), date(2026, 6, 20), "week", date(2026, 6, 22)),
    ],
)
def test_next_boundary(anchor: date, as_of: date, unit: str, expected: date) -> None:
    assert next_boundary(anchor, as_of, unit) == expected


@pytest.mark.parametrize(
    ("delivered", "closes"),
    [
        (date(2026, 6, 22), date(2026, 7, 6)),  # Monday -> Monday
        (date(2026, 6, 19), date(2026, 7, 3)),  # Friday -> Friday
        (date(2026, 6, 20), date(2026, 7, 6)),  # Saturday + 14 = Saturday -> Monday
        (date(2026, 6, 21), date(2026, 7, 6)),  # Sunday + 14 = Sunday -> Monday
        (date(2028, 2, 15), date(2028, 2, 29)),  # leap day is a Tuesday
    ],
)
def test_withdrawal_period_runs_to_the_next_working_day(delivered: date, closes: date) -> None:
    assert withdrawal_closes(delivered, 14) == closes


def test_month_end_of_a_card() -> None:
    assert month_end(2026, 7) == date(2026, 7, 31)
    assert month_end(2028, 2) == date(2028, 2, 29)
    assert month_end(2027, 2) == date(2027, 2, 28)


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        (datetime(2026, 6, 30, 21, 59, tzinfo=UTC), date(2026, 6, 30)),  # 23:59 CEST
        (datetime(2026, 6, 30, 22, 0, tzinfo=UTC), date(2026, 7, 1)),  # midnight CEST
        (datetime(2026, 12, 31, 22, 59, tzinfo=UTC), date(2026, 12, 31)),  # 23:59 CET
        (datetime(2026, 12, 31, 23, 0, tzinfo=UTC), date(2027, 1, 1)),
        (datetime(2028, 2, 28, 23, 30, tzinfo=UTC), date(2028, 2, 29)),
        (pd.Timestamp("2026-03-29T00:30:00Z"), date(2026, 3, 29)),  # the spring-forward night
    ],
)
def test_local_day_is_the_paris_business_date(instant: datetime, day: date) -> None:
    assert local_day(instant, "Europe/Paris") == day


def test_local_day_of_nothing_and_of_a_naive_instant() -> None:
    assert local_day(None, "Europe/Paris") is None
    assert local_day(pd.NaT, "Europe/Paris") is None
    with pytest.raises(ValueError, match="naive"):
        local_day(datetime(2026, 6, 30, 12), "Europe/Paris")
