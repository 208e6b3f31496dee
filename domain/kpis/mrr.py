"""Monthly recurring revenue, its movements, and which customers stay — every day at once.

**Paying interval.** A subscription pays from the later of its start and its trial end
(local business days) until the day it ends; ``incomplete``, ``incomplete_expired``,
a Stripe ``paused`` (a trial that ended without a payment method) and GoCardless
``pending_customer_approval``/``customer_approval_denied`` never pay. It ends on
``ended_at``, else ``cancel_at`` (GoCardless ``end_date``), else ``canceled_at``. A
GoCardless subscription that is ``cancelled`` or ``paused`` without a date (GoCardless
keeps none) ends when its last collected period runs out: the charge date of its last
successful payment plus one interval (its start if it never paid). A delinquent
(``past_due``, ``unpaid``) subscription keeps paying until it ends, as ChartMogul counts.

**Monthly amount.** ``amount`` (price × quantity per billing period, as the provider
bills it) normalised to a month and rounded half-up to the minor unit once per
subscription: yearly ÷ 12, weekly × 52 ÷ 12, daily × 365 ÷ 12, each ÷ ``interval_count``.
Example: 190.00/year → 15.83/month; 39.00 every 3 months → 13.00/month.

**Movements** (ChartMogul), per customer and currency, comparing the customer's MRR at
the end of a day with the day before: 0 → > 0 is *new* the first time and
*reactivation* after; > 0 → 0 is *churn* (of the whole previous MRR); up is
*expansion*, down *contraction*. So ``mrr(d) = mrr(d-1) + new + expansion + reactivation
- contraction - churn`` holds to the cent, every day.

**Logos.** A customer counts while its MRR in the currency is above zero. Over the month
to date, *lost* customers are those counted at the end of the previous month and not
on the day; a customer who churns and comes back within the month is not lost (but the
churned and reactivated MRR both show as movements). A lost customer is lost
*involuntarily* when the subscription end that took it to zero was: its last payment
attempt failed, or dunning suspended or cancelled it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from domain.kpis.days import Axis, Days, date_days, instant_days, month_start
from domain.kpis.intervals import add_intervals

NEVER_PAYING = frozenset(
    {"incomplete", "incomplete_expired", "pending_customer_approval", "customer_approval_denied"}
)
UNDATED_END = frozenset({"canceled", "cancelled", "finished", "paused"})
SUCCEEDED = frozenset({"succeeded", "refunded", "partially_refunded", "disputed"})
TERMINAL_DUNNING = frozenset({"suspend", "cancel_at_period_end", "mark_uncollectible"})
# month fraction of one billing period: (numerator, denominator per interval_count)
PER_MONTH = {"month": (1, 1), "year": (1, 12), "week": (52, 12), "day": (365, 12)}
MOVEMENTS = ("new", "expansion", "contraction", "churned", "reactivation")


def monthly_amount(amount: pd.Series, interval: pd.Series, count: pd.Series) -> np.ndarray:
    """Per-period amounts -> monthly amounts, half-up to the minor unit, integers only."""
    units = interval.astype("string").fillna("month").to_numpy(dtype=object)
    num = np.array([PER_MONTH.get(u, (1, 1))[0] for u in units], dtype="int64")
    den = np.array([PER_MONTH.get(u, (1, 1))[1] for u in units], dtype="int64")
    den = den * count.astype("Int64").fillna(1).clip(lower=1).to_numpy(dtype="int64")
    value = amount.astype("Int64").fillna(0).clip(lower=0).to_numpy(dtype="int64")
    return (2 * value * num + den) // (2 * den)


def last_attempts(payments: pd.DataFrame, invoices: pd.DataFrame) -> pd.DataFrame:
    """Per subscription: the status and day of its latest payment attempt."""
    via_invoice = invoices.set_index("invoice_id")["subscription_id"]
    linked = payments["subscription_id"].fillna(payments["invoice_id"].map(via_invoice))
    attempts = payments.assign(subscription_id=linked).dropna(subset=["subscription_id"])
    attempts = attempts.sort_values("created_at", kind="stable")
    return attempts.groupby("subscription_id", sort=False).tail(1).set_index("subscription_id")


def paying_spans(
    subscriptions: pd.DataFrame,
    payments: pd.DataFrame,
    invoices: pd.DataFrame,
    dunning_actions: pd.DataFrame,
    tz: str,
) -> pd.DataFrame:
    """One row per subscription that ever paid: customer, currency, monthly amount, the
    paying days ``[start, end)`` (end NaN while it pays) and whether its end was
    involuntary (module doc)."""
    subs = subscriptions
    status = subs["status"].astype("string").str.lower()
    never = status.isin(NEVER_PAYING) | ((status == "paused") & (subs["provider"] == "stripe"))
    subs = subs[~never.to_numpy()]
    status = status[~never]
    start = instant_days(subs["start_at"], tz)
    trial = instant_days(subs["trial_end"], tz)
    start = np.where(~np.isnan(trial) & (trial > start), trial, start)
    end = instant_days(subs["ended_at"], tz)
    for column in ("cancel_at", "canceled_at"):
        dated = instant_days(subs[column], tz)
        end = np.where(np.isnan(end) & status.isin(UNDATED_END).to_numpy(), dated, end)
    last = last_attempts(payments, invoices)
    paid = payments[payments["status"].isin(SUCCEEDED)]
    paid_day = pd.Series(attempt_days(paid, tz), index=paid.index)
    last_paid = paid_day.groupby(paid["subscription_id"]).max()
    through = add_intervals(
        subs["subscription_id"].map(last_paid).to_numpy(dtype="float64", na_value=np.nan),
        subs["interval"].astype("string").fillna("month").to_numpy(dtype=object),
        subs["interval_count"].astype("Int64").fillna(1).to_numpy(dtype="int64"),
        1,
    )
    through = np.where(np.isnan(through), start, through)
    undated = np.isnan(end) & status.isin(UNDATED_END).to_numpy()
    end = np.where(undated, through, end)
    failed_last = subs["subscription_id"].map(last["status"]).eq("failed").fillna(False)
    terminal = dunning_actions[
        dunning_actions["action"].isin(TERMINAL_DUNNING) & (dunning_actions["status"] == "done")
    ]
    stopped = subs["subscription_id"].isin(terminal["subscription_id"].dropna())
    spans = pd.DataFrame(
        {
            "subscription_id": subs["subscription_id"].to_numpy(),
            "customer_id": subs["customer_id"].to_numpy(),
            "currency": subs["currency"].astype("string").to_numpy(),
            "monthly": monthly_amount(subs["amount"], subs["interval"], subs["interval_count"]),
            "start": start,
            "end": end,
            "involuntary": (failed_last | stopped).to_numpy(dtype=bool) & ~np.isnan(end),
        }
    )
    paying = ~np.isnan(spans["start"]) & ~(spans["end"] <= spans["start"])
    return spans[paying.to_numpy()].reset_index(drop=True)


def attempt_days(payments: pd.DataFrame, tz: str) -> Days:
    """The business day of each attempt: a direct debit's charge date, else its creation
    (read from ``attempt_day`` when :meth:`KpiInputs.with_days` computed it once)."""
    if "attempt_day" in payments.columns:
        return payments["attempt_day"].to_numpy(dtype="float64")
    charged = date_days(payments["charge_date"])
    return np.where(np.isnan(charged), instant_days(payments["created_at"], tz), charged)


def customer_events(spans: pd.DataFrame) -> pd.DataFrame:
    """Per customer, currency and day on which its MRR changes: the change, the MRR before
    and after, and the movement it is (module doc)."""
    keys = ["customer_id", "currency"]
    opened = spans[[*keys, "start", "monthly"]].rename(columns={"start": "day", "monthly": "delta"})
    ended = spans.dropna(subset=["end"])
    closed = ended[[*keys, "end"]].rename(columns={"end": "day"})
    closed = closed.assign(delta=-ended["monthly"].to_numpy(), involuntary=ended["involuntary"])
    events = pd.concat([opened.assign(involuntary=False), closed], ignore_index=True)
    events = events.groupby([*keys, "day"], sort=True, as_index=False).agg(
        delta=("delta", "sum"), involuntary=("involuntary", "any")
    )
    group = events.groupby(keys, sort=False)
    level = group["delta"].cumsum().to_numpy(dtype="int64")
    prev = level - events["delta"].to_numpy(dtype="int64")
    up = (prev == 0) & (level > 0)
    first_up = pd.Series(up).groupby([events[k] for k in keys]).cumsum().to_numpy() == 1
    kind = np.select(
        [
            up & first_up,
            up,
            (prev > 0) & (level == 0),
            (prev > 0) & (level > prev),
            (prev > 0) & (level > 0) & (level < prev),
        ],
        ["new", "reactivation", "churned", "expansion", "contraction"],
        default="",
    )
    amount = np.select(
        [kind == "churned", kind == "contraction"], [prev, prev - level], default=level - prev
    )
    return events.assign(level=level, prev=prev, kind=kind, amount=np.where(kind == "", 0, amount))


@dataclass(frozen=True)
class MrrSeries:
    """One currency's subscription series on an axis (arrays of ``axis.n`` values)."""

    mrr: np.ndarray
    movements: dict[str, np.ndarray]
    active_subscriptions: np.ndarray
    customers: np.ndarray
    customers_lost: np.ndarray  # month to date, among the month's opening customers
    customers_lost_involuntary: np.ndarray


