"""The outbox (``notifications``) and the dunning ledger (``dunning_actions``,
``dunning_holds``, ``dunning_recovery``). See warehouse/outbox_tables.py.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dunning_actions",
        sa.Column("action_id", sa.String(length=32), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("invoice_id", sa.String(length=64), nullable=True),
        sa.Column("payment_id", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=True),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("ladder", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("days_overdue", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("notification_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "action IN ('email', 'retry_payment', 'late_fee_notice', 'suspend', 'cancel_at_period_end', 'mark_uncollectible', 'offer_direct_debit', 'offer_instalments')",  # noqa: E501
            name=op.f("ck_dunning_actions_action_allowed"),
        ),
        sa.CheckConstraint(
            "status IN ('planned', 'pending', 'done', 'failed', 'skipped', 'cancelled')",
            name=op.f("ck_dunning_actions_status_allowed"),
        ),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_dunning_actions_currency_iso"),
        ),
        sa.PrimaryKeyConstraint("action_id", name=op.f("pk_dunning_actions")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_dunning_actions_dedupe_key")),
    )
    with op.batch_alter_table("dunning_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dunning_actions_as_of"), ["as_of"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_dunning_actions_invoice_id"), ["invoice_id"], unique=False
        )

    op.create_table(
        "dunning_holds",
        sa.Column("hold_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("invoice_id", sa.String(length=64), nullable=True),
        sa.Column("until_on", sa.Date(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('promise_to_pay', 'opt_out', 'pause')",
            name=op.f("ck_dunning_holds_kind_allowed"),
        ),
        sa.PrimaryKeyConstraint("hold_id", name=op.f("pk_dunning_holds")),
    )
    op.create_table(
        "dunning_recovery",
        sa.Column("failure_month", sa.String(length=7), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("failed_amount", sa.BigInteger(), nullable=False),
        sa.Column("recovered_count", sa.Integer(), nullable=False),
        sa.Column("recovered_amount", sa.BigInteger(), nullable=False),
        sa.Column("recovery_rate", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("recovered_within_7d", sa.Integer(), nullable=False),
        sa.Column("recovered_within_30d", sa.Integer(), nullable=False),
        sa.Column("recovered_after_30d", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_dunning_recovery_currency_iso"),
        ),
        sa.PrimaryKeyConstraint(
            "failure_month",
            "provider",
            "stage",
            "channel",
            "currency",
            name=op.f("pk_dunning_recovery"),
        ),
    )
    op.create_table(
        "notifications",
        sa.Column("notification_id", sa.String(length=32), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=True),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("invoice_id", sa.String(length=64), nullable=True),
        sa.Column("subscription_id", sa.String(length=64), nullable=True),
        sa.Column("payment_id", sa.String(length=64), nullable=True),
        sa.Column("tracking_id", sa.String(length=64), nullable=True),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("planned_for", sa.Date(), nullable=False),
        sa.Column("send_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("provider_message_id", sa.String(length=128), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "audience IN ('customer', 'finance')", name=op.f("ck_notifications_audience_allowed")
        ),
        sa.CheckConstraint(
            "kind IN ('dunning', 'renewal', 'tacit_renewal', 'upcoming_renewal', 'trial_ending', 'card_expiring', 'mandate_problem', 'shipment_delay', 'shipment_exception', 'return_window', 'refund_overdue', 'tax_deadline')",  # noqa: E501
            name=op.f("ck_notifications_kind_allowed"),
        ),
        sa.CheckConstraint(
            "status IN ('planned', 'queued', 'sending', 'sent', 'failed', 'unknown', 'cancelled')",
            name=op.f("ck_notifications_status_allowed"),
        ),
        sa.PrimaryKeyConstraint("notification_id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notifications_dedupe_key")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notifications_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notifications_status_send_after"), ["status", "send_after"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_status_send_after"))
        batch_op.drop_index(batch_op.f("ix_notifications_customer_id"))

    op.drop_table("notifications")
    op.drop_table("dunning_recovery")
    op.drop_table("dunning_holds")
    with op.batch_alter_table("dunning_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dunning_actions_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_dunning_actions_as_of"))

    op.drop_table("dunning_actions")
