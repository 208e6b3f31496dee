"""notices data: subscriptions' contract terms and the ``notice_exceptions`` register.

- ``subscriptions.notice_days`` and ``subscriptions.contract``: the notice period and the
  kind of a tacitly renewed contract (from the providers' subscription metadata), which
  the renewal notices need to compute the deadline to refuse the renewal. Rows synced
  before this revision get them back from their raw copy in ``raw_objects``.
- ``notice_exceptions``: missed legal duties listed for finance (warehouse/notice_tables.py).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notice_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("contract", sa.String(length=32), nullable=True))

    op.create_table(
        "notice_exceptions",
        sa.Column("exception_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("subscription_id", sa.String(length=64), nullable=True),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("tracking_id", sa.String(length=64), nullable=True),
        sa.Column("event_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("first_seen_on", sa.Date(), nullable=False),
        sa.Column("last_seen_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("notification_id", sa.String(length=32), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('tacit_renewal_unnoticed', 'refund_overdue')",
            name=op.f("ck_notice_exceptions_kind_allowed"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'closed')", name=op.f("ck_notice_exceptions_status_allowed")
        ),
        sa.CheckConstraint(
            "outcome IN ('renewed_without_notice', 'notice_sent_late', 'cancelled', 'refunded')",
            name=op.f("ck_notice_exceptions_outcome_allowed"),
        ),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_notice_exceptions_currency_iso"),
        ),
        sa.PrimaryKeyConstraint("exception_id", name=op.f("pk_notice_exceptions")),
    )
    with op.batch_alter_table("notice_exceptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notice_exceptions_status_kind"), ["status", "kind"], unique=False
        )

    _backfill_terms(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("notice_exceptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_exceptions_status_kind"))
    op.drop_table("notice_exceptions")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_column("contract")
        batch_op.drop_column("notice_days")


def terms(payload: str) -> tuple[int | None, str | None]:
    """``(notice_days, contract)`` from a raw subscription's metadata; unreadable -> None.

    Lenient on purpose: a migration must not stop on one odd object; the next sync of
    that subscription applies the normaliser's strict rule (and quarantines it if bad).
    """
    try:
        meta = (json.loads(payload) or {}).get("metadata") or {}
    except (ValueError, AttributeError):
        return None, None
    if not isinstance(meta, dict):
        return None, None
    raw = str(meta.get("notice_days") or "").strip()
    days = int(raw) if raw.isdigit() and int(raw) <= 366 else None
    contract = str(meta.get("contract") or "").strip()[:32] or None
    return days, contract


def _backfill_terms(bind: Any) -> None:
    """Fill the new columns of already-synced subscriptions from ``raw_objects``."""
    rows = bind.execute(
        sa.text(
            "SELECT r.object_id, r.payload FROM raw_objects r "
            "JOIN subscriptions s ON s.subscription_id = r.object_id "
            "WHERE r.object_type = 'subscription'"
        )
    ).all()
    updates = []
    for object_id, payload in rows:
        days, contract = terms(payload)
        if days is not None or contract is not None:
            updates.append({"sid": object_id, "days": days, "contract": contract})
    statement = sa.text(
        "UPDATE subscriptions SET notice_days = :days, contract = :contract "
        "WHERE subscription_id = :sid"
    )
    for start in range(0, len(updates), _BATCH):
        bind.execute(statement, updates[start : start + _BATCH])