def mrr_series(spans: pd.DataFrame, axis: Axis) -> dict[str, MrrSeries]:
    """Per currency, the MRR, movements and logo series of ``spans`` on ``axis``."""
    events = customer_events(spans)
    out = {}
    for currency in sorted(spans["currency"].dropna().unique()):
        mine = spans[spans["currency"] == currency]
        ev = events[events["currency"] == currency]
        out[str(currency)] = MrrSeries(
            mrr=_level(axis, ev["day"], ev["delta"]),
            movements={
                m: axis.flow(ev["day"], ev["amount"].where(ev["kind"] == m, 0)) for m in MOVEMENTS
            },
            active_subscriptions=axis.stock(
                mine["start"], mine["end"], np.ones(len(mine), "int64")
            ),
            customers=_level(
                axis, ev["day"], (ev["level"] > 0).astype(int) - (ev["prev"] > 0).astype(int)
            ),
            **_lost(ev, axis),
        )
    return out


def _level(axis: Axis, days: pd.Series, deltas: pd.Series) -> np.ndarray:
    """Running total of dated changes; changes before the axis count on its first day."""
    clipped = np.maximum(days.to_numpy(dtype="float64"), axis.first)
    return np.cumsum(axis.flow(clipped, deltas.to_numpy(dtype="int64")))


