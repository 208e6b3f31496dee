"""Small inline frames for the dunning tests: name only the columns a case is about."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from domain.dunning import (
    COLUMNS,
    DunningInputs,
    DunningPlan,
    LatePaymentRates,
    decide,
    load_late_payment_rates,
    load_policy,
)
from domain.dunning.model import DunningPolicy

ROOT = Path(__file__).resolve().parents[3]
POLICY = load_policy(ROOT / "policies" / "dunning.yaml")
RATES = load_late_payment_rates(ROOT / "policies" / "late_payment.yaml")
PORTAL = "https://pay.example.com"

DEFAULTS: dict[str, dict[str, Any]] = {
    "invoices": {
        "provider": "stripe",
        "currency": "EUR",
        "status": "open",
        "collection_method": "send_invoice",
        "is_business": False,
    },
    "payments": {"provider": "stripe", "currency": "EUR", "status": "failed"},
    "customers": {"country": "FR", "locale": "fr", "is_business": False},
    "subscriptions": {"provider": "stripe", "status": "active", "cancel_at_period_end": False},
    "mandates": {"status": "active"},
    "disputes": {"status": "needs_response"},
    "invoice_payments": {"status": "open"},
    "holds": {},
    "history": {"status": "done"},
    "pending_notices": {},
    "quarantined": {},
}


def at(day: str, hour: int = 12) -> pd.Timestamp:
    return pd.Timestamp(f"{day}T{hour:02d}:00:00Z")


def frame(name: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    columns = COLUMNS[name]
    full = [{c: {**DEFAULTS[name], **row}.get(c) for c in columns} for row in rows]
    out = pd.DataFrame(full, columns=list(columns))
    for column in columns:
        if column.endswith("_at"):
            out[column] = pd.to_datetime(out[column], utc=True)
    return out


def inputs(**tables: list[dict[str, Any]]) -> DunningInputs:
    return DunningInputs(**{name: frame(name, tables.get(name, [])) for name in COLUMNS})


def invoice(invoice_id: str, customer_id: str, amount: int, due_on: str, **more: Any) -> dict:
    """An open invoice of ``amount`` minor units due on ``due_on``."""
    return {
        "invoice_id": invoice_id,
        "customer_id": customer_id,
        "number": f"F-{invoice_id}",
        "total": amount,
        "amount_due": amount,
        "amount_paid": 0,
        "amount_remaining": amount,
        "issued_on": date.fromisoformat(due_on),
        "due_on": date.fromisoformat(due_on),
        **more,
    }


def customer(customer_id: str, **more: Any) -> dict:
    return {
        "customer_id": customer_id,
        "email": f"{customer_id}@example.com",
        "name": f"Client {customer_id}",
        **more,
    }


def run(
    data: DunningInputs,
    as_of: date,
    policy: DunningPolicy = POLICY,
    rates: LatePaymentRates = RATES,
) -> DunningPlan:
    return decide(data, policy, rates, as_of, portal_url=PORTAL)


def actions(plan: DunningPlan) -> list[tuple[str, str, str]]:
    """(item, stage, action) of every planned action, sorted."""
    rows = plan.actions
    items = rows["invoice_id"].fillna(rows["payment_id"])
    return sorted(zip(items, rows["stage"], rows["action"], strict=True))


def skipped(plan: DunningPlan) -> list[tuple[str, str]]:
    return sorted(zip(plan.skipped["item_id"], plan.skipped["reason"], strict=True))


def as_history(plan: DunningPlan, as_of: date, status: str = "done") -> list[dict[str, Any]]:
    """Tonight's actions as ledger rows of a later night's history."""
    return [
        {
            "dedupe_key": row["dedupe_key"],
            "as_of": as_of,
            "invoice_id": row["invoice_id"],
            "payment_id": row["payment_id"],
            "stage": row["stage"],
            "action": row["action"],
            "days_overdue": int(row["days_overdue"]),
            "status": status,
        }
        for row in plan.actions.to_dict("records")
    ]
