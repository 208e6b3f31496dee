"""notice_exceptions across nights: open, still open, closed with its outcome, reopened."""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.notices.register import merge_register
from tests.domain.notices.build import register

JUNE_1, JUNE_2 = date(2026, 6, 1), date(2026, 6, 2)


def found(exception_id: str = "e1", amount: int = 8900) -> dict[str, Any]:
    return {
        "exception_id": exception_id,
        "kind": "refund_overdue",
        "order_id": "ORD-1",
        "tracking_id": "R1",
        "event_on": date(2026, 5, 10),
        "due_on": date(2026, 5, 24),
        "amount": amount,
        "currency": "EUR",
        "notification_id": exception_id,
    }


def test_a_new_finding_opens_and_the_same_night_again_writes_nothing() -> None:
    write, tally = merge_register(register([]), [found()], {}, JUNE_1)
    assert tally == {"opened": 1, "still_open": 0, "closed": 0}
    (row,) = write
    assert (row["status"], row["first_seen_on"], row["last_seen_on"]) == ("open", JUNE_1, JUNE_1)

    again, tally = merge_register(register(write), [found()], {}, JUNE_1)
    assert again == []
    assert tally == {"opened": 0, "still_open": 1, "closed": 0}


def test_next_night_moves_last_seen_then_closes_with_the_outcome() -> None:
    first, _ = merge_register(register([]), [found()], {}, JUNE_1)
    second, _ = merge_register(register(first), [found()], {}, JUNE_2)
    assert [(r["first_seen_on"], r["last_seen_on"]) for r in second] == [(JUNE_1, JUNE_2)]

    third_day = date(2026, 6, 3)
    closed, tally = merge_register(register(second), [], {"e1": "refunded"}, third_day)
    assert tally == {"opened": 0, "still_open": 0, "closed": 1}
    assert [(r["status"], r["closed_on"], r["outcome"], r["last_seen_on"]) for r in closed] == [
        ("closed", third_day, "refunded", JUNE_2)
    ]
    # closed rows stay as they are
    assert merge_register(register(closed), [], {}, date(2026, 6, 4))[0] == []


def test_a_closed_row_found_again_reopens_keeping_its_first_sighting() -> None:
    closed = {**found(), "first_seen_on": JUNE_1, "last_seen_on": JUNE_1, "status": "closed"}
    closed.update(closed_on=JUNE_2, outcome="cancelled")
    write, tally = merge_register(register([closed]), [found()], {}, date(2026, 6, 5))
    assert tally["opened"] == 1
    (row,) = write
    assert (row["status"], row["first_seen_on"], row["closed_on"], row["outcome"]) == (
        "open",
        JUNE_1,
        None,
        None,
    )


def test_stored_dates_as_text_compare_equal_to_dates() -> None:
    """SQLite hands dates back as dates through SQLAlchemy, but a frame built by hand or
    read otherwise may carry ISO text: no spurious rewrite either way."""
    stored = {**found(), "first_seen_on": "2026-06-01", "last_seen_on": "2026-06-01"}
    stored.update(status="open", event_on="2026-05-10", due_on="2026-05-24")
    write, _ = merge_register(register([stored]), [found()], {}, JUNE_1)
    assert write == []
