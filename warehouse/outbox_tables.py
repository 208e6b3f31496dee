"""The outbox and the dunning ledger: every decision that acts on a customer, once.

- ``notifications``: the outbox (DESIGN §3.5). A decision to write to someone is a row
  keyed by its ``dedupe_key`` (``dunning:{invoice}:{stage}``, ``renewal:{sub}:{period}``,
  ``tax_deadline:{regime}:{period}:{days}``…), inserted in the same transaction that
  records the decision; a second night, a retry or a crash finds the row and queues
  nothing new. The sender claims ``queued`` rows, sends them and records the message id;
  a send whose outcome is unknown (timeout after the request left) is marked
  ``unknown`` and is never re-sent blindly.
- ``dunning_actions``: every dunning decision (email, payment retry, late-fee notice,
  suspension, cancellation, uncollectible, alternative offered), with the provider
  idempotency key derived from the same decision and the outcome.
- ``dunning_holds``: what finance records to stop the ladder for a customer or an
  invoice: a promise to pay until a date, an opt-out, a manual pause.
- ``dunning_recovery``: recovery analytics per failure month, stage and channel.

These are outputs, not provider facts: no bookkeeping columns, plain primary keys.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, Index, Integer, Numeric, String, Table, Text

from warehouse.columns import at, currency, iso_currency, key, metadata, money, one_of, ref

NOTIFICATION_KINDS = (
    "dunning",
    "renewal",
    "tacit_renewal",
    "upcoming_renewal",
    "trial_ending",
    "card_expiring",
    "mandate_problem",
    "shipment_delay",
    "shipment_exception",
    "return_window",
    "refund_overdue",
    "tax_deadline",
)
NOTIFICATION_STATUSES = (
    "planned",
    "queued",
    "sending",
    "sent",
    "failed",
    "unknown",
    "cancelled",
)
AUDIENCES = ("customer", "finance")

DUNNING_ACTIONS = (
    "email",
    "retry_payment",
    "late_fee_notice",
    "suspend",
    "cancel_at_period_end",
    "mark_uncollectible",
    "offer_direct_debit",
    "offer_instalments",
)
ACTION_STATUSES = ("planned", "pending", "done", "failed", "skipped", "cancelled")
HOLD_KINDS = ("promise_to_pay", "opt_out", "pause")

notifications = Table(
    "notifications",
    metadata,
    key("notification_id", 32),
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("kind", String(24), nullable=False),
    Column("stage", String(32)),
    Column("audience", String(16), nullable=False),
    ref("customer_id"),
    ref("invoice_id"),
    ref("subscription_id"),
    ref("payment_id"),
    ref("tracking_id"),
    Column("locale", String(8), nullable=False),
    Column("template", String(64), nullable=False),
    Column("context", Text, nullable=False),
    Column("as_of", Date, nullable=False),
    Column("planned_for", Date, nullable=False),
    at("send_after"),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    at("next_attempt_at"),
    Column("last_error", Text),
    Column("provider_message_id", String(128)),
    at("sent_at"),
    Column("cancelled_reason", Text),
    at("created_at", nullable=False),
    at("updated_at", nullable=False),
    one_of("kind", NOTIFICATION_KINDS),
    one_of("status", NOTIFICATION_STATUSES),
    one_of("audience", AUDIENCES),
    Index(None, "status", "send_after"),
    Index(None, "customer_id"),
)

dunning_actions = Table(
    "dunning_actions",
    metadata,
    key("action_id", 32),
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("as_of", Date, nullable=False),
    ref("invoice_id"),
    ref("payment_id"),
    ref("customer_id", nullable=False),
    ref("subscription_id"),
    Column("provider", String(16), nullable=False),
    Column("ladder", String(64), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("days_overdue", Integer, nullable=False),
    Column("action", String(24), nullable=False),
    money("amount"),
    currency(nullable=True),
    Column("idempotency_key", String(200)),
    Column("notification_id", String(32)),
    Column("status", String(16), nullable=False),
    Column("outcome", Text),
    at("decided_at", nullable=False),
    at("executed_at"),
    Column("customer_key", String(64)),
    one_of("action", DUNNING_ACTIONS),
    one_of("status", ACTION_STATUSES),
    iso_currency(),
    Index(None, "invoice_id"),
    Index(None, "as_of"),
)

dunning_holds = Table(
    "dunning_holds",
    metadata,
    key("hold_id", 32),
    Column("kind", String(16), nullable=False),
    ref("customer_id", nullable=False),
    ref("invoice_id"),
    Column("until_on", Date),
    Column("recorded_by", String(64), nullable=False),
    Column("note", Text),
    at("recorded_at", nullable=False),
    at("lifted_at"),
    one_of("kind", HOLD_KINDS),
)

dunning_recovery = Table(
    "dunning_recovery",
    metadata,
    key("failure_month", 7),
    key("provider", 16),
    key("stage", 32),
    key("channel", 16),
    key("currency", 3),
    Column("failed_count", Integer, nullable=False),
    money("failed_amount", nullable=False),
    Column("recovered_count", Integer, nullable=False),
    money("recovered_amount", nullable=False),
    Column("recovery_rate", Numeric(9, 6)),
    Column("recovered_within_7d", Integer, nullable=False),
    Column("recovered_within_30d", Integer, nullable=False),
    Column("recovered_after_30d", Integer, nullable=False),
    Column("as_of", Date, nullable=False),
    iso_currency(),
)
