"""What the dunning decisions read: the warehouse's tables as DataFrames, own column names.

:data:`COLUMNS` lists the columns each frame needs (the reading task selects exactly
these); a frame may carry more, and a column it lacks is taken as empty, so tests build
only what a case is about. Dates may arrive as ``datetime.date`` or ISO text (SQLite),
instants as aware timestamps or ISO text: :func:`day` and :func:`local_day` turn both
into naive midnight timestamps, the unit every comparison here uses.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

import pandas as pd

COLUMNS: dict[str, tuple[str, ...]] = {
    "invoices": (
        "invoice_id",
        "provider",
        "customer_id",
        "subscription_id",
        "number",
        "status",
        "currency",
        "total",
        "amount_due",
        "amount_paid",
        "amount_remaining",
        "issued_on",
        "due_on",
        "created_at",
        "paid_at",
        "collection_method",
        "customer_country",
        "is_business",
        "hosted_invoice_url",
    ),
    "payments": (
        "payment_id",
        "provider",
        "payment_intent_id",
        "customer_id",
        "invoice_id",
        "subscription_id",
        "amount",
        "currency",
        "status",
        "failure_code",
        "decline_code",
        "payment_method_type",
        "mandate_id",
        "created_at",
        "charge_date",
        "paid_at",
        "failed_at",
    ),
    "customers": ("customer_id", "email", "name", "country", "locale", "is_business"),
    "subscriptions": (
        "subscription_id",
        "provider",
        "customer_id",
        "status",
        "cancel_at_period_end",
        "payment_method_type",
        "mandate_id",
        "mandate_status",
    ),
    "mandates": ("mandate_id", "customer_id", "status"),
    "disputes": ("dispute_id", "payment_id", "status"),
    "invoice_payments": ("invoice_id", "payment_intent_id", "charge_id", "status"),
    "holds": ("hold_id", "kind", "customer_id", "invoice_id", "until_on", "lifted_at"),
    "history": (
        "dedupe_key",
        "as_of",
        "invoice_id",
        "payment_id",
        "stage",
        "action",
        "days_overdue",
        "status",
        "outcome",
    ),
    "pending_notices": ("dedupe_key", "customer_id", "invoice_id", "payment_id", "stage"),
    "quarantined": ("provider", "object_type", "object_id"),
}


@dataclass(frozen=True)
class DunningInputs:
    """The reconciled state of one night (see :data:`COLUMNS` for what each needs)."""

    invoices: pd.DataFrame
    payments: pd.DataFrame
    customers: pd.DataFrame
    subscriptions: pd.DataFrame
    mandates: pd.DataFrame
    disputes: pd.DataFrame
    invoice_payments: pd.DataFrame
    holds: pd.DataFrame
    history: pd.DataFrame
    pending_notices: pd.DataFrame
    quarantined: pd.DataFrame

    def table(self, name: str) -> pd.DataFrame:
        """``name``'s frame with every needed column (missing ones empty), as a copy."""
        frame: pd.DataFrame = getattr(self, name)
        out = frame.copy()
        for column in COLUMNS[name]:
            if column not in out.columns:
                out[column] = pd.Series([None] * len(out), index=out.index, dtype="object")
        return out.reset_index(drop=True)

    @classmethod
    def empty(cls, **frames: pd.DataFrame) -> DunningInputs:
        """Inputs where every frame not given is empty (handy in tests and previews)."""
        given = {
            f.name: frames.get(f.name, pd.DataFrame(columns=list(COLUMNS[f.name])))
            for f in fields(cls)
        }
        return cls(**given)


def day(values: pd.Series) -> pd.Series:
    """Dates (``date``, ISO text or timestamps) as naive midnight timestamps; NaT if empty."""
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    return parsed.dt.tz_localize(None).dt.normalize().astype("datetime64[us]")


def local_day(values: pd.Series, tz: str) -> pd.Series:
    """Instants (aware timestamps or ISO text, naive = UTC) as their business day in ``tz``."""
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    return parsed.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize().astype("datetime64[us]")


def instant(values: pd.Series) -> pd.Series:
    """Instants as aware UTC timestamps."""
    return pd.to_datetime(values, errors="coerce", utc=True, format="mixed").astype(
        "datetime64[us, UTC]"
    )


def stamp(as_of: date) -> pd.Timestamp:
    """``as_of`` as the naive midnight timestamp :func:`day` produces."""
    return pd.Timestamp(as_of)


def text(values: pd.Series) -> pd.Series:
    """A text column with missing values as ``<NA>`` (comparable, mergeable)."""
    return values.astype("string")


def whole(values: pd.Series) -> pd.Series:
    """Integer minor units as nullable ``Int64`` (never through float when avoidable)."""
    try:
        return values.astype("Int64")
    except (TypeError, ValueError):
        return pd.to_numeric(values, errors="coerce").astype("Int64")


def flag(values: pd.Series) -> pd.Series:
    """A yes/no column, missing = no."""
    return values.astype("boolean").fillna(False).astype(bool)