def _lost(ev: pd.DataFrame, axis: Axis) -> dict[str, np.ndarray]:
    """Month-to-date lost customers among those counted at the month's opening."""
    keys = [ev["customer_id"].to_numpy(), ev["currency"].to_numpy()]
    month = month_start(ev["day"].to_numpy(dtype="float64"))
    opening = pd.Series(ev["prev"].to_numpy() > 0).groupby([*keys, month]).transform("first")
    members = opening.to_numpy(dtype=bool)
    churn = (ev["kind"] == "churned").to_numpy()
    back = (ev["kind"] == "reactivation").to_numpy()
    churn_inv = pd.Series(np.where(churn, ev["involuntary"].to_numpy(dtype=float), np.nan))
    group_first = ~pd.DataFrame({"c": keys[0], "k": keys[1]}).duplicated().to_numpy()
    before = churn_inv.shift(1)
    before[group_first] = np.nan
    prior_inv = before.groupby(list(keys)).ffill().fillna(0).to_numpy()
    lost = np.where(members & churn, 1, 0) - np.where(members & back, 1, 0)
    inv = np.where(members & churn, churn_inv.fillna(0), 0) - np.where(members & back, prior_inv, 0)
    days = ev["day"].to_numpy(dtype="float64")
    return {
        "customers_lost": axis.month_to_date(axis.flow(days, lost)),
        "customers_lost_involuntary": axis.month_to_date(axis.flow(days, inv.astype("int64"))),
    }
