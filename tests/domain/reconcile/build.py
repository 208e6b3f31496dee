"""Small inline frames for the rule tests: name only the columns a case is about."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from domain.reconcile import COLUMNS, Frames

AS_OF = date(2026, 6, 30)

DEFAULTS: dict[str, dict[str, Any]] = {
    "payments": {"provider": "stripe", "currency": "EUR", "status": "succeeded", "amount": 4900},
    "invoices": {"provider": "stripe", "currency": "EUR", "status": "paid", "total": 4900},
    "refunds": {"provider": "stripe", "currency": "EUR", "status": "succeeded", "amount": 4900},
    "disputes": {"currency": "EUR", "status": "lost", "amount": 4900},
    "payouts": {"provider": "stripe", "currency": "EUR", "status": "paid", "automatic": True},
    "payout_lines": {"line_type": "charge"},
    "shipments": {"direction": "outbound", "status": "delivered"},
}


def at(day: str) -> pd.Timestamp:
    """Noon UTC of an ISO day."""
    return pd.Timestamp(f"{day}T12:00:00Z")


def frame(name: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    columns = COLUMNS[name]
    full = [{c: {**DEFAULTS[name], **row}.get(c) for c in columns} for row in rows]
    out = pd.DataFrame(full, columns=list(columns))
    for column in columns:
        if column.endswith("_at"):
            out[column] = pd.to_datetime(out[column], utc=True)
    return out


def frames(**tables: list[dict[str, Any]]) -> Frames:
    return Frames(**{name: frame(name, tables.get(name, [])) for name in COLUMNS})
