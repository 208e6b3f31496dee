"""All the reconciliation rules, run on the warehouse's frames for one business date.

:func:`find_exceptions` takes the latest state of the facts (:class:`Frames`), the
``as_of`` date and the policy, runs every rule and returns tonight's exceptions, one row
per ``exception_id`` (``domain.reconcile.found.FOUND_COLUMNS``), sorted by kind and id.
Nothing here reads a clock or a database: the same frames and ``as_of`` always give the
same rows. Example: a shop where ``ORD-1`` was paid on 1 June and never shipped gives,
as of 30 June, one ``paid_not_shipped`` row on ``["ORD-1", "ch_1", "in_1"]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandas as pd

from domain.reconcile import amounts, orders, settlement
from domain.reconcile.found import FOUND_COLUMNS, none_found
from domain.reconcile.policy import ReconPolicy

COLUMNS: dict[str, tuple[str, ...]] = {
    "payments": (
        "payment_id",
        "provider",
        "customer_id",
        "invoice_id",
        "subscription_id",
        "order_id",
        "amount",
        "amount_refunded",
        "currency",
        "status",
        "failure_code",
        "created_at",
        "charge_date",
        "paid_at",
        "payout_id",
    ),
    "invoices": (
        "invoice_id",
        "provider",
        "customer_id",
        "order_id",
        "status",
        "currency",
        "total",
        "amount_due",
    ),
    "refunds": (
        "refund_id",
        "provider",
        "payment_id",
        "order_id",
        "amount",
        "currency",
        "status",
        "created_at",
    ),
    "disputes": ("dispute_id", "payment_id", "amount", "currency", "status", "reason"),
    "payouts": ("payout_id", "provider", "amount", "currency", "status", "automatic", "arrival_on"),
    "payout_lines": ("payout_id", "line_id", "line_type", "payment_id", "net"),
    "shipments": (
        "tracking_id",
        "order_id",
        "direction",
        "status",
        "shipped_at",
        "delivered_at",
        "created_at",
    ),
}
"""The columns each rule reads, per warehouse table (what the reconcile task selects)."""


@dataclass(frozen=True)
class Frames:
    """The facts reconciliation reads, one frame per warehouse table (``COLUMNS``)."""

    payments: pd.DataFrame
    invoices: pd.DataFrame
    refunds: pd.DataFrame
    disputes: pd.DataFrame
    payouts: pd.DataFrame
    payout_lines: pd.DataFrame
    shipments: pd.DataFrame

    @classmethod
    def of(cls, frames: dict[str, pd.DataFrame]) -> Frames:
        """Keep only the columns the rules read (and fail early on a missing one)."""
        return cls(**{name: frames[name].loc[:, list(cols)] for name, cols in COLUMNS.items()})


Rule = Callable[[Frames, date, ReconPolicy], pd.DataFrame]

RULES: dict[str, Rule] = {
    "paid_not_shipped": lambda f, d, p: orders.paid_not_shipped(f.payments, f.shipments, d, p),
    "shipped_not_paid": lambda f, d, p: orders.shipped_not_paid(
        f.payments, f.invoices, f.shipments, d, p
    ),
    "refund_without_return": lambda f, d, p: orders.refund_without_return(
        f.payments, f.refunds, f.shipments, d, p
    ),
    "return_without_refund": lambda f, d, p: orders.return_without_refund(
        f.payments, f.refunds, f.shipments, d, p
    ),
    "currency_mismatch": lambda f, d, p: amounts.currency_mismatch(f.payments, f.invoices),
    "amount_mismatch": lambda f, d, p: amounts.amount_mismatch(f.payments, f.invoices),
    "invoice_paid_twice": lambda f, d, p: amounts.invoice_paid_twice(f.payments, f.invoices),
    "duplicate_payment": lambda f, d, p: amounts.duplicate_payment(f.payments, p),
    "orphan_payment": lambda f, d, p: amounts.orphan_payment(f.payments, p),
    "late_failure": lambda f, d, p: settlement.late_failure(f.payments, f.payout_lines),
    "chargeback": lambda f, d, p: settlement.chargeback(f.payments, f.disputes),
    "payout_mismatch": lambda f, d, p: settlement.payout_mismatch(f.payouts, f.payout_lines, p),
}
"""Every exception kind and the rule that finds it (docs/reconciliation.md explains them)."""

KINDS = tuple(RULES)


def find_exceptions(frames: Frames, as_of: date, policy: ReconPolicy) -> pd.DataFrame:
    """Tonight's exceptions, one row per ``exception_id``, sorted by kind and id."""
    parts = [rule(frames, as_of, policy) for rule in RULES.values()]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return none_found()
    out = pd.concat(parts, ignore_index=True)
    out = out.drop_duplicates("exception_id").sort_values(["kind", "exception_id"])
    return out.reset_index(drop=True).loc[:, list(FOUND_COLUMNS)]
