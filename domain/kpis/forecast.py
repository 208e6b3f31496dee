"""The cash-flow forecast: money expected in the bank on each of the next 90 days.

Five sources, each dated on the day the money should reach the bank (the day it is
collected plus the provider's observed settlement lag) and weighted by what history
says comes in:

- ``open_invoices``: what is still owed on each open invoice, × the observed collection
  rate of invoices in its ageing bucket (the share of the amount of past invoices that
  reached that bucket and was paid within 90 days), expected after the bucket's observed
  mean days to collect;
- ``renewals``: the next charges of active Stripe subscriptions (from their current
  period end, one interval at a time, not past a scheduled end), × the observed share
  of subscription invoices paid within 30 days;
- ``direct_debits``: GoCardless payments already created and not yet charged, and the
  next charge dates of active GoCardless subscriptions, × the observed success rate of
  GoCardless payments;
- ``pending_payouts``: payouts already on their way (created, arriving later), in full;
- ``unsettled_payments``: payments collected in the last 14 days that no payout holds
  yet, net of fees, in full.

Collections are also reduced by the provider's observed fee share (payouts are net).
Every observation uses only what was known on ``as_of`` (an invoice's outcome counts
once its 90-day window has passed), so a forecast made for an earlier day can be
compared with what then came in (:func:`forecast_accuracy`). With no history, a rate
is 1 and a delay 0: the amounts count in full on their own dates.

Example: an open invoice of 100.00 that is 10 days overdue, where 80 % of the amount of
past 1–30-day-overdue invoices was collected after 6 days on average, Stripe keeping
2 % in fees and paying out 3 days after a charge: 78.40 expected 9 days after ``as_of``.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from domain.kpis.days import date_days, day_number, instant_days, to_date
from domain.kpis.inputs import KpiInputs
from domain.kpis.intervals import add_intervals
from domain.kpis.mrr import SUCCEEDED, attempt_days
from domain.kpis.receivables import BUCKETS
from domain.kpis.shared import owed_of, spans_of

HORIZON_DAYS = 90
SOURCES = ("open_invoices", "renewals", "direct_debits", "pending_payouts", "unsettled_payments")
OBSERVED_DAYS = 180  # how far back rates, lags and fees are observed
COLLECTION_WINDOW = 90  # an invoice reaching a bucket counts as collected if paid within
RENEWAL_WINDOW = 30  # a renewal invoice counts as paid if paid within
DEBIT_SETTLED = 7  # a direct debit's outcome is known this many days after its charge
UNSETTLED_DAYS = 14
PPM = 1_000_000
FORECAST_COLUMNS = ("as_of", "day", "currency", "source", "expected_in", "gross_amount", "items")
PAYOUT_GONE = frozenset({"failed", "canceled", "cancelled", "bounced"})


def weighted(amounts: np.ndarray, weight_ppm: np.ndarray) -> np.ndarray:
    """``amounts`` × ``weight_ppm`` / 10^6, half-up to the minor unit, in integers."""
    product = np.asarray(amounts, dtype="int64") * np.asarray(weight_ppm, dtype="int64")
    return (2 * product + PPM) // (2 * PPM)


def share_ppm(part: int, whole: int, default: float = 1.0) -> int:
    """``part / whole`` in parts per million (``default`` when nothing was observed)."""
    if whole <= 0:
        return round(default * PPM)
    return (2 * part * PPM + whole) // (2 * whole)


def cashflow_forecast(
    inputs: KpiInputs, as_of: date, tz: str, horizon: int = HORIZON_DAYS
) -> pd.DataFrame:
    """Expected inflows per day, currency and source for ``as_of + 1 .. as_of + horizon``."""
    today = day_number(as_of)
    inputs = inputs.with_days(tz)
    lag, keep = _settlement(inputs.payments, inputs.payouts, today, tz)
    owed = owed_of(inputs, tz)
    spans = spans_of(inputs, tz).set_index("subscription_id")
    stripe = lag.get("stripe", 0), keep.get("stripe", PPM)
    gocardless = lag.get("gocardless", 0), keep.get("gocardless", PPM)
    parts = [
        _open_invoices(owed, today, *stripe),
        _renewals(inputs, owed, spans, today, tz, horizon, *stripe),
        _direct_debits(inputs, spans, today, tz, horizon, *gocardless),
        _pending_payouts(inputs.payouts, today, tz),
        _unsettled(inputs.payments, inputs.payouts, today, tz, lag, keep),
    ]
    found = [p for p in parts if not p.empty]
    items = pd.concat(found, ignore_index=True) if found else pd.DataFrame({"day": []})
    items = items[(items["day"] > today) & (items["day"] <= today + horizon)]
    if items.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FORECAST_COLUMNS})
    items = items.assign(expected=weighted(items["amount"], items["weight"]))
    out = items.groupby(["day", "currency", "source"], as_index=False).agg(
        expected_in=("expected", "sum"), gross_amount=("amount", "sum"), items=("amount", "size")
    )
    out["day"] = [to_date(d) for d in out["day"]]
    out.insert(0, "as_of", as_of)
    return out[list(FORECAST_COLUMNS)].sort_values(["currency", "day", "source"], ignore_index=True)


def lookup(keys: pd.Series, payouts: pd.DataFrame, column: str) -> pd.Series:
    """``payouts[column]`` of each payout id in ``keys`` (missing where there is none)."""
    values = payouts.set_index("payout_id")[column].reindex(keys.to_numpy())
    return pd.Series(values.to_numpy(), index=keys.index, dtype=values.dtype)


def _item(
    source: str, day: np.ndarray, currency: object, amount: object, weight: object
) -> pd.DataFrame:
    frame = pd.DataFrame({"day": day, "currency": currency, "amount": amount, "weight": weight})
    frame = frame.dropna(subset=["day"])
    return frame.assign(
        source=source,
        day=frame["day"].astype("int64"),
        currency=frame["currency"].astype(str),
        amount=frame["amount"].astype("int64"),
        weight=frame["weight"].astype("int64"),
    )


def _settlement(
    payments: pd.DataFrame, payouts: pd.DataFrame, today: int, tz: str
) -> tuple[dict[str, int], dict[str, int]]:
    """Per provider: median days from collection to bank, and the share kept after fees."""
    paid = payments[payments["status"].isin(SUCCEEDED).to_numpy()]
    days = attempt_days(paid, tz)
    recent = (days <= today) & (days > today - OBSERVED_DAYS)
    paid, days = paid[recent], days[recent]
    arrived = date_days(lookup(paid["payout_id"], payouts, "arrival_on"))
    lags: dict[str, int] = {}
    keeps: dict[str, int] = {}
    for provider in sorted(paid["provider"].dropna().unique()):
        mine = (paid["provider"] == provider).to_numpy()
        seen = mine & (arrived <= today)
        if seen.any():
            lags[str(provider)] = int(np.median(arrived[seen] - days[seen]))
        fees = paid[mine & paid["fee"].notna().to_numpy()]
        total = int(fees["amount"].sum())
        keeps[str(provider)] = PPM - share_ppm(int(fees["fee"].sum()), total, default=0.0)
    return lags, keeps


def _open_invoices(owed: pd.DataFrame, today: int, lag: int, keep: int) -> pd.DataFrame:
    owed = owed[owed["issued"] <= today]
    open_now = owed[(owed["closed"].isna() | (owed["closed"] > today)) & (owed["outstanding"] > 0)]
    age = today - open_now["due"].to_numpy()
    items = []
    for _, lo, hi in BUCKETS:
        reach = (
            owed["issued"].to_numpy()
            if lo is None
            else np.maximum(owed["issued"].to_numpy(), owed["due"].to_numpy() + lo)
        )
        closed = owed["closed"].to_numpy()
        seen = (reach + COLLECTION_WINDOW <= today) & ~(closed <= reach)
        paid = owed["paid"].to_numpy()
        got = seen & (paid - reach <= COLLECTION_WINDOW)
        amount = owed["amount_due"].to_numpy()
        rate = share_ppm(int(amount[got].sum()), int(amount[seen].sum()))
        wait = float(np.mean(paid[got] - reach[got])) if got.any() else 0.0
        in_bucket = (age >= (lo if lo is not None else -(10**9))) & (
            age <= (hi if hi is not None else 10**9)
        )
        rows = open_now[in_bucket]
        start = rows["issued"].to_numpy() if lo is None else np.full(len(rows), float(today))
        expected = np.maximum(np.round(start + wait), today + 1) + lag
        weight = (rate * keep + PPM // 2) // PPM
        items.append(
            _item("open_invoices", expected, rows["currency"], rows["outstanding"], weight)
        )
    return pd.concat(items, ignore_index=True)


def _charges(
    subs: pd.DataFrame, today: int, horizon: int, tz: str, spans: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray]:
    """The charge dates of ``subs`` in ``today+1 .. today+horizon`` before their end
    (``spans``: the paying spans, indexed by subscription id)."""
    start = spans["start"].reindex(subs["subscription_id"].to_numpy()).to_numpy(dtype="float64")
    end = spans["end"].reindex(subs["subscription_id"].to_numpy()).to_numpy(dtype="float64")
    live = ~np.isnan(start) & (np.isnan(end) | (end > today))
    subs, start, end = subs[live], start[live], end[live]
    anchor = instant_days(subs["current_period_end"], tz)
    anchor = np.where(np.isnan(anchor), start, anchor)
    scheduled = np.where(
        subs["cancel_at_period_end"].fillna(False).to_numpy(dtype=bool), anchor, np.nan
    )
    scheduled = np.fmin(scheduled, instant_days(subs["cancel_at"], tz))
    stop = np.fmin(end, scheduled)
    unit = subs["interval"].astype("string").fillna("month").to_numpy(dtype=object)
    count = subs["interval_count"].astype("Int64").fillna(1).clip(lower=1).to_numpy(dtype="int64")
    period = np.select([unit == "day", unit == "week", unit == "year"], [1, 7, 365], 30) * count
    back = np.floor((anchor - today) / np.maximum(period - 3, 1)).astype("int64") + 1
    rows, days = [], []
    for step in range(-int(back.max(initial=0)) - 1, horizon + 2):
        when = add_intervals(anchor, unit, count, np.full(len(subs), step))
        hit = (when > today) & (when <= today + horizon) & (when >= start) & ~(when >= stop)
        rows.append(np.flatnonzero(hit))
        days.append(when[hit])
        if step > 0 and not ((when <= today + horizon).any()):
            break
    picked = np.concatenate(rows) if rows else np.empty(0, dtype="int64")
    return subs.iloc[picked], (np.concatenate(days) if days else np.empty(0))


def _renewals(
    inputs: KpiInputs,
    owed: pd.DataFrame,
    spans: pd.DataFrame,
    today: int,
    tz: str,
    horizon: int,
    lag: int,
    keep: int,
) -> pd.DataFrame:
    stripe = inputs.subscriptions[inputs.subscriptions["provider"] == "stripe"]
    subs, days = _charges(stripe, today, horizon, tz, spans)
    renewing = (
        owed["invoice_id"]
        .isin(inputs.invoices.loc[inputs.invoices["subscription_id"].notna(), "invoice_id"])
        .to_numpy()
    )
    issued = owed["issued"].to_numpy()
    seen = renewing & (issued <= today - RENEWAL_WINDOW) & (issued > today - OBSERVED_DAYS)
    got = seen & (owed["paid"].to_numpy() - issued <= RENEWAL_WINDOW)
    amount = owed["amount_due"].to_numpy()
    rate = share_ppm(int(amount[got].sum()), int(amount[seen].sum()))
    weight = (rate * keep + PPM // 2) // PPM
    return _item("renewals", days + lag, subs["currency"], subs["amount"].fillna(0), weight)


def _direct_debits(
    inputs: KpiInputs, spans: pd.DataFrame, today: int, tz: str, horizon: int, lag: int, keep: int
) -> pd.DataFrame:
    payments = inputs.payments[inputs.payments["provider"] == "gocardless"]
    charge = date_days(payments["charge_date"])
    created = instant_days(payments["created_at"], tz)
    status = payments["status"].to_numpy(dtype=object)
    settled = (charge <= today - DEBIT_SETTLED) & (charge > today - OBSERVED_DAYS)
    settled &= np.isin(status, list(SUCCEEDED | {"failed", "charged_back"}))
    amount = payments["amount"].astype("Int64").fillna(0).to_numpy(dtype="int64")
    ok = settled & np.isin(status, list(SUCCEEDED))
    weight = (share_ppm(int(amount[ok].sum()), int(amount[settled].sum())) * keep + PPM // 2) // PPM
    waiting = (created <= today) & (
        (charge > today) | ((status == "pending") & ~(charge <= today - DEBIT_SETTLED))
    )
    waiting &= ~np.isin(status, ["cancelled"])
    known = _item(
        "direct_debits",
        np.maximum(charge[waiting] + lag, today + 1),
        payments["currency"][waiting],
        amount[waiting],
        weight,
    )
    gocardless = inputs.subscriptions[inputs.subscriptions["provider"] == "gocardless"]
    subs, days = _charges(gocardless, today, horizon, tz, spans)
    made = created <= today
    planned = pd.MultiIndex.from_arrays(
        [payments["subscription_id"][made].astype(str).to_numpy(), charge[made]]
    )
    coming = pd.MultiIndex.from_arrays([subs["subscription_id"].astype(str).to_numpy(), days])
    fresh = ~coming.isin(planned)
    future = _item(
        "direct_debits",
        days[fresh] + lag,
        subs["currency"][fresh],
        subs["amount"].fillna(0)[fresh],
        weight,
    )
    return pd.concat([known, future], ignore_index=True)


def _pending_payouts(payouts: pd.DataFrame, today: int, tz: str) -> pd.DataFrame:
    created = instant_days(payouts["created_at"], tz)
    arrival = date_days(payouts["arrival_on"])
    on_way = (
        (created <= today) & (arrival > today) & ~payouts["status"].isin(PAYOUT_GONE).to_numpy()
    )
    rows = payouts[on_way]
    return _item("pending_payouts", arrival[on_way], rows["currency"], rows["amount"], PPM)


def _unsettled(
    payments: pd.DataFrame,
    payouts: pd.DataFrame,
    today: int,
    tz: str,
    lag: dict[str, int],
    keep: dict[str, int],
) -> pd.DataFrame:
    paid = payments[payments["status"].isin(SUCCEEDED).to_numpy()]
    days = attempt_days(paid, tz)
    payout_created = instant_days(lookup(paid["payout_id"], payouts, "created_at"), tz)
    free = (days <= today) & (days > today - UNSETTLED_DAYS) & ~(payout_created <= today)
    rows = paid[free]
    provider = rows["provider"].astype(str).to_numpy()
    shift = np.array([lag.get(p, 0) for p in provider], dtype="int64")
    kept = np.array([keep.get(p, PPM) for p in provider], dtype="int64")
    net = rows["net"].astype("Int64")
    amount = rows["amount"].astype("Int64").to_numpy(dtype="int64")
    value = np.where(net.isna(), weighted(amount, kept), net.fillna(0).to_numpy(dtype="int64"))
    expected = np.maximum(days[free] + shift, today + 1)
    return _item("unsettled_payments", expected, rows["currency"], value, PPM)
