"""What the KPIs read: a few columns of six warehouse tables, as DataFrames.

``COLUMNS`` is the contract between the task that reads the warehouse and the pure
functions here (currencies arrive uppercase: the warehouse's CHECK sees to it).
:meth:`KpiInputs.of` accepts missing tables (the dunning ledger is empty until dunning
runs) and gives them empty frames with the right columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import pandas as pd

T = TypeVar("T")

COLUMNS: Mapping[str, tuple[str, ...]] = {
    "subscriptions": (
        "subscription_id",
        "provider",
        "customer_id",
        "status",
        "amount",
        "currency",
        "interval",
        "interval_count",
        "start_at",
        "current_period_end",
        "trial_end",
        "cancel_at_period_end",
        "cancel_at",
        "canceled_at",
        "ended_at",
        "collection_method",
        "payment_method_type",
    ),
    "invoices": (
        "invoice_id",
        "provider",
        "customer_id",
        "subscription_id",
        "status",
        "currency",
        "total",
        "amount_due",
        "amount_paid",
        "amount_remaining",
        "issued_on",
        "due_on",
        "created_at",
        "finalized_at",
        "paid_at",
        "marked_uncollectible_at",
        "collection_method",
    ),
    "payments": (
        "payment_id",
        "provider",
        "customer_id",
        "invoice_id",
        "subscription_id",
        "amount",
        "currency",
        "status",
        "created_at",
        "charge_date",
        "payout_id",
        "fee",
        "net",
    ),
    "refunds": ("refund_id", "payment_id", "amount", "currency", "status", "created_at"),
    "payouts": (
        "payout_id",
        "provider",
        "amount",
        "currency",
        "status",
        "arrival_on",
        "created_at",
    ),
    "dunning_actions": (
        "invoice_id",
        "payment_id",
        "customer_id",
        "subscription_id",
        "stage",
        "action",
        "as_of",
        "status",
        "executed_at",
    ),
}


@dataclass(frozen=True)
class KpiInputs:
    subscriptions: pd.DataFrame
    invoices: pd.DataFrame
    payments: pd.DataFrame
    refunds: pd.DataFrame
    payouts: pd.DataFrame
    dunning_actions: pd.DataFrame

    @classmethod
    def of(cls, frames: Mapping[str, pd.DataFrame]) -> KpiInputs:
        """The frames named in ``COLUMNS`` (extra columns ignored, missing tables empty)."""
        picked = {}
        for name, columns in COLUMNS.items():
            frame = frames.get(name)
            if frame is None:
                frame = pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in columns})
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                raise ValueError(f"{name} lacks the columns {', '.join(missing)}")
            picked[name] = frame[list(columns)].reset_index(drop=True)
        return cls(**picked)

    def with_days(self, tz: str) -> KpiInputs:
        """The same inputs with each payment's business day computed once (``attempt_day``):
        every KPI reads it, and parsing 150,000 dates four times costs seconds."""
        from domain.kpis.mrr import attempt_days

        if "attempt_day" in self.payments.columns:
            return self

        def days() -> KpiInputs:
            payments = self.payments.assign(attempt_day=attempt_days(self.payments, tz))
            return replace(self, payments=payments)

        return self.derived("with_days", tz, days)

    def derived(self, name: str, tz: str, make: Callable[[], T]) -> T:
        """``make()``, computed once for these inputs and time zone: the daily KPIs, the
        forecast and the finance report each need the same paying spans, receivables
        and failures of the same facts (``domain.kpis.shared``; computed three times
        they were ~5 s of the large shop's night). What it returns is shared: callers
        derive new frames from it, never modify it."""
        # Kept beside the fields, not as one: ``replace`` (new frames) starts without it,
        # and Prefect's walk over a task's dataclass arguments never sees it.
        cache: dict[tuple[str, str], Any] = self.__dict__.setdefault("_derived", {})
        key = (name, tz)
        if key not in cache:
            cache[key] = make()
        return cache[key]  # type: ignore[no-any-return]

    def currencies(self) -> list[str]:
        """Every currency any input holds: each gets its own row, never a sum across them."""
        found: set[str] = set()
        for frame in (self.subscriptions, self.invoices, self.payments, self.payouts):
            found |= {str(c) for c in frame["currency"].dropna().unique()}
        return sorted(found)


def _dtype(column: str) -> str:
    if column.endswith("_at"):
        return "datetime64[us, UTC]"
    if column in ("amount", "total", "amount_due", "amount_paid", "amount_remaining", "fee"):
        return "Int64"
    if column in ("net", "interval_count"):
        return "Int64"
    if column == "cancel_at_period_end":
        return "boolean"
    return "string"
