"""The register across nights: open, still open, resolved, reopened, accepted; ageing."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from domain.reconcile import changed_rows, empty_register, update_register
from domain.reconcile.found import found
from domain.reconcile.register import bucket

D1 = date(2026, 6, 1)


def _found(*keys: str) -> pd.DataFrame:
    return found(
        "paid_not_shipped",
        ["stripe"] * len(keys),
        [[k, f"ch_{k}"] for k in keys],
        [100] * len(keys),
        ["EUR"] * len(keys),
        [{"order_id": k} for k in keys],
    )


def _by_key(register: pd.DataFrame) -> dict[str, dict[str, object]]:
    return {r["details"].split('"')[3]: r for r in register.to_dict("records")}


def test_new_still_open_and_resolved_across_nights() -> None:
    night1 = update_register(empty_register(), _found("A", "B"), D1)
    night2 = update_register(night1, _found("B", "C"), D1 + timedelta(days=10))

    rows = _by_key(night2)
    assert rows["A"]["status"] == "resolved"
    assert rows["A"]["resolved_on"] == D1 + timedelta(days=10)
    assert rows["A"]["age_days"] == 10
    assert rows["B"]["status"] == "open"
    assert (rows["B"]["first_seen_on"], rows["B"]["last_seen_on"]) == (D1, D1 + timedelta(10))
    assert (rows["B"]["age_days"], rows["B"]["ageing_bucket"]) == (10, "8-30")
    assert rows["C"]["first_seen_on"] == D1 + timedelta(days=10)
    assert rows["C"]["age_days"] == 0
    assert rows["A"]["exception_id"] == _by_key(night1)["A"]["exception_id"]


def test_the_same_night_twice_changes_nothing() -> None:
    night1 = update_register(empty_register(), _found("A", "B"), D1)
    night2 = update_register(night1, _found("B"), D1 + timedelta(days=3))

    again = update_register(night2, _found("B"), D1 + timedelta(days=3))

    pd.testing.assert_frame_equal(again, night2)
    assert changed_rows(night2, again).empty


def test_an_exception_that_comes_back_is_reopened_from_that_night() -> None:
    night1 = update_register(empty_register(), _found("A"), D1)
    night2 = update_register(night1, _found(), D1 + timedelta(days=1))
    night3 = update_register(night2, _found("A"), D1 + timedelta(days=5))

    row = _by_key(night3)["A"]
    assert (row["status"], row["first_seen_on"], row["resolved_on"]) == (
        "open",
        D1 + timedelta(days=5),
        None,
    )


def test_an_accepted_exception_stays_closed_while_its_cause_remains_and_after() -> None:
    night1 = update_register(empty_register(), _found("A"), D1)
    accepted = night1.assign(status="accepted", accepted_on=D1 + timedelta(days=2))
    accepted["accepted_by"] = "marie.finance"

    night2 = update_register(accepted, _found("A"), D1 + timedelta(days=20))
    night3 = update_register(night2, _found(), D1 + timedelta(days=30))

    row2, row3 = _by_key(night2)["A"], _by_key(night3)["A"]
    assert (row2["status"], row2["last_seen_on"], row2["age_days"]) == (
        "accepted",
        D1 + timedelta(days=20),
        2,
    )
    assert row2["accepted_by"] == "marie.finance"
    assert (row3["status"], row3["resolved_on"]) == ("accepted", D1 + timedelta(days=30))


def test_ageing_buckets() -> None:
    ages = pd.Series([0, 7, 8, 30, 31, 60, 61, 90, 91, 400])
    assert bucket(ages).tolist() == [
        "0-7",
        "0-7",
        "8-30",
        "8-30",
        "31-60",
        "31-60",
        "61-90",
        "61-90",
        "90+",
        "90+",
    ]


def test_changed_rows_lists_only_what_moved() -> None:
    night1 = update_register(empty_register(), _found("A", "B"), D1)
    night2 = update_register(night1, _found("A", "B"), D1 + timedelta(days=1))

    assert len(changed_rows(night1, night2)) == 2  # last_seen_on and age moved
    assert changed_rows(night2, night2).empty
    assert len(changed_rows(empty_register(), night1)) == 2
