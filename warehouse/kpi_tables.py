"""KPI outputs (issue 8): ``kpi_daily``, ``cashflow_forecast`` and ``cashflow_accuracy``.

- ``kpi_daily``: one row per business day and currency (never a sum across currencies):
  MRR and its movements, subscribers and churn, receivables and their ageing, payment
  failures and recovery. Month-to-date rates run from ``period_start`` (the first of the
  month) to ``as_of``. docs/kpis.md gives every formula and its source.
- ``cashflow_forecast``: for the ``as_of`` it was made on, the money expected in the bank
  per day of the next 90, per currency and source.
- ``cashflow_accuracy``: the forecast made 7 and 30 days before ``as_of`` against the
  payouts that arrived since.

Outputs, not provider facts: no bookkeeping columns; re-running a day rewrites its rows
with the same values. Rates are fractions (``0.054321`` = 5.4321 %), NULL when their
denominator is zero.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, Integer, String, Table

from warehouse.columns import iso_currency, metadata, money, one_of
from warehouse.types import ExactDecimal

FORECAST_SOURCES = (
    "open_invoices",
    "renewals",
    "direct_debits",
    "pending_payouts",
    "unsettled_payments",
)


def rate(name: str) -> Column[object]:
    """A fraction with six decimals; NULL when it has no denominator."""
    return Column(name, ExactDecimal(9, 6))


def days(name: str) -> Column[object]:
    return Column(name, ExactDecimal(9, 2))


def count(name: str) -> Column[int]:
    return Column(name, Integer, nullable=False)


kpi_daily = Table(
    "kpi_daily",
    metadata,
    Column("as_of", Date, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("period_start", Date, nullable=False),
    money("mrr", nullable=False),
    money("mrr_at_start", nullable=False),
    money("mrr_new", nullable=False),
    money("mrr_expansion", nullable=False),
    money("mrr_contraction", nullable=False),
    money("mrr_churned", nullable=False),
    money("mrr_reactivation", nullable=False),
    count("active_subscriptions"),
    count("customers"),
    count("customers_at_start"),
    count("customers_lost"),
    count("customers_lost_involuntary"),
    rate("subscriber_retention_rate"),
    rate("logo_churn_rate"),
    rate("gross_mrr_churn_rate"),
    rate("net_mrr_churn_rate"),
    rate("involuntary_churn_rate"),
    rate("voluntary_churn_rate"),
    count("recurring_attempts"),
    rate("failed_payment_rate"),
    rate("unpaid_rate"),
    days("dso_days"),
    days("avg_payment_delay_days"),
    days("avg_payment_delay_weighted_days"),
    money("failed_amount", nullable=False),
    money("recovered_amount", nullable=False),
    rate("dunning_recovery_rate"),
    money("ar_current", nullable=False),
    money("ar_1_30", nullable=False),
    money("ar_31_60", nullable=False),
    money("ar_61_90", nullable=False),
    money("ar_over_90", nullable=False),
    money("ar_total", nullable=False),
    money("invoiced_90d", nullable=False),
    money("collected", nullable=False),
    money("refunded", nullable=False),
    iso_currency(),
)

cashflow_forecast = Table(
    "cashflow_forecast",
    metadata,
    Column("as_of", Date, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("source", String(24), primary_key=True),
    money("expected_in", nullable=False),
    money("gross_amount", nullable=False),
    count("items"),
    one_of("source", FORECAST_SOURCES),
    iso_currency(),
)

cashflow_accuracy = Table(
    "cashflow_accuracy",
    metadata,
    Column("as_of", Date, primary_key=True),
    Column("horizon_days", Integer, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("forecast_as_of", Date, nullable=False),
    money("forecast_in", nullable=False),
    money("actual_in", nullable=False),
    money("error", nullable=False),
    rate("abs_pct_error"),
    iso_currency(),
)
