"""``notice_exceptions``: the missed duties finance can count, kept across nights.

Each night merges tonight's findings into the stored rows of the kinds the flow owns:

=============================  ======================================================
tonight / stored               result
=============================  ======================================================
found, not stored              ``open``, ``first_seen_on = last_seen_on = as_of``
found, stored ``open``         ``last_seen_on = as_of`` (amount and details refreshed)
found, stored ``closed``       reopened: ``open``, ``closed_on``/``outcome`` cleared
not found, stored ``open``     ``closed`` on ``as_of`` with the outcome the flow names
not found, stored ``closed``   unchanged
=============================  ======================================================

Only rows that change are returned for writing, so a second run of the same night writes
nothing. Example: a refund overdue since 1 June is ``open`` with ``first_seen_on``
1 June; on 9 June the refund is synced and the row is ``closed``, ``closed_on`` 9 June,
``outcome`` ``refunded``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd

from domain.notices.calendar import as_date

REGISTER_COLUMNS = (
    "exception_id",
    "kind",
    "customer_id",
    "subscription_id",
    "order_id",
    "tracking_id",
    "event_on",
    "due_on",
    "amount",
    "currency",
    "first_seen_on",
    "last_seen_on",
    "status",
    "closed_on",
    "outcome",
    "notification_id",
    "details",
)
_DATES = ("event_on", "due_on", "first_seen_on", "last_seen_on", "closed_on")


def _clean(row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in REGISTER_COLUMNS:
        value = row.get(column)
        if column in _DATES:
            value = as_date(value)
        elif value is not None and not isinstance(value, str | int) and pd.isna(value):
            value = None
        elif column == "amount" and value is not None:
            value = int(value)
        out[column] = value
    return out


def merge_register(
    stored: pd.DataFrame,
    found: Sequence[Mapping[str, Any]],
    outcomes: Mapping[str, str | None],
    as_of: date,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """``(rows to write, tally)`` with tally keys ``opened``, ``still_open``, ``closed``."""
    before = {str(r["exception_id"]): _clean(r) for r in stored.to_dict("records")}
    tally = {"opened": 0, "still_open": 0, "closed": 0}
    write: list[dict[str, Any]] = []
    seen = set()
    for item in found:
        row = _clean(item)
        key = str(row["exception_id"])
        seen.add(key)
        old = before.get(key)
        if old is None or old["status"] == "closed":
            first = as_of if old is None else old["first_seen_on"]
            new = {**row, "first_seen_on": first, "last_seen_on": as_of, "status": "open"}
            new.update(closed_on=None, outcome=None)
            tally["opened"] += 1
        else:
            new = {**row, "first_seen_on": old["first_seen_on"], "status": "open"}
            new.update(last_seen_on=as_of, closed_on=None, outcome=None)
            tally["still_open"] += 1
        if new != old:
            write.append(new)
    for key, old in before.items():
        if key in seen or old["status"] != "open":
            continue
        write.append({**old, "status": "closed", "closed_on": as_of, "outcome": outcomes.get(key)})
        tally["closed"] += 1
    return write, tally
