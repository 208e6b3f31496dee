"""``kpi_daily``: every KPI, for every day of a range and every currency, in one pass.

Each input fact becomes an interval or a point on one day axis (domain/kpis/days.py);
the series of mrr.py, receivables.py and collections.py are built once for the whole
range, and the rates divide them. Rates are fractions (0.05 = 5 %), rounded to six
decimals, and ``NaN`` (NULL in the table) when their denominator is zero: with no
subscriber at the start of the month there is no churn rate, not a churn rate of 0.

The month-to-date rates of day ``d`` cover ``period_start`` (the first of ``d``'s month)
to ``d``; on the last day of a month they are that month's rates.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from domain.kpis.collections import (
    attempt_series,
    cash_series,
    first_attempts,
    recovery_series,
)
from domain.kpis.days import Axis, month_start, to_date
from domain.kpis.inputs import KpiInputs
from domain.kpis.mrr import MOVEMENTS, MrrSeries, mrr_series
from domain.kpis.receivables import BUCKETS, DSO_WINDOW, receivable_series
from domain.kpis.shared import failures_of, owed_of, spans_of

Series = dict[str, np.ndarray]
RATE_DECIMALS = 6
DAY_DECIMALS = 2
KPI_COLUMNS = (
    "as_of",
    "currency",
    "period_start",
    "mrr",
    "mrr_at_start",
    *(f"mrr_{m}" for m in MOVEMENTS),
    "active_subscriptions",
    "customers",
    "customers_at_start",
    "customers_lost",
    "customers_lost_involuntary",
    "subscriber_retention_rate",
    "logo_churn_rate",
    "gross_mrr_churn_rate",
    "net_mrr_churn_rate",
    "involuntary_churn_rate",
    "voluntary_churn_rate",
    "recurring_attempts",
    "failed_payment_rate",
    "unpaid_rate",
    "dso_days",
    "avg_payment_delay_days",
    "avg_payment_delay_weighted_days",
    "failed_amount",
    "recovered_amount",
    "dunning_recovery_rate",
    *(name for name, _, _ in BUCKETS),
    "ar_total",
    "invoiced_90d",
    "collected",
    "refunded",
)


def kpi_daily(inputs: KpiInputs, date_from: date, date_to: date, tz: str) -> pd.DataFrame:
    """One row per day of ``date_from .. date_to`` and currency, columns ``KPI_COLUMNS``."""
    if date_to < date_from:
        raise ValueError(f"empty range: {date_from} is after {date_to}")
    axis = Axis.covering(date_from, date_to, lookback=DSO_WINDOW)
    inputs = inputs.with_days(tz)
    subs = mrr_series(spans_of(inputs, tz), axis)
    owed = receivable_series(owed_of(inputs, tz), axis)
    units = failures_of(inputs, tz)
    recovered = recovery_series(units, axis)
    attempts = attempt_series(first_attempts(inputs.payments, inputs.invoices, tz), axis)
    cash = cash_series(inputs.payments, inputs.refunds, axis, tz)
    shown = slice(axis.index(date_from), axis.index(date_to) + 1)
    frames = []
    for currency in inputs.currencies():
        columns = _columns(axis, subs.get(currency), owed.get(currency), axis.n)
        columns |= _rates_of_payments(attempts.get(currency), recovered.get(currency), axis.n)
        columns |= cash.get(currency) or {"collected": _zeros(axis.n), "refunded": _zeros(axis.n)}
        frame = pd.DataFrame({k: v[shown] for k, v in columns.items()})
        days = axis.days[shown]
        frame.insert(0, "as_of", [to_date(d) for d in days])
        frame.insert(1, "currency", currency)
        frame.insert(2, "period_start", [to_date(d) for d in month_start(days.astype(float))])
        frames.append(frame)
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in KPI_COLUMNS})
    return pd.concat(frames, ignore_index=True)[list(KPI_COLUMNS)]


def _zeros(n: int) -> np.ndarray:
    return np.zeros(n, dtype="int64")


def ratio(num: np.ndarray, den: np.ndarray, decimals: int = RATE_DECIMALS) -> np.ndarray:
    """``num / den`` rounded, NaN where ``den`` is zero (never 0, never infinite)."""
    num = np.asarray(num, dtype="float64")
    den = np.asarray(den, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den != 0, num / np.where(den != 0, den, 1), np.nan)
    return np.round(out, decimals)


def _columns(
    axis: Axis, subs: MrrSeries | None, owed: Series | None, n: int
) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    if subs is None:
        for name in ("mrr", "active_subscriptions", "customers", "customers_lost"):
            out[name] = _zeros(n)
        out["customers_lost_involuntary"] = _zeros(n)
        moves = {m: _zeros(n) for m in MOVEMENTS}
    else:
        out["mrr"] = subs.mrr
        out["active_subscriptions"] = subs.active_subscriptions
        out["customers"] = subs.customers
        out["customers_lost"] = subs.customers_lost
        out["customers_lost_involuntary"] = subs.customers_lost_involuntary
        moves = subs.movements
    for m in MOVEMENTS:
        out[f"mrr_{m}"] = moves[m]
    out["mrr_at_start"] = axis.at_opening(out["mrr"])
    start = axis.at_opening(out["customers"])
    out["customers_at_start"] = start
    lost, involuntary = out["customers_lost"], out["customers_lost_involuntary"]
    retained = start - lost
    joined = out["customers"] - retained  # new and reactivated since the month began
    out["subscriber_retention_rate"] = ratio(out["customers"] - joined, start)
    out["logo_churn_rate"] = ratio(lost, start)
    out["involuntary_churn_rate"] = ratio(involuntary, start)
    out["voluntary_churn_rate"] = ratio(lost - involuntary, start)
    mtd = {m: axis.month_to_date(moves[m]) for m in MOVEMENTS}
    gross = mtd["churned"] + mtd["contraction"]
    out["gross_mrr_churn_rate"] = ratio(gross, out["mrr_at_start"])
    net = gross - mtd["expansion"] - mtd["reactivation"]
    out["net_mrr_churn_rate"] = ratio(net, out["mrr_at_start"])
    owed = owed or {}
    for name, _, _ in BUCKETS:
        out[name] = owed.get(name, _zeros(n))
    for name in ("ar_total", "invoiced_90d"):
        out[name] = owed.get(name, _zeros(n))
    out["dso_days"] = ratio(out["ar_total"] * DSO_WINDOW, out["invoiced_90d"], DAY_DECIMALS)
    out["unpaid_rate"] = ratio(
        owed.get("unpaid_amount", _zeros(n)), owed.get("unpaid_cohort", _zeros(n))
    )
    out["avg_payment_delay_days"] = ratio(
        owed.get("delay_sum", _zeros(n)), owed.get("paid_count", _zeros(n)), DAY_DECIMALS
    )
    out["avg_payment_delay_weighted_days"] = ratio(
        owed.get("delay_amount_sum", _zeros(n)), owed.get("paid_amount", _zeros(n)), DAY_DECIMALS
    )
    return out


def _rates_of_payments(
    attempts: Series | None, recovered: Series | None, n: int
) -> dict[str, np.ndarray]:
    attempts = attempts or {"recurring_attempts": _zeros(n), "recurring_failed": _zeros(n)}
    recovered = recovered or {"failed_amount": _zeros(n), "recovered_amount": _zeros(n)}
    return {
        "recurring_attempts": attempts["recurring_attempts"],
        "failed_payment_rate": ratio(attempts["recurring_failed"], attempts["recurring_attempts"]),
        "failed_amount": recovered["failed_amount"],
        "recovered_amount": recovered["recovered_amount"],
        "dunning_recovery_rate": ratio(recovered["recovered_amount"], recovered["failed_amount"]),
    }


def kpi_range(as_of: date, date_from: date | None, date_to: date | None) -> tuple[date, date]:
    """The days a run computes: ``as_of`` alone, or ``date_from .. date_to`` where a
    missing end is ``as_of`` and a missing start is the end (a one-day range)."""
    last = date_to or as_of
    first = date_from or last
    if first > last:
        raise ValueError(f"--from {first} is after --to {last}")
    return first, last
