"""Accounts receivable, every day at once: ageing, DSO, unpaid rate, payment delay.

**Receivable.** A finalised invoice (``open``, ``paid`` or ``uncollectible``; drafts and
voided invoices never were owed) is owed from its issue day (``issued_on``, else the
day it was finalised or created) until the day it was paid, or written off
(``marked_uncollectible_at``). While owed, it counts for ``amount_remaining`` if it is
still open or written off (a partial payment is left out), else for ``amount_due``.
It is due on ``due_on``, or on its issue day when it is charged automatically.
GoCardless payments have no invoice and are not receivables.

**Ageing** on day ``d``: days past due = ``d - due``, bucketed as not yet due (≤ 0),
1–30, 31–60, 61–90 and over 90 days.

**DSO** = receivables at the end of the day / amount invoiced over the 90 days ending on
it × 90 (the "accounts receivable / credit sales × days" definition).

**Unpaid rate** = of the invoices that reached 30 days past due within the last 30 days
(due 30 to 59 days before ``d``), the share of their amount due still unpaid on ``d``
(written-off invoices count as unpaid).

**Average payment delay** (month to date) = mean of ``paid day - due day`` over the
invoices paid since the first of the month, and the same weighted by amount. Negative
when customers pay early.

Example: an invoice of 120.00 issued and due on 1 March, paid on 4 April, is 1–30 days
past due on 31 March, counts 120.00 in the unpaid rate's numerator on 31 March only
(it reached 30 days past due that day) and adds a delay of 34 days in April.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from domain.kpis.days import Axis, date_days, instant_days

OWED = frozenset({"open", "paid", "uncollectible"})
BUCKETS = (
    ("ar_current", None, 0),
    ("ar_1_30", 1, 30),
    ("ar_31_60", 31, 60),
    ("ar_61_90", 61, 90),
    ("ar_over_90", 91, None),
)
DSO_WINDOW = 90
UNPAID_AFTER = 30


def receivables(invoices: pd.DataFrame, tz: str) -> pd.DataFrame:
    """One row per owed invoice: currency, amounts and the days that matter (module doc)."""
    inv = invoices[invoices["status"].isin(OWED)]
    issued = date_days(inv["issued_on"])
    for column in ("finalized_at", "created_at"):
        issued = np.where(np.isnan(issued), instant_days(inv[column], tz), issued)
    due = date_days(inv["due_on"])
    due = np.where(np.isnan(due), issued, due)
    status = inv["status"].to_numpy(dtype=object)
    is_paid = status == "paid"
    paid = np.where(is_paid, instant_days(inv["paid_at"], tz), np.nan)
    paid = np.where(is_paid & np.isnan(paid), issued, paid)
    written_off = np.where(
        status == "uncollectible", instant_days(inv["marked_uncollectible_at"], tz), np.nan
    )
    amount_due = inv["amount_due"].astype("Int64").fillna(inv["total"].astype("Int64"))
    remaining = inv["amount_remaining"].astype("Int64")
    outstanding = remaining.where(~pd.Series(is_paid, index=inv.index), amount_due)
    return pd.DataFrame(
        {
            "invoice_id": inv["invoice_id"].to_numpy(),
            "currency": inv["currency"].astype("string").to_numpy(),
            "amount_due": amount_due.fillna(0).to_numpy(dtype="int64"),
            "outstanding": outstanding.fillna(0).to_numpy(dtype="int64"),
            "issued": issued,
            "due": due,
            "paid": paid,
            "closed": np.where(np.isnan(paid), written_off, paid),
        }
    )


def receivable_series(owed: pd.DataFrame, axis: Axis) -> dict[str, dict[str, np.ndarray]]:
    """Per currency: the ageing buckets, the amounts behind DSO and the unpaid rate, and
    the sums behind the payment delay, one value per day of ``axis``."""
    out = {}
    for currency in sorted(owed["currency"].dropna().unique()):
        rows = owed[owed["currency"] == currency]
        issued, due = rows["issued"].to_numpy(), rows["due"].to_numpy()
        paid, closed = rows["paid"].to_numpy(), rows["closed"].to_numpy()
        owing, amount = rows["outstanding"].to_numpy(), rows["amount_due"].to_numpy()
        series = {}
        for name, lo, hi in BUCKETS:
            start = issued if lo is None else np.maximum(issued, due + lo)
            end = closed if hi is None else np.fmin(closed, due + hi + 1)
            series[name] = axis.stock(start, end, owing)
        series["ar_total"] = sum(series[name] for name, _, _ in BUCKETS)
        series["invoiced_90d"] = axis.trailing(axis.flow(issued, amount), DSO_WINDOW)
        reached, window_end = due + UNPAID_AFTER, due + 2 * UNPAID_AFTER
        series["unpaid_cohort"] = axis.stock(reached, window_end, amount)
        series["unpaid_amount"] = axis.stock(reached, np.fmin(window_end, paid), owing)
        delay = np.where(np.isnan(paid), 0, paid - due).astype("int64")
        series["paid_count"] = axis.month_to_date(axis.flow(paid, np.ones(len(rows), "int64")))
        series["delay_sum"] = axis.month_to_date(axis.flow(paid, delay))
        series["paid_amount"] = axis.month_to_date(axis.flow(paid, amount))
        series["delay_amount_sum"] = axis.month_to_date(axis.flow(paid, amount * delay))
        out[str(currency)] = series
    return out
