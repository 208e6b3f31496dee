"""Tax outputs: ``vat_lines``, ``vat_returns``, ``tax_deadlines``, ``oss_threshold`` and
``fx_rates``. See warehouse/tax_tables.py.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TREATMENTS = "treatment IN ('domestic', 'oss', 'reverse_charge', 'outside_eu')"


def _iso(table: str, column: str = "currency") -> sa.CheckConstraint:
    return sa.CheckConstraint(
        f"length({column}) = 3 AND upper({column}) = {column}",
        name=op.f(f"ck_{table}_{column}_iso"),
    )


def upgrade() -> None:
    op.create_table(
        "fx_rates",
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rate", sa.Numeric(18, 6), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        _iso("fx_rates"),
        sa.PrimaryKeyConstraint("currency", "day", name=op.f("pk_fx_rates")),
    )
    op.create_table(
        "oss_threshold",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("distance_sales", sa.BigInteger(), nullable=False),
        sa.Column("threshold", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("crossed_on", sa.Date(), nullable=True),
        sa.Column("previous_year_sales", sa.BigInteger(), nullable=True),
        sa.Column("destination_vat_required", sa.Boolean(), nullable=False),
        sa.Column("computed_on", sa.Date(), nullable=False),
        _iso("oss_threshold"),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_oss_threshold")),
    )
    op.create_table(
        "tax_deadlines",
        sa.Column("regime", sa.String(length=8), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reminded_on", sa.Date(), nullable=True),
        sa.Column("reminder_days", sa.Integer(), nullable=True),
        sa.Column("vat_due", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("lines", sa.Integer(), nullable=True),
        sa.Column("computed_on", sa.Date(), nullable=True),
        sa.Column("filed_on", sa.Date(), nullable=True),
        sa.Column("filed_by", sa.String(length=64), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "regime IN ('OSS', 'FR_CA3')", name=op.f("ck_tax_deadlines_regime_allowed")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'overdue', 'filed')", name=op.f("ck_tax_deadlines_status_allowed")
        ),
        _iso("tax_deadlines"),
        sa.PrimaryKeyConstraint("regime", "period", name=op.f("pk_tax_deadlines")),
    )
    op.create_table(
        "vat_lines",
        sa.Column("vat_line_id", sa.String(length=32), nullable=False),
        sa.Column("regime", sa.String(length=8), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("section", sa.String(length=16), nullable=False),
        sa.Column("treatment", sa.String(length=16), nullable=False),
        sa.Column("corrected_period", sa.String(length=7), nullable=True),
        sa.Column("line_key", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("invoice_id", sa.String(length=64), nullable=True),
        sa.Column("payment_id", sa.String(length=64), nullable=True),
        sa.Column("provider", sa.String(length=16), nullable=True),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("customer_country", sa.String(length=2), nullable=True),
        sa.Column("customer_vat_id", sa.String(length=32), nullable=True),
        sa.Column("is_business", sa.Boolean(), nullable=False),
        sa.Column("tax_point_on", sa.Date(), nullable=False),
        sa.Column("supply_period", sa.String(length=7), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("rate", sa.Numeric(7, 4), nullable=False),
        sa.Column("rate_source", sa.String(length=8), nullable=False),
        sa.Column("rate_category", sa.String(length=16), nullable=True),
        sa.Column("taxable_base", sa.BigInteger(), nullable=False),
        sa.Column("vat", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("fx_rate", sa.Numeric(18, 6), nullable=True),
        sa.Column("fx_on", sa.Date(), nullable=True),
        sa.Column("taxable_base_eur", sa.BigInteger(), nullable=False),
        sa.Column("vat_eur", sa.BigInteger(), nullable=False),
        sa.Column("return_currency", sa.String(length=3), nullable=False),
        sa.CheckConstraint(
            "rate_source IN ('invoice', 'policy')", name=op.f("ck_vat_lines_rate_source_allowed")
        ),
        sa.CheckConstraint("regime IN ('OSS', 'FR_CA3')", name=op.f("ck_vat_lines_regime_allowed")),
        sa.CheckConstraint(
            "section IN ('supplies', 'correction')", name=op.f("ck_vat_lines_section_allowed")
        ),
        sa.CheckConstraint(
            "source IN ('invoice', 'payment', 'refund')", name=op.f("ck_vat_lines_source_allowed")
        ),
        sa.CheckConstraint(_TREATMENTS, name=op.f("ck_vat_lines_treatment_allowed")),
        _iso("vat_lines"),
        _iso("vat_lines", "return_currency"),
        sa.PrimaryKeyConstraint("vat_line_id", name=op.f("pk_vat_lines")),
    )
    with op.batch_alter_table("vat_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vat_lines_regime_period"), ["regime", "period"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_vat_lines_source_id"), ["source_id"], unique=False)
    op.create_table(
        "vat_returns",
        sa.Column("return_line_id", sa.String(length=32), nullable=False),
        sa.Column("regime", sa.String(length=8), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("section", sa.String(length=16), nullable=False),
        sa.Column("treatment", sa.String(length=16), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("rate", sa.Numeric(7, 4), nullable=False),
        sa.Column("corrected_period", sa.String(length=7), nullable=True),
        sa.Column("taxable_base", sa.BigInteger(), nullable=False),
        sa.Column("vat", sa.BigInteger(), nullable=False),
        sa.Column("corrections", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "regime IN ('OSS', 'FR_CA3')", name=op.f("ck_vat_returns_regime_allowed")
        ),
        sa.CheckConstraint(
            "section IN ('supplies', 'correction')", name=op.f("ck_vat_returns_section_allowed")
        ),
        sa.CheckConstraint(_TREATMENTS, name=op.f("ck_vat_returns_treatment_allowed")),
        _iso("vat_returns"),
        sa.PrimaryKeyConstraint("return_line_id", name=op.f("pk_vat_returns")),
    )
    with op.batch_alter_table("vat_returns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vat_returns_regime_period"), ["regime", "period"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("vat_returns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vat_returns_regime_period"))
    op.drop_table("vat_returns")
    with op.batch_alter_table("vat_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vat_lines_source_id"))
        batch_op.drop_index(batch_op.f("ix_vat_lines_regime_period"))
    op.drop_table("vat_lines")
    op.drop_table("tax_deadlines")
    op.drop_table("oss_threshold")
    op.drop_table("fx_rates")
