"""What every notice decision shares: who the customer is, in which language, when the
mail may leave, and the rule that nothing is said about a quarantined object.

A decision is a :class:`Decided`: the :class:`~domain.notice.Notice` for the outbox and
every provider id it rests on. :func:`withhold_quarantined` drops the decisions resting on
an object the quarantine holds (its data is suspect: a customer is never told something
built on it) and counts them, so the report shows what waits for the data to be fixed.
"""

from __future__ import annotations

import hashlib
from collections import namedtuple
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from domain.notice import Notice
from domain.notices.policy import NoticePolicy

#: Statuses of a subscription that will renew and charge again.
RENEWING = frozenset({"active", "trialing", "past_due"})
#: Outbox statuses meaning the notice has left (or may have: ``unknown`` is being settled).
GIVEN = frozenset({"sending", "sent", "unknown"})


@dataclass(frozen=True)
class Decided:
    """A notice and the ids (subscription, customer, mandate, parcel…) it was decided on."""

    notice: Notice
    objects: tuple[str, ...]


@dataclass(frozen=True)
class Customer:
    customer_id: str
    locale: str
    is_business: bool


def notice_id(dedupe_key: str) -> str:
    """The outbox's ``notification_id`` of a key (the same hash as ``warehouse.outbox``)."""
    return hashlib.blake2b(dedupe_key.encode(), digest_size=16).hexdigest()


def language(locale: Any, country: Any) -> str:
    """``fr``/``en`` for a notice: the customer's locale, else French for France."""
    text = str(locale).replace("-", "_").split("_")[0].lower() if present(locale) else ""
    if text in ("fr", "en"):
        return text
    return "fr" if present(country) and str(country).upper() == "FR" else "en"


@lru_cache(maxsize=64)
def _row_type(columns: tuple[str, ...]) -> Any:
    return namedtuple("Row", columns)  # type: ignore[misc]


def rows(frame: pd.DataFrame) -> Iterator[Any]:
    """The frame's rows as named tuples of plain values (``itertuples`` without its
    per-call cost, which dominates on the small frames of a night)."""
    kind = _row_type(tuple(str(c) for c in frame.columns))
    return map(kind._make, zip(*(frame[c].tolist() for c in frame.columns), strict=True))


def customer_index(customers: pd.DataFrame) -> dict[str, Customer]:
    """Customers who can be written to (not deleted), by id."""
    out: dict[str, Customer] = {}
    for row in rows(customers):
        if present(getattr(row, "deleted_at", None)):
            continue
        out[str(row.customer_id)] = Customer(
            customer_id=str(row.customer_id),
            locale=language(row.locale, row.country),
            is_business=bool(row.is_business) if present(row.is_business) else False,
        )
    return out


def send_after(as_of: date, policy: NoticePolicy) -> datetime | None:
    """When a customer mail decided for ``as_of`` may leave: ``send_hour`` that day in the
    business time zone, in UTC (09:00 Paris on 1 July 2026 -> 07:00Z); None: at once."""
    if policy.send_hour is None:
        return None
    local = datetime.combine(as_of, time(policy.send_hour), ZoneInfo(policy.timezone))
    return local.astimezone(UTC)


def withhold_quarantined(
    decided: Iterable[Decided], quarantined: frozenset[str]
) -> tuple[list[Notice], list[Notice]]:
    """``(to queue, withheld)``: a decision resting on a quarantined id is withheld; of
    decisions sharing a key (one card behind two subscriptions) the first is kept."""
    keep: dict[str, Notice] = {}
    held: dict[str, Notice] = {}
    for item in decided:
        target = held if quarantined.intersection(item.objects) else keep
        target.setdefault(item.notice.dedupe_key, item.notice)
    return list(keep.values()), [n for k, n in held.items() if k not in keep]


def ids(*values: Any) -> tuple[str, ...]:
    """The present ids among ``values``, as text."""
    return tuple(str(v) for v in values if present(v))


def text(value: Any) -> str | None:
    return str(value) if present(value) else None


def whole(value: Any) -> int | None:
    return int(value) if present(value) else None


def present(value: Any) -> bool:
    if value is None:
        return False
    try:
        return not bool(pd.isna(value))
    except (TypeError, ValueError):
        return True
