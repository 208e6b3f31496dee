"""KPI outputs: ``kpi_daily``, ``cashflow_forecast`` and ``cashflow_accuracy``.

See warehouse/kpi_tables.py and docs/kpis.md.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kpi_daily",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("mrr", sa.BigInteger(), nullable=False),
        sa.Column("mrr_at_start", sa.BigInteger(), nullable=False),
        sa.Column("mrr_new", sa.BigInteger(), nullable=False),
        sa.Column("mrr_expansion", sa.BigInteger(), nullable=False),
        sa.Column("mrr_contraction", sa.BigInteger(), nullable=False),
        sa.Column("mrr_churned", sa.BigInteger(), nullable=False),
        sa.Column("mrr_reactivation", sa.BigInteger(), nullable=False),
        sa.Column("active_subscriptions", sa.Integer(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("customers_at_start", sa.Integer(), nullable=False),
        sa.Column("customers_lost", sa.Integer(), nullable=False),
        sa.Column("customers_lost_involuntary", sa.Integer(), nullable=False),
        sa.Column("subscriber_retention_rate", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("logo_churn_rate", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("gross_mrr_churn_rate", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("net_mrr_churn_rate", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("involuntary_churn_rate", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("voluntary_churn_rate", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("recurring_attempts", sa.Integer(), nullable=False),
        sa.Column("failed_payment_rate", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("unpaid_rate", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("dso_days", sa.Numeric(precision=9, scale=2), nullable=True),
        sa.Column("avg_payment_delay_days", sa.Numeric(precision=9, scale=2), nullable=True),
        sa.Column(
            "avg_payment_delay_weighted_days", sa.Numeric(precision=9, scale=2), nullable=True
        ),
        sa.Column("failed_amount", sa.BigInteger(), nullable=False),
        sa.Column("recovered_amount", sa.BigInteger(), nullable=False),
        sa.Column("dunning_recovery_rate", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("ar_current", sa.BigInteger(), nullable=False),
        sa.Column("ar_1_30", sa.BigInteger(), nullable=False),
        sa.Column("ar_31_60", sa.BigInteger(), nullable=False),
        sa.Column("ar_61_90", sa.BigInteger(), nullable=False),
        sa.Column("ar_over_90", sa.BigInteger(), nullable=False),
        sa.Column("ar_total", sa.BigInteger(), nullable=False),
        sa.Column("invoiced_90d", sa.BigInteger(), nullable=False),
        sa.Column("collected", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_kpi_daily_currency_iso"),
        ),
        sa.PrimaryKeyConstraint("as_of", "currency", name=op.f("pk_kpi_daily")),
    )
    op.create_table(
        "cashflow_forecast",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("source", sa.String(length=24), nullable=False),
        sa.Column("expected_in", sa.BigInteger(), nullable=False),
        sa.Column("gross_amount", sa.BigInteger(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_cashflow_forecast_currency_iso"),
        ),
        sa.CheckConstraint(
            "source IN ('open_invoices', 'renewals', 'direct_debits', 'pending_payouts', 'unsettled_payments')",  # noqa: E501
            name=op.f("ck_cashflow_forecast_source_allowed"),
        ),
        sa.PrimaryKeyConstraint(
            "as_of", "day", "currency", "source", name=op.f("pk_cashflow_forecast")
        ),
    )
    op.create_table(
        "cashflow_accuracy",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("forecast_as_of", sa.Date(), nullable=False),
        sa.Column("forecast_in", sa.BigInteger(), nullable=False),
        sa.Column("actual_in", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.BigInteger(), nullable=False),
        sa.Column("abs_pct_error", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_cashflow_accuracy_currency_iso"),
        ),
        sa.PrimaryKeyConstraint(
            "as_of", "horizon_days", "currency", name=op.f("pk_cashflow_accuracy")
        ),
    )


def downgrade() -> None:
    op.drop_table("cashflow_accuracy")
    op.drop_table("cashflow_forecast")
    op.drop_table("kpi_daily")
