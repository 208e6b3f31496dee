"""Initial warehouse schema: the unified facts and the pipeline's bookkeeping tables.

Generated from ``warehouse.tables.metadata`` (``alembic revision --autogenerate``) and
kept identical to it: tests/warehouse/test_migrations.py fails on any drift.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 11:00:01.531720
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("postal_code", sa.String(length=32), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("vat_id", sa.String(length=32), nullable=True),
        sa.Column("is_business", sa.Boolean(), nullable=False),
        sa.Column("tax_exempt", sa.String(length=16), nullable=True),
        sa.Column("default_payment_method_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_version", sa.BigInteger(), nullable=False),
        sa.Column("row_hash", sa.String(length=32), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "provider IN ('stripe', 'gocardless')", name=op.f("ck_customers_provider_allowed")
        ),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_customers_currency_iso"),
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customers")),
    )
    op.create_table(
        "disputes",
        sa.Column("dispute_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("payment_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("network_reason_code", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evidence_due_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fee", sa.BigInteger(), nullable=True),
        sa.Column("source_version", sa.BigInteger(), nullable=False),
        sa.Column("row_hash", sa.String(length=32), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "provider IN ('stripe', 'gocardless')", name=op.f("ck_disputes_provider_allowed")
        ),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_disputes_currency_iso"),
        ),
        sa.PrimaryKeyConstraint("dispute_id", name=op.f("pk_disputes")),
    )
    op.create_index(op.f("ix_disputes_payment_id"), "disputes", ["payment_id"], unique=False)
    op.create_table(
        "invoice_tax_lines",
        sa.Column("invoice_id", sa.String(length=64), nullable=False),
        sa.Column("line_key", sa.String(length=128), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("tax_rate_id", sa.String(length=64), nullable=True),
        sa.Column("tax_type", sa.String(length=32), nullable=True),
        sa.Column("rate", sa.Numeric(7, 4), nullable=True),
        sa.Column("taxable_amount", sa.BigInteger(), nullable=False),
        sa.Column("tax_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("taxability_reason", sa.String(length=64), nullable=True),
        sa.Column("tax_behavior", sa.String(length=16), nullable=True),
        sa.Column("source_version", sa.BigInteger(), nullable=False),
        sa.Column("row_hash", sa.String(length=32), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "provider IN ('stripe', 'gocardless')",
            name=op.f("ck_invoice_tax_lines_provider_allowed"),
        ),
        sa.CheckConstraint(
            "tax_behavior IN ('inclusive', 'exclusive', 'unspecified')",
            name=op.f("ck_invoice_tax_lines_tax_behavior_allowed"),
        ),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_invoice_tax_lines_currency_iso"),
        ),
        sa.PrimaryKeyConstraint("invoice_id", "line_key", name=op.f("pk_invoice_tax_lines")),
    )
    op.create_table(
        "invoices",
        sa.Column("invoice_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=True),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("number", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal", sa.BigInteger(), nullable=True),
        sa.Column("total_excluding_tax", sa.BigInteger(), nullable=True),
        sa.Column("tax", sa.BigInteger(), nullable=True),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("amount_due", sa.BigInteger(), nullable=True),
        sa.Column("amount_paid", sa.BigInteger(), nullable=False),
        sa.Column("amount_remaining", sa.BigInteger(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finalized_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("marked_uncollectible_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("billing_reason", sa.String(length=32), nullable=True),
        sa.Column("collection_method", sa.String(length=32), nullable=True),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("attempted", sa.Boolean(), nullable=False),
        sa.Column("next_payment_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("customer_country", sa.String(length=2), nullable=True),
        sa.Column("customer_vat_id", sa.String(length=32), nullable=True),
        sa.Column("is_business", sa.Boolean(), nullable=False),
        sa.Column("reverse_charge", sa.Boolean(), nullable=False),
        sa.Column("hosted_invoice_url", sa.String(length=512), nullable=True),
        sa.Column("source_version", sa.BigInteger(), nullable=False),
        sa.Column("row_hash", sa.String(length=32), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "provider IN ('stripe', 'gocardless')", name=op.f("ck_invoices_provider_allowed")
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'open', 'paid', 'uncollectible', 'void')",
            name=op.f("ck_invoices_status_allowed"),
        ),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_invoices_currency_iso"),
        ),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_invoices")),
    )
    op.create_index(op.f("ix_invoices_customer_id"), "invoices", ["customer_id"], unique=False)
    op.create_index(
        op.f("ix_invoices_status_due_on"), "invoices", ["status", "due_on"], unique=False
    )
    op.create_index(
        op.f("ix_invoices_subscription_id"), "invoices", ["subscription_id"], unique=False
    )
    op.create_table(
        "payments",
        sa.Column("payment_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("invoice_id", sa.String(length=64), nullable=True),
        sa.Column("subscription_id", sa.String(length=64), nullable=True),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("amount_refunded", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("provider_status", sa.String(length=40), nullable=False),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("decline_code", sa.String(length=64), nullable=True),
        sa.Column("failure_message", sa.String(length=500), nullable=True),
        sa.Column("retry_count", sa.Integer(), nullable=False),
        sa.Column("will_retry", sa.Boolean(), nullable=True),
        sa.Column("payment_method_type", sa.String(length=32), nullable=True),
        sa.Column("payment_method_id", sa.String(length=64), nullable=True),
        sa.Column("mandate_id", sa.String(length=64), nullable=True),
        sa.Column("card_brand", sa.String(length=32), nullable=True),
        sa.Column("card_last4", sa.String(length=4), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("charge_date", sa.Date(), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payout_id", sa.String(length=64), nullable=True),
        sa.Column("balance_transaction_id", sa.String(length=64), nullable=True),
        sa.Column("fee", sa.BigInteger(), nullable=True),
        sa.Column("net", sa.BigInteger(), nullable=True),
        sa.Column("source_version", sa.BigInteger(), nullable=False),
        sa.Column("row_hash", sa.String(length=32), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "provider IN ('stripe', 'gocardless')", name=op.f("ck_payments_provider_allowed")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed', 'refunded', 'partially_refunded', "
            "'disputed', 'charged_back', 'cancelled')",
            name=op.f("ck_payments_status_allowed"),
        ),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_payments_currency_iso"),
        ),
        sa.PrimaryKeyConstraint("payment_id", name=op.f("pk_payments")),
    )
    op.create_index(op.f("ix_payments_created_at"), "payments", ["created_at"], unique=False)
    op.create_index(op.f("ix_payments_customer_id"), "payments", ["customer_id"], unique=False)
    op.create_index(op.f("ix_payments_invoice_id"), "payments", ["invoice_id"], unique=False)
    op.create_index(op.f("ix_payments_order_id"), "payments", ["order_id"], unique=False)
    op.create_index(op.f("ix_payments_payout_id"), "payments", ["payout_id"], unique=False)
    op.create_table(
        "payout_lines",
        sa.Column("payout_id", sa.String(length=64), nullable=False),
        sa.Column("line_id", sa.String(length=128), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=True),
        sa.Column("source_type", sa.String(length=32), nullable=False),
        sa.Column("line_type", sa.String(length=40), nullable=False),
        sa.Column("payment_id", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_version", sa.BigInteger(), nullable=False),
        sa.Column("row_hash", sa.String(length=32), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "provider IN ('stripe', 'gocardless')", name=op.f("ck_payout_lines_provider_allowed")
        ),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_payout_lines_currency_iso"),
        ),
        sa.PrimaryKeyConstraint("payout_id", "line_id", name=op.f("pk_payout_lines")),
    )
    op.create_index(
        op.f("ix_payout_lines_payment_id"), "payout_lines", ["payment_id"], unique=False
    )
    op.create_index(op.f("ix_payout_lines_source_id"), "payout_lines", ["source_id"], unique=False)
    op.create_table(
        "payouts",
        sa.Column("payout_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("arrival_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=True),
        sa.Column("reconciliation_status", sa.String(length=32), nullable=True),
        sa.Column("reference", sa.String(length=140), nullable=True),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("source_version", sa.BigInteger(), nullable=False),
        sa.Column("row_hash", sa.String(length=32), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "provider IN ('stripe', 'gocardless')", name=op.f("ck_payouts_provider_allowed")
        ),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_payouts_currency_iso"),
        ),
        sa.PrimaryKeyConstraint("payout_id", name=op.f("pk_payouts")),
    )
    op.create_table(
        "pipeline_runs",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("flow", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("parent_run_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("counts", sa.Text(), nullable=True),
        sa.Column("control_totals", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'completed', 'failed', 'cancelled', 'crashed')",
            name=op.f("ck_pipeline_runs_status_allowed"),
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_pipeline_runs")),
    )
    op.create_index(
        op.f("ix_pipeline_runs_flow_as_of"), "pipeline_runs", ["flow", "as_of"], unique=False
    )
    op.create_table(
        "quarantine",
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("times_seen", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("provider", "object_type", "object_id", name=op.f("pk_quarantine")),
    )
    op.create_table(
        "raw_objects",
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("source_version", sa.BigInteger(), nullable=False),
        sa.Column("row_hash", sa.String(length=32), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "provider", "object_type", "object_id", name=op.f("pk_raw_objects")
        ),
    )
    op.create_table(
        "refunds",
        sa.Column("refund_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("payment_id", sa.String(length=64), nullable=True),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("failure_reason", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payout_id", sa.String(length=64), nullable=True),
        sa.Column("fee", sa.BigInteger(), nullable=True),
        sa.Column("net", sa.BigInteger(), nullable=True),
        sa.Column("source_version", sa.BigInteger(), nullable=False),
        sa.Column("row_hash", sa.String(length=32), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "provider IN ('stripe', 'gocardless')", name=op.f("ck_refunds_provider_allowed")
        ),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_refunds_currency_iso"),
        ),
        sa.PrimaryKeyConstraint("refund_id", name=op.f("pk_refunds")),
    )
    op.create_index(op.f("ix_refunds_order_id"), "refunds", ["order_id"], unique=False)
    op.create_index(op.f("ix_refunds_payment_id"), "refunds", ["payment_id"], unique=False)
    op.create_table(
        "shipments",
        sa.Column("tracking_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("tracking_number", sa.String(length=64), nullable=False),
        sa.Column("carrier", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("tag", sa.String(length=32), nullable=False),
        sa.Column("subtag", sa.String(length=32), nullable=True),
        sa.Column("destination_country", sa.String(length=2), nullable=True),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expected_delivery_on", sa.Date(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_version", sa.BigInteger(), nullable=False),
        sa.Column("row_hash", sa.String(length=32), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "direction IN ('outbound', 'return')", name=op.f("ck_shipments_direction_allowed")
        ),
        sa.CheckConstraint("provider IN ('aftership')", name=op.f("ck_shipments_provider_allowed")),
        sa.PrimaryKeyConstraint("tracking_id", name=op.f("pk_shipments")),
    )
    op.create_index(op.f("ix_shipments_order_id"), "shipments", ["order_id"], unique=False)
    op.create_table(
        "subscriptions",
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("price_id", sa.String(length=64), nullable=True),
        sa.Column("product_id", sa.String(length=64), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("interval", sa.String(length=8), nullable=True),
        sa.Column("interval_count", sa.Integer(), nullable=True),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("current_period_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trial_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trial_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("cancel_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tacit_renewal", sa.Boolean(), nullable=False),
        sa.Column("collection_method", sa.String(length=32), nullable=True),
        sa.Column("payment_method_type", sa.String(length=32), nullable=True),
        sa.Column("payment_method_id", sa.String(length=64), nullable=True),
        sa.Column("mandate_id", sa.String(length=64), nullable=True),
        sa.Column("mandate_status", sa.String(length=32), nullable=True),
        sa.Column("card_brand", sa.String(length=32), nullable=True),
        sa.Column("card_last4", sa.String(length=4), nullable=True),
        sa.Column("card_exp_month", sa.Integer(), nullable=True),
        sa.Column("card_exp_year", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_version", sa.BigInteger(), nullable=False),
        sa.Column("row_hash", sa.String(length=32), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "provider IN ('stripe', 'gocardless')", name=op.f("ck_subscriptions_provider_allowed")
        ),
        sa.CheckConstraint(
            "card_exp_month BETWEEN 1 AND 12", name=op.f("ck_subscriptions_card_exp_month_range")
        ),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_subscriptions_currency_iso"),
        ),
        sa.PrimaryKeyConstraint("subscription_id", name=op.f("pk_subscriptions")),
    )
    op.create_index(
        op.f("ix_subscriptions_customer_id"), "subscriptions", ["customer_id"], unique=False
    )
    op.create_table(
        "sync_state",
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("stream", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("cursor", sa.String(length=255), nullable=True),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_event_id", sa.String(length=64), nullable=True),
        sa.Column("rows_synced", sa.BigInteger(), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "mode IN ('full', 'incremental')", name=op.f("ck_sync_state_mode_allowed")
        ),
        sa.PrimaryKeyConstraint("provider", "stream", name=op.f("pk_sync_state")),
    )


def downgrade() -> None:
    op.drop_table("sync_state")
    op.drop_index(op.f("ix_subscriptions_customer_id"), table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_index(op.f("ix_shipments_order_id"), table_name="shipments")
    op.drop_table("shipments")
    op.drop_index(op.f("ix_refunds_payment_id"), table_name="refunds")
    op.drop_index(op.f("ix_refunds_order_id"), table_name="refunds")
    op.drop_table("refunds")
    op.drop_table("raw_objects")
    op.drop_table("quarantine")
    op.drop_index(op.f("ix_pipeline_runs_flow_as_of"), table_name="pipeline_runs")
    op.drop_table("pipeline_runs")
    op.drop_table("payouts")
    op.drop_index(op.f("ix_payout_lines_source_id"), table_name="payout_lines")
    op.drop_index(op.f("ix_payout_lines_payment_id"), table_name="payout_lines")
    op.drop_table("payout_lines")
    op.drop_index(op.f("ix_payments_payout_id"), table_name="payments")
    op.drop_index(op.f("ix_payments_order_id"), table_name="payments")
    op.drop_index(op.f("ix_payments_invoice_id"), table_name="payments")
    op.drop_index(op.f("ix_payments_customer_id"), table_name="payments")
    op.drop_index(op.f("ix_payments_created_at"), table_name="payments")
    op.drop_table("payments")
    op.drop_index(op.f("ix_invoices_subscription_id"), table_name="invoices")
    op.drop_index(op.f("ix_invoices_status_due_on"), table_name="invoices")
    op.drop_index(op.f("ix_invoices_customer_id"), table_name="invoices")
    op.drop_table("invoices")
    op.drop_table("invoice_tax_lines")
    op.drop_index(op.f("ix_disputes_payment_id"), table_name="disputes")
    op.drop_table("disputes")
    op.drop_table("customers")
