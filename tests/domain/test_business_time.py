"""Business dates in Europe/Paris around the days clocks and calendars play tricks:
daylight-saving changes (29 March and 25 October 2026), month ends, the leap day
(29 February 2028) and New Year.

- A due date is the Paris calendar day of the instant Stripe sends (hand-computed
  instants either side of each change; and, as a property, every instant 2024-2030
  against ``zoneinfo``).
- A dunning ladder, night after night with its ledger, puts each step on ``due date +
  its day`` counted in calendar days, never the night before, whatever lies between (a
  23-hour day, 28 or 29 February, 31 December).
- A reminder's send window opens at 09:00 Paris time on the day itself: 08:00 UTC in
  winter, 07:00 UTC in summer, switching exactly on the change days.
- A direct debit is not retried on New Year's Day, and tax returns fall due on the last
  day (OSS) or the 24th (CA3) of the month after the period, across New Year and
  February of a leap year.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.dunning import send_after, send_window_utc
from domain.dunning.calendar import retry_day_problem
from domain.normalise.stripe_invoices import normalise_invoices
from domain.tax.policy import load_tax_calendar
from tests.domain.dunning.build import POLICY, as_history, customer, inputs, invoice, run
from tests.domain.dunning.build import ROOT as PROJECT
from tests.domain.normalise import wire

PARIS = ZoneInfo("Europe/Paris")


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def due_on(instant: int) -> date:
    out = normalise_invoices([wire.stripe_invoice(due_date=instant)], 1)
    assert out.problems.empty, out.problems["reason"].tolist()
    return out.rows["due_on"].iloc[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        ("2026-03-28T22:59:59", date(2026, 3, 28)),  # 23:59:59 CET
        ("2026-03-28T23:00:00", date(2026, 3, 29)),  # midnight CET, the night clocks go on
        ("2026-03-29T21:59:59", date(2026, 3, 29)),  # 23:59:59 CEST
        ("2026-03-29T22:00:00", date(2026, 3, 30)),  # midnight CEST
        ("2026-10-24T21:59:59", date(2026, 10, 24)),  # 23:59:59 CEST
        ("2026-10-24T22:00:00", date(2026, 10, 25)),  # midnight CEST, the night they go back
        ("2026-10-25T22:59:59", date(2026, 10, 25)),  # 23:59:59 CET
        ("2026-12-31T22:59:59", date(2026, 12, 31)),
        ("2026-12-31T23:00:00", date(2027, 1, 1)),  # New Year in Paris, still 2026 in UTC
        ("2028-02-28T23:00:00", date(2028, 2, 29)),  # the leap day
        ("2028-02-29T23:00:00", date(2028, 3, 1)),
        ("2027-02-28T23:00:00", date(2027, 3, 1)),  # no leap day in 2027
    ],
)
def test_a_due_date_is_the_paris_day_of_the_instant_stripe_sends(instant: str, day: date) -> None:
    assert due_on(utc(instant)) == day


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=utc("2024-01-01T00:00:00"), max_value=utc("2030-12-31T23:59:59")))
def test_every_due_instant_lands_on_its_paris_day(instant: int) -> None:
    assert due_on(instant) == datetime.fromtimestamp(instant, PARIS).date()


# -- the ladder, night by night --------------------------------------------------------------

CONSUMER = {s.stage: s.day for s in POLICY.ladders["consumer"].steps}


@cache
def walk(due: date) -> dict[date, str]:
    """The stage planned on the night before and the night of each step (each night with
    the ledger of the nights before, as the flow keeps it): ``{night: stage}``."""
    data = {
        "customers": [customer("cus_1")],
        "invoices": [invoice("in_1", "cus_1", 4990, due.isoformat())],
    }
    nights = sorted({due + timedelta(days=d + e) for d in CONSUMER.values() for e in (-1, 0)})
    history: list[dict[str, object]] = []
    stages: dict[date, str] = {}
    for night in nights:
        plan = run(inputs(**data, history=history), night)
        planned = set(plan.actions["stage"])
        assert len(planned) <= 1, (night, planned)
        if planned:
            stages[night] = planned.pop()
        history += as_history(plan, night)
    return stages


@pytest.mark.parametrize(
    "due",
    [
        date(2026, 3, 28),  # the next day has 23 hours
        date(2026, 12, 31),  # every step falls in the new year
        date(2028, 2, 28),  # the steps count the leap day
        date(2027, 2, 28),  # and none in 2027
    ],
)
def test_each_step_falls_on_the_due_date_plus_its_days_never_the_day_before(due: date) -> None:
    expected = {due + timedelta(days=day): stage for stage, day in CONSUMER.items()}
    assert walk(due) == expected


def test_hand_computed_steps_across_the_leap_day_and_new_year() -> None:
    leap = walk(date(2028, 2, 28))
    assert leap[date(2028, 2, 29)] == "reminder_1"
    assert leap[date(2028, 3, 6)] == "reminder_2"  # 7 days: 29 February counts
    assert walk(date(2027, 2, 28))[date(2027, 3, 7)] == "reminder_2"
    new_year = walk(date(2026, 12, 31))
    assert new_year[date(2026, 12, 28)] == "upcoming"
    assert new_year[date(2027, 1, 1)] == "reminder_1"
    assert new_year[date(2027, 1, 30)] == "final_notice"
    assert walk(date(2026, 3, 28))[date(2026, 3, 29)] == "reminder_1"  # a 23-hour day


# -- send windows ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "opens"),
    [
        (date(2026, 3, 28), "2026-03-28T08:00:00+00:00"),
        (date(2026, 3, 29), "2026-03-29T07:00:00+00:00"),  # the clocks went on at 02:00
        (date(2026, 10, 24), "2026-10-24T07:00:00+00:00"),
        (date(2026, 10, 25), "2026-10-25T08:00:00+00:00"),  # the clocks went back at 03:00
        (date(2026, 12, 31), "2026-12-31T08:00:00+00:00"),
        (date(2028, 2, 29), "2028-02-29T08:00:00+00:00"),
    ],
)
def test_the_send_window_opens_at_nine_in_paris_on_the_day_itself(day: date, opens: str) -> None:
    assert send_after(POLICY, "FR", day).isoformat() == opens


def test_every_day_of_seven_years_opens_and_closes_at_the_same_paris_hours() -> None:
    day, hours = date(2024, 1, 1), set()
    while day < date(2031, 1, 1):
        start, end = send_window_utc(POLICY, "FR", day)
        local_start, local_end = start.astimezone(PARIS), end.astimezone(PARIS)
        assert local_start.date() == local_end.date() == day
        hours.add((local_start.time(), local_end.time()))
        day += timedelta(days=1)
    assert hours == {(POLICY.send_window.start, POLICY.send_window.end)}


def test_a_reminder_planned_on_a_change_day_waits_for_that_days_window() -> None:
    data = inputs(
        customers=[customer("cus_1", country="FR")],
        invoices=[invoice("in_1", "cus_1", 4990, "2026-03-28")],
    )
    (notice,) = run(data, date(2026, 3, 29)).notices
    assert notice.send_after == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)


# -- retry days and tax deadlines ----------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "problem"),
    [
        (date(2027, 1, 1), "holiday"),  # New Year's Day, a Friday
        (date(2027, 1, 4), None),  # the Monday after
        (date(2028, 2, 29), "end_of_month"),  # the leap day: the policy avoids 27-31
        (date(2028, 3, 1), None),  # the Wednesday after
    ],
)
def test_direct_debit_retry_days_around_new_year_and_the_leap_day(
    day: date, problem: str | None
) -> None:
    assert retry_day_problem(POLICY.retries.calendar, day) == problem


TAX = load_tax_calendar(PROJECT / "policies")


@pytest.mark.parametrize(
    ("regime", "day", "period", "due"),
    [
        ("OSS", date(2026, 12, 31), "2026-Q4", date(2027, 1, 31)),
        ("OSS", date(2028, 2, 29), "2028-Q1", date(2028, 4, 30)),
        ("OSS", date(2027, 11, 30), "2027-Q4", date(2028, 1, 31)),
        ("FR_CA3", date(2026, 12, 31), "2026-12", date(2027, 1, 24)),
        ("FR_CA3", date(2028, 1, 31), "2028-01", date(2028, 2, 24)),
        ("FR_CA3", date(2028, 2, 29), "2028-02", date(2028, 3, 24)),
    ],
)
def test_tax_returns_fall_due_across_new_year_and_a_leap_february(
    regime: str, day: date, period: str, due: date
) -> None:
    assert TAX.period_of(regime, day) == period
    assert TAX.due_on(regime, period) == due
