"""What the notices flows owe finance: ``notice_exceptions``, one row per missed duty.

The renewal and shipment notices flows queue customer notices in the outbox
(``notifications``); when a legal duty has already been missed they also queue a
finance-audience item there and keep a row here that analysts can query and count:

- ``tacit_renewal_unnoticed``: a tacitly renewed consumer contract whose legal window
  for the renewal notice (Code de la consommation L215-1: between 3 months and 1 month
  before the deadline to refuse) closed without the notice having gone out;
- ``refund_overdue``: a withdrawal return delivered back to the shop more than 14 days
  ago and still not refunded (L221-24).

A row is ``open`` while the situation lasts and ``closed`` (with its ``outcome``) on the
first night it ends. Not a provider fact: no bookkeeping columns, a plain primary key.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, Index, String, Table, Text

from warehouse.columns import currency, iso_currency, key, metadata, money, one_of, ref

NOTICE_EXCEPTION_KINDS = ("tacit_renewal_unnoticed", "refund_overdue")
NOTICE_EXCEPTION_STATUSES = ("open", "closed")
NOTICE_EXCEPTION_OUTCOMES = (
    "renewed_without_notice",
    "notice_sent_late",
    "cancelled",
    "refunded",
)

notice_exceptions = Table(
    "notice_exceptions",
    metadata,
    key("exception_id", 32),
    Column("kind", String(32), nullable=False),
    ref("customer_id"),
    ref("subscription_id"),
    ref("order_id"),
    ref("tracking_id"),
    Column("event_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    money("amount"),
    currency(nullable=True),
    Column("first_seen_on", Date, nullable=False),
    Column("last_seen_on", Date, nullable=False),
    Column("status", String(8), nullable=False),
    Column("closed_on", Date),
    Column("outcome", String(32)),
    Column("notification_id", String(32)),
    Column("details", Text),
    Column("customer_key", String(64)),
    one_of("kind", NOTICE_EXCEPTION_KINDS),
    one_of("status", NOTICE_EXCEPTION_STATUSES),
    one_of("outcome", NOTICE_EXCEPTION_OUTCOMES),
    iso_currency(),
    Index(None, "status", "kind"),
)
