"""Mandates and invoice payments: the links a payment does not carry itself.

A GoCardless payment names its mandate, not its customer; a Stripe charge names
its payment intent, not its invoice (API 2025-03-31 basil and later). Keeping
both link tables lets link resolution, dunning and analysts join them in SQL.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from warehouse.types import UTCDateTime

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _bookkeeping() -> list[sa.Column]:
    return [
        sa.Column("source_version", sa.BigInteger(), nullable=False),
        sa.Column("row_hash", sa.String(length=32), nullable=False),
        sa.Column("synced_at", UTCDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "mandates",
        sa.Column("mandate_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("scheme", sa.String(length=32), nullable=True),
        sa.Column("next_possible_charge_date", sa.Date(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=True),
        *_bookkeeping(),
        sa.CheckConstraint("provider IN ('gocardless')", name=op.f("ck_mandates_provider_allowed")),
        sa.PrimaryKeyConstraint("mandate_id", name=op.f("pk_mandates")),
    )
    op.create_index(op.f("ix_mandates_customer_id"), "mandates", ["customer_id"])
    op.create_table(
        "invoice_payments",
        sa.Column("invoice_payment_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("invoice_id", sa.String(length=64), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=64), nullable=True),
        sa.Column("charge_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=True),
        sa.Column("amount_requested", sa.BigInteger(), nullable=True),
        sa.Column("amount_paid", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=True),
        sa.Column("paid_at", UTCDateTime(), nullable=True),
        *_bookkeeping(),
        sa.CheckConstraint(
            "provider IN ('stripe')", name=op.f("ck_invoice_payments_provider_allowed")
        ),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_invoice_payments_currency_iso"),
        ),
        sa.PrimaryKeyConstraint("invoice_payment_id", name=op.f("pk_invoice_payments")),
    )
    op.create_index(op.f("ix_invoice_payments_invoice_id"), "invoice_payments", ["invoice_id"])
    op.create_index(
        op.f("ix_invoice_payments_payment_intent_id"), "invoice_payments", ["payment_intent_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_invoice_payments_payment_intent_id"), table_name="invoice_payments")
    op.drop_index(op.f("ix_invoice_payments_invoice_id"), table_name="invoice_payments")
    op.drop_table("invoice_payments")
    op.drop_index(op.f("ix_mandates_customer_id"), table_name="mandates")
    op.drop_table("mandates")
