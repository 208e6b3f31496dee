"""The exception register: one row per exception, kept across nights, with its age.

Each night merges tonight's exceptions (``found``) into the stored register:

===============================  ===================================================
tonight / stored                 result
===============================  ===================================================
found, not stored                new: ``open``, ``first_seen_on = last_seen_on = as_of``
found, stored ``open``           still open: ``last_seen_on = as_of``, amount and
                                 details refreshed
found, stored ``resolved``       back again: reopened, ``first_seen_on = as_of``
found, stored ``accepted``       stays ``accepted`` (finance closed it knowingly);
                                 ``last_seen_on = as_of``
not found, stored ``open``       ``resolved``, ``resolved_on = as_of``
not found, stored ``accepted``   stays ``accepted``; ``resolved_on = as_of`` the
                                 first night its cause is gone
not found, stored ``resolved``   unchanged
===============================  ===================================================

``age_days`` counts from ``first_seen_on`` to ``as_of`` while open, to ``resolved_on``
once resolved, to ``accepted_on`` once accepted; ``ageing_bucket`` is ``0-7``,
``8-30``, ``31-60``, ``61-90`` or ``90+``. Running the same night twice gives the same
register. Example: ``paid_not_shipped`` first seen on 1 June, still there on 30 June
-> ``open``, ``age_days`` 29, bucket ``8-30``; the parcel ships and on 2 July it is
``resolved`` with ``resolved_on`` 2 July and ``age_days`` 31.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from domain.reconcile.found import FOUND_COLUMNS

REGISTER_COLUMNS = (
    *FOUND_COLUMNS,
    "first_seen_on",
    "last_seen_on",
    "resolved_on",
    "status",
    "age_days",
    "ageing_bucket",
    "accepted_on",
    "accepted_by",
    "note",
)
STATUSES = ("open", "resolved", "accepted")
BUCKETS = ((7, "0-7"), (30, "8-30"), (60, "31-60"), (90, "61-90"))
OLDEST = "90+"
_DATES = ("first_seen_on", "last_seen_on", "resolved_on", "accepted_on")


def empty_register() -> pd.DataFrame:
    return normalise_register(pd.DataFrame(columns=list(REGISTER_COLUMNS)))


def normalise_register(frame: pd.DataFrame) -> pd.DataFrame:
    """Register rows with uniform dtypes (dates as ``datetime.date`` objects or None)."""
    out = frame.loc[:, list(REGISTER_COLUMNS)].copy()
    for column in _DATES:
        out[column] = [_date(v) for v in out[column]]
    for column in ("amount", "age_days"):
        out[column] = out[column].astype("Int64")
    text = [c for c in REGISTER_COLUMNS if c not in (*_DATES, "amount", "age_days")]
    return out.astype(dict.fromkeys(text, "string"))


def bucket(age_days: pd.Series) -> pd.Series:
    """The ageing bucket of each age (``0-7`` … ``90+``)."""
    out = pd.Series(OLDEST, index=age_days.index, dtype="string")
    for limit, name in reversed(BUCKETS):
        out = out.mask(age_days <= limit, name)
    return out


def update_register(register: pd.DataFrame, found: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """The whole register after tonight (see the module table), sorted by id."""
    stored = normalise_register(register).set_index("exception_id")
    tonight = found.loc[:, list(FOUND_COLUMNS)].set_index("exception_id")
    ids = stored.index.union(tonight.index)
    out = stored.reindex(ids).astype(dict.fromkeys(_DATES, "object"))
    out = out.astype(
        {c: "object" for c in ("kind", "provider", "object_ids", "currency", "details", "status")}
    )
    seen = ids.isin(tonight.index)
    was = out["status"]
    known = ids.isin(stored.index)
    # tonight's facts replace the stored ones for every exception found
    for column in ("kind", "provider", "object_ids", "amount", "currency", "details"):
        out.loc[seen, column] = tonight[column].reindex(ids[seen]).to_numpy()
    fresh = seen & (~known | was.eq("resolved").fillna(False).to_numpy())
    out.loc[fresh, "first_seen_on"] = as_of
    out.loc[fresh, "status"] = "open"
    out.loc[seen, "last_seen_on"] = as_of
    out.loc[seen, "resolved_on"] = None
    gone_open = ~seen & was.eq("open").fillna(False).to_numpy()
    out.loc[gone_open, "status"] = "resolved"
    out.loc[gone_open, "resolved_on"] = as_of
    gone_accepted = ~seen & was.eq("accepted").fillna(False).to_numpy() & out["resolved_on"].isna()
    out.loc[gone_accepted, "resolved_on"] = as_of
    out = out.reset_index().rename(columns={"index": "exception_id"})
    out["exception_id"] = ids
    return _aged(normalise_register(out), as_of)


def _aged(register: pd.DataFrame, as_of: date) -> pd.DataFrame:
    until = pd.Series([as_of] * len(register), index=register.index, dtype="object")
    resolved = register["status"].eq("resolved").fillna(False)
    accepted = register["status"].eq("accepted").fillna(False) & register["accepted_on"].notna()
    until = until.mask(resolved, register["resolved_on"]).mask(accepted, register["accepted_on"])
    first = pd.to_datetime(register["first_seen_on"])
    age = (pd.to_datetime(until) - first).dt.days.clip(lower=0).astype("Int64")
    return register.assign(age_days=age, ageing_bucket=bucket(age).astype("string"))


def changed_rows(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``after`` that are new or differ from ``before`` (what to write)."""
    old = normalise_register(before).set_index("exception_id").astype("string")
    new = normalise_register(after).set_index("exception_id")
    as_text = new.astype("string").fillna("\0")
    aligned = old.reindex(as_text.index).fillna("\0")
    differs = (as_text != aligned[as_text.columns]).any(axis=1)
    return new[differs.to_numpy()].reset_index()


def _date(value: object) -> date | None:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, date):
        return value if type(value) is date else value.date()  # type: ignore[attr-defined]
    return date.fromisoformat(str(value)[:10])
