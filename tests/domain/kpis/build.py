"""Tiny hand-made warehouse frames for the KPI tests: one call per row, only the columns
a case is about; everything else takes a neutral default (EUR, Stripe, monthly)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from domain.kpis import COLUMNS, KpiInputs

TZ = "Europe/Paris"
Row = dict[str, Any]


def noon(day: str) -> datetime:
    """Midday UTC of an ISO day: the same business day in Paris."""
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC).replace(hour=12)


def _frame(name: str, rows: Sequence[Row]) -> pd.DataFrame:
    columns = COLUMNS[name]
    frame = pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=list(columns))
    for column in columns:
        if column.endswith("_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def sub(
    sid: str,
    customer: str,
    start: str,
    amount: int = 1000,
    *,
    ended: str | None = None,
    status: str | None = None,
    interval: str = "month",
    count: int = 1,
    currency: str = "EUR",
    provider: str = "stripe",
    trial_end: str | None = None,
    period_end: str | None = None,
    cancel_at_period_end: bool = False,
    cancel_at: str | None = None,
) -> dict[str, Any]:
    return {
        "subscription_id": sid,
        "provider": provider,
        "customer_id": customer,
        "status": status or ("canceled" if ended else "active"),
        "amount": amount,
        "currency": currency,
        "interval": interval,
        "interval_count": count,
        "start_at": noon(start),
        "current_period_end": noon(period_end) if period_end else None,
        "trial_end": noon(trial_end) if trial_end else None,
        "cancel_at_period_end": cancel_at_period_end,
        "cancel_at": noon(cancel_at) if cancel_at else None,
        "canceled_at": noon(ended) if ended else None,
        "ended_at": noon(ended) if ended and provider == "stripe" else None,
        "collection_method": "charge_automatically",
        "payment_method_type": "card",
    }


def invoice(
    iid: str,
    total: int,
    issued: str,
    *,
    status: str = "paid",
    due: str | None = None,
    paid: str | None = None,
    remaining: int | None = None,
    written_off: str | None = None,
    subscription: str | None = None,
    customer: str = "cus_1",
    currency: str = "EUR",
) -> dict[str, Any]:
    if remaining is None:
        remaining = 0 if status == "paid" else total
    return {
        "invoice_id": iid,
        "provider": "stripe",
        "customer_id": customer,
        "subscription_id": subscription,
        "status": status,
        "currency": currency,
        "total": total,
        "amount_due": total,
        "amount_paid": total - remaining,
        "amount_remaining": remaining,
        "issued_on": date.fromisoformat(issued),
        "due_on": date.fromisoformat(due) if due else None,
        "created_at": noon(issued),
        "finalized_at": noon(issued),
        "paid_at": noon(paid) if paid else None,
        "marked_uncollectible_at": noon(written_off) if written_off else None,
        "collection_method": "send_invoice" if due else "charge_automatically",
    }


def payment(
    pid: str,
    amount: int,
    day: str,
    *,
    status: str = "succeeded",
    invoice_id: str | None = None,
    subscription: str | None = None,
    provider: str = "stripe",
    charge_date: str | None = None,
    payout: str | None = None,
    fee: int | None = None,
    currency: str = "EUR",
    customer: str = "cus_1",
) -> dict[str, Any]:
    return {
        "payment_id": pid,
        "provider": provider,
        "customer_id": customer,
        "invoice_id": invoice_id,
        "subscription_id": subscription,
        "amount": amount,
        "currency": currency,
        "status": status,
        "created_at": noon(day),
        "charge_date": date.fromisoformat(charge_date) if charge_date else None,
        "payout_id": payout,
        "fee": fee,
        "net": None if fee is None else amount - fee,
    }


def refund(
    rid: str, payment_id: str, amount: int, day: str, status: str = "succeeded"
) -> dict[str, Any]:
    return {
        "refund_id": rid,
        "payment_id": payment_id,
        "amount": amount,
        "currency": "EUR",
        "status": status,
        "created_at": noon(day),
    }


def payout(
    pid: str,
    amount: int,
    created: str,
    arrival: str,
    *,
    status: str = "paid",
    provider: str = "stripe",
) -> dict[str, Any]:
    return {
        "payout_id": pid,
        "provider": provider,
        "amount": amount,
        "currency": "EUR",
        "status": status,
        "arrival_on": date.fromisoformat(arrival),
        "created_at": noon(created),
    }


def action(
    day: str,
    stage: str,
    *,
    invoice_id: str | None = None,
    payment_id: str | None = None,
    subscription: str | None = None,
    kind: str = "email",
    status: str = "done",
) -> dict[str, Any]:
    return {
        "invoice_id": invoice_id,
        "payment_id": payment_id,
        "customer_id": "cus_1",
        "subscription_id": subscription,
        "stage": stage,
        "action": kind,
        "as_of": date.fromisoformat(day),
        "status": status,
        "executed_at": noon(day),
    }


def inputs(
    subscriptions: Sequence[Row] = (),
    invoices: Sequence[Row] = (),
    payments: Sequence[Row] = (),
    refunds: Sequence[Row] = (),
    payouts: Sequence[Row] = (),
    actions: Sequence[Row] = (),
) -> KpiInputs:
    return KpiInputs.of(
        {
            "subscriptions": _frame("subscriptions", list(subscriptions)),
            "invoices": _frame("invoices", list(invoices)),
            "payments": _frame("payments", list(payments)),
            "refunds": _frame("refunds", list(refunds)),
            "payouts": _frame("payouts", list(payouts)),
            "dunning_actions": _frame("dunning_actions", list(actions)),
        }
    )
