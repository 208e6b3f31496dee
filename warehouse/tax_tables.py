"""Tax outputs (issue 7): VAT lines, returns, deadlines, the OSS threshold and FX rates.

- ``vat_lines``: the audit trail. One row per invoice tax line, payment or refund and
  rate, in the return that reports it (``regime`` + ``period``). A sale to a German
  consumer is in two ledgers: the OSS return of its quarter and, shown apart, the
  French CA3 summary of its month. Rows of a filed return are never rewritten; a later
  change (a late refund, a payment that failed after all) is a ``correction`` row in the
  next open return, with ``corrected_period`` naming the filed one.
- ``vat_returns``: the return itself, the sum of its ``vat_lines`` per section,
  treatment, country, rate and corrected period (the tie-out is checked in code).
- ``tax_deadlines``: one row per return (``OSS`` quarter, ``FR_CA3`` month): due date,
  reminders sent, and ``filed`` once finance records it (``echeancier tax filed``).
- ``oss_threshold``: the EU-wide €10 000 of cross-border B2C distance sales, per year.
- ``fx_rates``: ECB reference rates (units of currency per euro), from the ECB CSV.

Outputs, not provider facts: no bookkeeping columns. Amounts are minor units; EUR
amounts of a return sit beside a ``currency`` (or ``return_currency``) of ``EUR``.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Index, Integer, String, Table

from warehouse.columns import currency, iso_currency, key, metadata, money, one_of, ref
from warehouse.types import ExactDecimal

REGIMES = ("OSS", "FR_CA3")
SECTIONS = ("supplies", "correction")
TREATMENTS = ("domestic", "oss", "reverse_charge", "outside_eu")
LINE_SOURCES = ("invoice", "payment", "refund")
RATE_SOURCES = ("invoice", "policy")
DEADLINE_STATUSES = ("open", "overdue", "filed")

vat_lines = Table(
    "vat_lines",
    metadata,
    key("vat_line_id", 32),
    Column("regime", String(8), nullable=False),
    Column("period", String(7), nullable=False),
    Column("section", String(16), nullable=False),
    Column("treatment", String(16), nullable=False),
    Column("corrected_period", String(7)),
    Column("line_key", String(200), nullable=False),
    Column("source", String(8), nullable=False),
    ref("source_id", nullable=False),
    ref("invoice_id"),
    ref("payment_id"),
    Column("provider", String(16)),
    ref("customer_id"),
    Column("customer_country", String(2)),
    Column("customer_vat_id", String(32)),
    Column("is_business", Boolean, nullable=False),
    Column("tax_point_on", Date, nullable=False),
    Column("supply_period", String(7), nullable=False),
    Column("country", String(2), nullable=False),
    Column("rate", ExactDecimal(7, 4), nullable=False),
    Column("rate_source", String(8), nullable=False),
    Column("rate_category", String(16)),
    money("taxable_base", nullable=False),
    money("vat", nullable=False),
    currency(),
    Column("fx_rate", ExactDecimal(18, 6)),
    Column("fx_on", Date),
    money("taxable_base_eur", nullable=False),
    money("vat_eur", nullable=False),
    currency(name="return_currency"),
    Column("customer_key", String(64)),
    one_of("regime", REGIMES),
    one_of("section", SECTIONS),
    one_of("treatment", TREATMENTS),
    one_of("source", LINE_SOURCES),
    one_of("rate_source", RATE_SOURCES),
    iso_currency(),
    iso_currency("return_currency"),
    Index(None, "regime", "period"),
    Index(None, "source_id"),
)

vat_returns = Table(
    "vat_returns",
    metadata,
    key("return_line_id", 32),
    Column("regime", String(8), nullable=False),
    Column("period", String(7), nullable=False),
    Column("section", String(16), nullable=False),
    Column("treatment", String(16), nullable=False),
    Column("country", String(2), nullable=False),
    Column("rate", ExactDecimal(7, 4), nullable=False),
    Column("corrected_period", String(7)),
    money("taxable_base", nullable=False),
    money("vat", nullable=False),
    money("corrections", nullable=False),
    currency(),
    Column("lines", Integer, nullable=False),
    one_of("regime", REGIMES),
    one_of("section", SECTIONS),
    one_of("treatment", TREATMENTS),
    iso_currency(),
    Index(None, "regime", "period"),
)

tax_deadlines = Table(
    "tax_deadlines",
    metadata,
    key("regime", 8),
    key("period", 7),
    Column("due_on", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reminded_on", Date),
    Column("reminder_days", Integer),
    money("vat_due"),
    currency(nullable=True),
    Column("lines", Integer),
    Column("computed_on", Date),
    Column("filed_on", Date),
    Column("filed_by", String(64)),
    Column("reference", String(64)),
    one_of("regime", REGIMES),
    one_of("status", DEADLINE_STATUSES),
    iso_currency(),
)

oss_threshold = Table(
    "oss_threshold",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    money("distance_sales", nullable=False),
    money("threshold", nullable=False),
    currency(),
    Column("crossed_on", Date),
    money("previous_year_sales"),
    Column("destination_vat_required", Boolean, nullable=False),
    Column("computed_on", Date, nullable=False),
    iso_currency(),
)

fx_rates = Table(
    "fx_rates",
    metadata,
    key("currency", 3),
    Column("day", Date, primary_key=True),
    Column("rate", ExactDecimal(18, 6), nullable=False),
    Column("source", String(16), nullable=False),
    iso_currency(),
)
