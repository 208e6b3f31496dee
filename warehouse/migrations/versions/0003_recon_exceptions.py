"""The reconciliation exception register ``recon_exceptions``.

One row per exception (``exception_id``, a hash of its kind and object ids), kept
across nights: first and last night seen, the night it was resolved, its age and
ageing bucket, and finance's acceptance (``status = 'accepted'``, ``accepted_on``,
``accepted_by``, ``note``). See docs/reconciliation.md.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recon_exceptions",
        sa.Column("exception_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("object_ids", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("first_seen_on", sa.Date(), nullable=False),
        sa.Column("last_seen_on", sa.Date(), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("age_days", sa.Integer(), nullable=False),
        sa.Column("ageing_bucket", sa.String(length=8), nullable=False),
        sa.Column("accepted_on", sa.Date(), nullable=True),
        sa.Column("accepted_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'resolved', 'accepted')",
            name=op.f("ck_recon_exceptions_status_allowed"),
        ),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_recon_exceptions_currency_iso"),
        ),
        sa.PrimaryKeyConstraint("exception_id", name=op.f("pk_recon_exceptions")),
    )
    op.create_index(op.f("ix_recon_exceptions_status_kind"), "recon_exceptions", ["status", "kind"])


def downgrade() -> None:
    op.drop_index(op.f("ix_recon_exceptions_status_kind"), table_name="recon_exceptions")
    op.drop_table("recon_exceptions")
