"""What every rule returns: one row per exception found tonight, in one shape.

A rule hands :func:`found` its kind, and per exception the provider, the ids that show
it (any number, in any order), an amount with its currency and a few details; out comes
the frame the register merges. ``object_ids`` is the sorted, de-duplicated id list as
compact JSON, and ``exception_id`` a hash of ``(kind, object_ids)``, so the same cause
found on another night has the same id. Example: ``paid_not_shipped`` on
``["ORD-1", "ch_2"]`` -> ``exception_id = blake2b("paid_not_shipped|[\"ORD-1\",\"ch_2\"]")``
(32 hex digits), whatever order the rule listed the ids in.

Details never carry a customer's email or name: ids, dates, counts and amounts only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd

FOUND_COLUMNS = (
    "exception_id",
    "kind",
    "provider",
    "object_ids",
    "amount",
    "currency",
    "details",
)
COLLECTED = frozenset({"succeeded", "partially_refunded", "refunded", "disputed"})
"""Payment statuses where the money reached us (a refund or dispute may send it back)."""
HELD = frozenset({"succeeded", "partially_refunded", "disputed"})
"""Collected and not refunded in full: the shop still holds (some of) the money."""
LIVE_REFUNDS = frozenset(
    {
        "pending",
        "requires_action",
        "succeeded",
        "created",
        "pending_submission",
        "submitted",
        "paid",
    }
)
"""Refund statuses that are on their way or done (not failed, cancelled or bounced)."""


def exception_id(kind: str, object_ids: str) -> str:
    """The stable id of an exception: a 128-bit hash of its kind and its ids."""
    return hashlib.blake2b(f"{kind}|{object_ids}".encode(), digest_size=16).hexdigest()


def ids_json(ids: Sequence[Any]) -> str:
    """Sorted, unique, non-empty ids as compact JSON: ``["ORD-1","ch_2"]``."""
    clean = sorted({str(i) for i in ids if i is not None and not pd.isna(i) and str(i)})
    return json.dumps(clean, separators=(",", ":"))


def details_json(details: Mapping[str, Any]) -> str:
    """Compact JSON with sorted keys; dates as ISO text, missing values as null."""

    def plain(value: Any) -> Any:
        if isinstance(value, date):
            return value.isoformat()
        if hasattr(value, "item"):  # numpy scalars
            value = value.item()
        if value is None or (isinstance(value, float) and value != value):
            return None
        if value is pd.NA or value is pd.NaT:
            return None
        return value

    return json.dumps(
        {k: plain(v) for k, v in details.items()}, sort_keys=True, separators=(",", ":")
    )


def found(
    kind: str,
    provider: Sequence[Any],
    object_ids: Sequence[Sequence[Any]],
    amount: Sequence[Any],
    currency: Sequence[Any],
    details: Sequence[Mapping[str, Any]],
) -> pd.DataFrame:
    """The rows of one rule, one per exception (all sequences aligned)."""
    ids = [ids_json(i) for i in object_ids]
    frame = pd.DataFrame(
        {
            "exception_id": [exception_id(kind, i) for i in ids],
            "kind": kind,
            "provider": pd.array(list(provider), dtype="string"),
            "object_ids": ids,
            "amount": pd.array([_int(a) for a in amount], dtype="Int64"),
            "currency": pd.array(list(currency), dtype="string"),
            "details": [details_json(d) for d in details],
        },
        columns=list(FOUND_COLUMNS),
    )
    return frame.astype({"kind": "string", "object_ids": "string", "details": "string"})


def none_found() -> pd.DataFrame:
    return found("none", [], [], [], [], [])


def _int(value: Any) -> int | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return int(value)


def day(instants: pd.Series, tz: str) -> pd.Series:
    """Aware instants -> the calendar day in ``tz`` (``NaT`` stays missing)."""
    values = pd.to_datetime(instants, utc=True)
    return values.dt.tz_convert(tz).dt.normalize().dt.tz_localize(None)


def as_of_ts(as_of: date) -> pd.Timestamp:
    return pd.Timestamp(as_of)


def days_before(as_of: date, days: pd.Series) -> pd.Series:
    """Whole days from each day in ``days`` to ``as_of`` (missing stays missing)."""
    return (as_of_ts(as_of) - days).dt.days
