"""Index ``invoice_payments.charge_id``.

The sync's link step (``tasks.sync_common.resolve_payment_links``) finds each open
payment's invoice through its invoice payment, by payment intent and by charge, 500 ids
a query. Without this index every query by charge read the whole table: on the large
shop (1.4 M payments, ~1 M invoice payments) the first sync's links took over ten
minutes of PostgreSQL scanning; with it they are index lookups like the others.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_invoice_payments_charge_id"), "invoice_payments", ["charge_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_invoice_payments_charge_id"), table_name="invoice_payments")
