"""Tonight's notices for each flow, decided from the warehouse's frames in one pure call.

:func:`plan_renewal_notices` (tacit renewals, upcoming renewals, trial endings, expiring
cards, mandate problems) and :func:`plan_shipment_notices` (late parcels, parcels in
trouble, withdrawal reminders, overdue refunds) return a :class:`NoticePlan`: the notices
for the outbox, those withheld because they rest on quarantined data, the waiting
notices to withdraw, and the ``notice_exceptions`` rows to write. The tasks write it;
nothing here reads a clock or a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from domain.notice import Notice
from domain.notices import cards, mandates, renewals, returns, shipments, trials
from domain.notices.common import Decided, customer_index, notice_id, withhold_quarantined
from domain.notices.policy import NoticePolicy
from domain.notices.register import REGISTER_COLUMNS, merge_register

RENEWAL_KINDS = (
    "tacit_renewal",
    "upcoming_renewal",
    "trial_ending",
    "card_expiring",
    "mandate_problem",
)
SHIPMENT_KINDS = ("shipment_delay", "shipment_exception", "return_window", "refund_overdue")

SUBSCRIPTION_COLUMNS = (
    "subscription_id",
    "provider",
    "customer_id",
    "status",
    "description",
    "amount",
    "currency",
    "interval",
    "interval_count",
    "current_period_end",
    "trial_end",
    "cancel_at_period_end",
    "cancel_at",
    "ended_at",
    "tacit_renewal",
    "collection_method",
    "payment_method_id",
    "mandate_id",
    "mandate_status",
    "card_brand",
    "card_last4",
    "card_exp_month",
    "card_exp_year",
    "notice_days",
    "contract",
)
CUSTOMER_COLUMNS = ("customer_id", "locale", "country", "is_business", "deleted_at")
MANDATE_COLUMNS = ("mandate_id", "status")
SHIPMENT_COLUMNS = (
    "tracking_id",
    "tracking_number",
    "carrier",
    "order_id",
    "customer_id",
    "direction",
    "status",
    "subtag",
    "expected_delivery_on",
    "delivered_at",
    "created_at",
    "updated_at",
)
PAYMENT_COLUMNS = ("payment_id", "order_id", "customer_id", "amount", "currency", "status")
INVOICE_COLUMNS = ("invoice_id", "order_id", "customer_id")
REFUND_COLUMNS = ("refund_id", "payment_id", "order_id", "status")
OUTBOX_COLUMNS = ("dedupe_key", "kind", "status", "tracking_id")


def empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})


@dataclass(frozen=True)
class RenewalFrames:
    """What the renewal notices read. ``outbox``: the ``tacit_renewal`` rows;
    ``register``: the stored ``tacit_renewal_unnoticed`` rows."""

    subscriptions: pd.DataFrame
    customers: pd.DataFrame
    mandates: pd.DataFrame = field(default_factory=lambda: empty(MANDATE_COLUMNS))
    outbox: pd.DataFrame = field(default_factory=lambda: empty(OUTBOX_COLUMNS))
    register: pd.DataFrame = field(default_factory=lambda: empty(REGISTER_COLUMNS))
    quarantined: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ShipmentFrames:
    """What the shipment notices read. ``outbox``: the waiting (planned or queued) rows
    of the parcel and return kinds; ``register``: the stored ``refund_overdue`` rows."""

    shipments: pd.DataFrame
    customers: pd.DataFrame
    payments: pd.DataFrame = field(default_factory=lambda: empty(PAYMENT_COLUMNS))
    invoices: pd.DataFrame = field(default_factory=lambda: empty(INVOICE_COLUMNS))
    refunds: pd.DataFrame = field(default_factory=lambda: empty(REFUND_COLUMNS))
    outbox: pd.DataFrame = field(default_factory=lambda: empty(OUTBOX_COLUMNS))
    register: pd.DataFrame = field(default_factory=lambda: empty(REGISTER_COLUMNS))
    quarantined: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Withdrawal:
    """Waiting notices to cancel (``cancel_pending``), and why."""

    reason: str
    dedupe_keys: tuple[str, ...]


@dataclass(frozen=True)
class NoticePlan:
    notices: tuple[Notice, ...]
    held: tuple[Notice, ...] = ()
    withdrawals: tuple[Withdrawal, ...] = ()
    register: tuple[dict[str, Any], ...] = ()
    register_tally: Mapping[str, int] = field(default_factory=dict)


def _register(
    stored: pd.DataFrame,
    kind: str,
    found: list[dict[str, Any]],
    held: list[Notice],
    outcomes_of: Any,
    as_of: date,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    withheld = {notice_id(n.dedupe_key) for n in held}
    found = [f for f in found if f["notification_id"] not in withheld]
    mine = stored[stored["kind"] == kind] if len(stored) else stored
    found_ids = {f["exception_id"] for f in found}
    still = mine[(mine["status"] == "open") & ~mine["exception_id"].isin(found_ids)]
    return merge_register(mine, found, outcomes_of(still), as_of)


def plan_renewal_notices(frames: RenewalFrames, as_of: date, policy: NoticePolicy) -> NoticePlan:
    """Every renewal-side notice due on ``as_of`` (see the kinds' modules)."""
    customers = customer_index(frames.customers)
    subs = frames.subscriptions
    outbox = dict(zip(frames.outbox["dedupe_key"], frames.outbox["status"], strict=True))
    found, finance = renewals.tacit_renewal_unnoticed(subs, customers, outbox, as_of, policy)
    decided: list[Decided] = [
        *renewals.tacit_renewal_notices(subs, customers, as_of, policy),
        *renewals.upcoming_renewal_notices(subs, customers, as_of, policy),
        *trials.trial_ending_notices(subs, customers, as_of, policy),
        *cards.card_expiring_notices(subs, customers, as_of, policy),
        *mandates.mandate_problem_notices(subs, frames.mandates, customers, as_of, policy),
        *finance,
    ]
    keep, held = withhold_quarantined(decided, frames.quarantined)
    rows, tally = _register(
        frames.register,
        "tacit_renewal_unnoticed",
        found,
        held,
        lambda still: renewals.tacit_outcomes(still, subs, outbox, as_of),
        as_of,
    )
    return NoticePlan(tuple(keep), tuple(held), (), tuple(rows), tally)


def plan_shipment_notices(frames: ShipmentFrames, as_of: date, policy: NoticePolicy) -> NoticePlan:
    """Every parcel- and return-side notice due on ``as_of``."""
    customers = customer_index(frames.customers)
    parcels = frames.shipments
    owners = shipments.order_owners(frames.payments, frames.invoices)
    refunded = returns.refunded_orders(frames.refunds, frames.payments)
    settled = refunded | returns.returned_orders(parcels)
    amounts = returns.order_amounts(frames.payments)
    found, finance = returns.refund_overdue(parcels, owners, refunded, amounts, as_of, policy)
    decided: list[Decided] = [
        *shipments.shipment_delay_notices(parcels, owners, customers, as_of, policy),
        *shipments.shipment_exception_notices(parcels, owners, customers, as_of, policy),
        *returns.return_window_notices(parcels, owners, customers, settled, as_of, policy),
        *finance,
    ]
    keep, held = withhold_quarantined(decided, frames.quarantined)
    waiting = frames.outbox[frames.outbox["status"].isin(["planned", "queued"])]
    withdrawals = tuple(
        w
        for w in (
            Withdrawal("delivered", tuple(shipments.delivered_withdrawals(waiting, parcels))),
            Withdrawal(
                "returned or refunded",
                tuple(returns.settled_reminders(waiting, parcels, settled)),
            ),
        )
        if w.dedupe_keys
    )
    rows, tally = _register(
        frames.register,
        "refund_overdue",
        found,
        held,
        lambda still: returns.refund_outcomes(still, refunded),
        as_of,
    )
    return NoticePlan(tuple(keep), tuple(held), withdrawals, tuple(rows), tally)
