"""Hand-built frames for the notice tests, shaped as ``tasks/notices.py`` reads them
(object columns of Python values: aware datetimes, dates, ints, None)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from domain.notice import Notice
from domain.notices import plan as p
from domain.notices.policy import NoticePolicy
from domain.notices.register import REGISTER_COLUMNS

PARIS = ZoneInfo("Europe/Paris")
POLICY = NoticePolicy(send_hour=None)


def paris(day: date | str, hour: int = 0, minute: int = 0) -> datetime:
    """That wall-clock time in Paris, as the aware UTC instant the warehouse stores."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime.combine(day, time(hour, minute), PARIS).astimezone(UTC)


def _frame(
    columns: tuple[str, ...], defaults: dict[str, Any], rows: Iterable[dict[str, Any]]
) -> pd.DataFrame:
    full = [tuple({**defaults, **row}.get(c) for c in columns) for row in rows]
    return pd.DataFrame(full, columns=list(columns), dtype=object)


def subscriptions(*rows: dict[str, Any]) -> pd.DataFrame:
    defaults = {
        "provider": "stripe",
        "customer_id": "cus_1",
        "status": "active",
        "description": "Plus annuel",
        "amount": 39000,
        "currency": "eur",
        "interval": "year",
        "interval_count": 1,
        "cancel_at_period_end": False,
        "tacit_renewal": False,
        "collection_method": "charge_automatically",
    }
    return _frame(p.SUBSCRIPTION_COLUMNS, defaults, rows)


def customers(*rows: dict[str, Any]) -> pd.DataFrame:
    rows = rows or ({"customer_id": "cus_1"},)
    defaults = {"locale": "fr", "country": "FR", "is_business": False}
    return _frame(p.CUSTOMER_COLUMNS, defaults, rows)


def mandates(*rows: dict[str, Any]) -> pd.DataFrame:
    return _frame(p.MANDATE_COLUMNS, {"status": "active"}, rows)


def shipments(*rows: dict[str, Any]) -> pd.DataFrame:
    defaults = {
        "tracking_number": "CO123FR",
        "carrier": "colissimo",
        "direction": "outbound",
        "status": "in_transit",
    }
    return _frame(p.SHIPMENT_COLUMNS, defaults, rows)


def payments(*rows: dict[str, Any]) -> pd.DataFrame:
    defaults = {"amount": 8900, "currency": "EUR", "status": "succeeded"}
    return _frame(p.PAYMENT_COLUMNS, defaults, rows)


def refunds(*rows: dict[str, Any]) -> pd.DataFrame:
    return _frame(p.REFUND_COLUMNS, {"status": "succeeded"}, rows)


def outbox(rows: dict[str, str], tracking: dict[str, str] | None = None) -> pd.DataFrame:
    """Outbox rows from ``{dedupe_key: status}`` (kind = the key's first part)."""
    tracking = tracking or {}
    return _frame(
        p.OUTBOX_COLUMNS,
        {},
        (
            {"dedupe_key": k, "kind": k.split(":")[0], "status": s, "tracking_id": tracking.get(k)}
            for k, s in rows.items()
        ),
    )


def register(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    return _frame(REGISTER_COLUMNS, {}, rows)


@dataclass
class Night:
    """What one simulated night decided, after the outbox's dedupe."""

    day: date
    queued: list[Notice]
    withdrawn: list[str]
    register: list[dict[str, Any]]


@dataclass
class Outbox:
    """An in-memory ``notifications``: first key wins, as ``warehouse.outbox.enqueue``;
    what was queued one night has been sent by the next (the sender ran in between)."""

    status: dict[str, str] = field(default_factory=dict)
    rows: dict[str, Notice] = field(default_factory=dict)
    exceptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    sends: bool = True  # False: the sender is down, queued rows stay queued

    def frame(self, kinds: tuple[str, ...], pending_only: bool = False) -> pd.DataFrame:
        keep = {
            k: s
            for k, s in self.status.items()
            if self.rows[k].kind in kinds
            and self.rows[k].audience == "customer"
            and (not pending_only or s in ("planned", "queued"))
        }
        return outbox(keep, {k: self.rows[k].tracking_id or "" for k in keep})

    def send(self) -> None:
        """The sender's pass between two nights."""
        for key, status in self.status.items():
            if status == "queued" and self.sends:
                self.status[key] = "sent"

    def night(self, day: date, plan: p.NoticePlan) -> Night:
        fresh = [n for n in plan.notices if n.dedupe_key not in self.status]
        for notice in fresh:
            self.status[notice.dedupe_key] = "queued"
            self.rows[notice.dedupe_key] = notice
        withdrawn = [k for w in plan.withdrawals for k in w.dedupe_keys]
        for key in withdrawn:
            self.status[key] = "cancelled"
        for row in plan.register:
            self.exceptions[row["exception_id"]] = row
        return Night(day, fresh, withdrawn, list(plan.register))


def days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def simulate_renewals(
    subs: pd.DataFrame,
    first: date,
    last: date,
    *,
    people: pd.DataFrame | None = None,
    mandate_rows: pd.DataFrame | None = None,
    policy: NoticePolicy = POLICY,
    quarantined: frozenset[str] = frozenset(),
) -> tuple[list[Night], Outbox]:
    """Run the renewal plan every night from ``first`` to ``last`` on the same data."""
    box = Outbox()
    nights = []
    for day in days(first, last):
        box.send()
        frames = p.RenewalFrames(
            subscriptions=subs,
            customers=customers() if people is None else people,
            mandates=mandates() if mandate_rows is None else mandate_rows,
            outbox=box.frame(("tacit_renewal",)),
            register=register(box.exceptions.values()),
            quarantined=quarantined,
        )
        nights.append(box.night(day, p.plan_renewal_notices(frames, day, policy)))
    return nights, box


def simulate_shipments(
    frames_of: Any,
    first: date,
    last: date,
    *,
    policy: NoticePolicy = POLICY,
    sends: bool = True,
) -> tuple[list[Night], Outbox]:
    """Run the shipment plan every night; ``frames_of(day, outbox)`` builds the frames
    (so a test can change the parcels as the nights go by)."""
    box = Outbox(sends=sends)
    nights = []
    for day in days(first, last):
        box.send()
        frames = frames_of(day, box)
        nights.append(box.night(day, p.plan_shipment_notices(frames, day, policy)))
    return nights, box


def queued_on(nights: list[Night]) -> dict[str, date]:
    """dedupe key -> the night it was queued."""
    return {n.dedupe_key: night.day for night in nights for n in night.queued}
