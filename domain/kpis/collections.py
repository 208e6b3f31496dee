"""Payments that fail, and what comes back: failed-payment rate, recovery, cash in.

**Failed-payment rate** (month to date) = recurring first attempts that failed /
recurring first attempts that have an outcome. A recurring attempt is a payment tied to
a subscription (directly, or through its invoice); the first attempt on an invoice is
its earliest charge, and each GoCardless payment is its own (GoCardless retries keep
the payment's id, so a failure retried into success is not seen). Its day is the
direct debit's charge date, else its creation day. A refunded or disputed payment had
succeeded.

**Recovery** (credited to the month of failure, as Recurly and Stripe report it, and
counted as ``dunning_recovery`` counts it). What failed: an invoice, on the day of its
first failed charge or the day after it fell due unpaid (paid late or never), or a
payment without an invoice that failed or that dunning acted on. Recovered: the invoice
was paid (on its payment day); the payment succeeded after dunning retried it (on the
retry's day), or a later payment of the same subscription succeeded (on its day). The
rate on day ``d`` = amount recovered by ``d`` / amount failed, over what failed since
the first of ``d``'s month. The *stage* of a recovery is the last
dunning stage acted on by the day it was recovered (``none`` if dunning never acted,
``open`` while unrecovered).

**Cash in**: ``collected`` is the amount of succeeded attempts by day, ``refunded`` the
refunds created that day (a partial refund leaves its payment succeeded and its
invoice paid).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from domain.kpis.days import Axis, date_days, instant_days, month_end
from domain.kpis.mrr import SUCCEEDED, attempt_days
from domain.kpis.receivables import receivables

REFUND_FAILED = frozenset({"failed", "canceled", "cancelled"})


def first_attempts(payments: pd.DataFrame, invoices: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Recurring first attempts with an outcome: currency, day and whether they failed."""
    via_invoice = invoices.set_index("invoice_id")["subscription_id"]
    linked = payments["subscription_id"].fillna(payments["invoice_id"].map(via_invoice))
    recurring = payments.assign(_day=attempt_days(payments, tz))[linked.notna().to_numpy()]
    recurring = recurring.sort_values(["_day", "created_at"], kind="stable")
    on_invoice = recurring["invoice_id"].notna()
    first = ~recurring["invoice_id"].duplicated() | ~on_invoice
    attempts = recurring[first.to_numpy()]
    known = attempts["status"].isin(SUCCEEDED | {"failed", "charged_back"})
    attempts = attempts[known.to_numpy()]
    return pd.DataFrame(
        {
            "currency": attempts["currency"].astype("string").to_numpy(),
            "day": attempts["_day"].to_numpy(),
            "failed": (attempts["status"] == "failed").to_numpy(dtype=bool),
        }
    )


def failures(
    payments: pd.DataFrame,
    invoices: pd.DataFrame,
    dunning_actions: pd.DataFrame,
    tz: str,
    *,
    owed: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """What failed and whether it came back: one row per invoice or invoice-less payment
    (module doc), with its amount, failure day, recovery day (NaN) and stage. ``owed``:
    the :func:`receivables` of ``invoices`` when the caller already has them."""
    days = pd.Series(attempt_days(payments, tz), index=payments.index)
    failed = payments["status"] == "failed"
    first_failed = (
        days[failed & payments["invoice_id"].notna()].groupby(payments["invoice_id"]).min()
    )
    owed = (receivables(invoices, tz) if owed is None else owed).set_index("invoice_id")
    charged = owed.index.map(first_failed).to_numpy(dtype="float64", na_value=np.nan)
    due, paid = owed["due"].to_numpy(), owed["paid"].to_numpy()
    overdue = np.where(np.isnan(paid) | (paid > due), due + 1, np.nan)
    by_invoice = pd.DataFrame(
        {
            "unit": owed.index.to_numpy(),
            "currency": owed["currency"].to_numpy(),
            "amount": owed["amount_due"].to_numpy(),
            "failed": np.fmin(charged, overdue),
            "recovered": paid,
        }
    ).dropna(subset=["failed"])
    acted = dunning_actions.dropna(subset=["payment_id"])
    retried = instant_days(acted["executed_at"], tz)
    retry_day = pd.Series(retried, index=acted.index).groupby(acted["payment_id"]).max()
    loose = payments[
        payments["invoice_id"].isna() & (failed | payments["payment_id"].isin(acted["payment_id"]))
    ]
    loose_days = days[loose.index].to_numpy()
    came_back = loose["status"].isin(SUCCEEDED).to_numpy()
    back_on = loose["payment_id"].map(retry_day).to_numpy(dtype="float64", na_value=np.nan)
    back_on = np.where(came_back, np.fmax(back_on, loose_days), np.nan)
    later = _later_success(payments, days, loose, loose_days)
    by_payment = pd.DataFrame(
        {
            "unit": loose["payment_id"].to_numpy(),
            "currency": loose["currency"].astype("string").to_numpy(),
            "amount": loose["amount"].astype("Int64").fillna(0).to_numpy(dtype="int64"),
            "failed": loose_days,
            "recovered": np.fmin(back_on, later),
        }
    )
    units = pd.concat([by_invoice, by_payment], ignore_index=True)
    return units.assign(stage=_stages(units, dunning_actions, tz))


def _later_success(
    payments: pd.DataFrame, days: pd.Series, loose: pd.DataFrame, loose_days: np.ndarray
) -> np.ndarray:
    """Per failed invoice-less payment: the day of the next succeeded payment of the same
    subscription (a direct debit collected on a later charge), NaN if none."""
    ok = payments[payments["status"].isin(SUCCEEDED) & payments["subscription_id"].notna()]
    successes = pd.DataFrame(
        {"subscription_id": ok["subscription_id"].to_numpy(), "ok_day": days[ok.index].to_numpy()}
    )
    failed = pd.DataFrame(
        {"subscription_id": loose["subscription_id"].to_numpy(), "day": loose_days}
    ).reset_index(drop=True)
    pairs = failed.reset_index().merge(successes, on="subscription_id", how="inner")
    pairs = pairs[pairs["ok_day"] > pairs["day"]]
    first = pairs.groupby("index")["ok_day"].min()
    out = np.full(len(failed), np.nan)
    out[first.index.to_numpy(dtype="int64")] = first.to_numpy(dtype="float64")
    return out


def _stages(units: pd.DataFrame, actions: pd.DataFrame, tz: str) -> np.ndarray:
    """The last dunning stage acted on by each recovery day (``none``), ``open`` if none."""
    stage = np.where(np.isnan(units["recovered"].to_numpy(dtype="float64")), "open", "none")
    if actions.empty or units.empty:
        return stage.astype(object)
    unit = actions["invoice_id"].fillna(actions["payment_id"])
    acted = pd.DataFrame(
        {"unit": unit, "acted": date_days(actions["as_of"]), "stage": actions["stage"]}
    ).dropna(subset=["unit"])
    merged = units[["unit", "recovered"]].reset_index().merge(acted, on="unit", how="inner")
    merged = merged[merged["acted"] <= merged["recovered"]].sort_values("acted", kind="stable")
    last = merged.groupby("index")["stage"].last()
    out = pd.Series(stage, dtype=object)
    out.loc[last.index] = last.to_numpy()
    return out.to_numpy(dtype=object)


def recovery_series(units: pd.DataFrame, axis: Axis) -> dict[str, dict[str, np.ndarray]]:
    """Per currency: failed and recovered amounts of the month-to-date failure cohort."""
    out = {}
    for currency in sorted(units["currency"].dropna().unique()):
        rows = units[units["currency"] == currency]
        failed, recovered = rows["failed"].to_numpy(), rows["recovered"].to_numpy()
        closes = month_end(failed) + 1
        amount = rows["amount"].to_numpy(dtype="int64")
        out[str(currency)] = {
            "failed_amount": axis.stock(failed, closes, amount),
            "recovered_amount": axis.stock(np.maximum(failed, recovered), closes, amount),
        }
    return out


def attempt_series(attempts: pd.DataFrame, axis: Axis) -> dict[str, dict[str, np.ndarray]]:
    """Per currency: month-to-date recurring first attempts, and those that failed."""
    out = {}
    for currency in sorted(attempts["currency"].dropna().unique()):
        rows = attempts[attempts["currency"] == currency]
        ones = np.ones(len(rows), "int64")
        out[str(currency)] = {
            "recurring_attempts": axis.month_to_date(axis.flow(rows["day"], ones)),
            "recurring_failed": axis.month_to_date(
                axis.flow(rows["day"], rows["failed"].astype("int64"))
            ),
        }
    return out


def cash_series(
    payments: pd.DataFrame, refunds: pd.DataFrame, axis: Axis, tz: str
) -> dict[str, dict[str, np.ndarray]]:
    """Per currency and day: amounts collected (succeeded attempts) and refunded."""
    paid = payments[payments["status"].isin(SUCCEEDED).to_numpy()]
    paid_days = attempt_days(paid, tz)
    given = refunds[~refunds["status"].isin(REFUND_FAILED).to_numpy()]
    given_days = instant_days(given["created_at"], tz)
    currencies = set(paid["currency"].dropna()) | set(given["currency"].dropna())
    out = {}
    for currency in sorted(currencies):
        mine = (paid["currency"] == currency).to_numpy()
        back = (given["currency"] == currency).to_numpy()
        out[str(currency)] = {
            "collected": axis.flow(paid_days[mine], paid["amount"].to_numpy(dtype="int64")[mine]),
            "refunded": axis.flow(given_days[back], given["amount"].to_numpy(dtype="int64")[back]),
        }
    return out


def recovery_by_stage(units: pd.DataFrame) -> pd.DataFrame:
    """What failed, per month of failure, currency and recovery stage: count and amount.

    ``stage`` is the last dunning stage acted on before the recovery, ``none`` when it
    came back before any dunning action, ``open`` while it has not come back.
    """
    columns = ["failure_month", "currency", "stage", "count", "amount"]
    if units.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    month = (
        units["failed"].to_numpy().astype("int64").astype("datetime64[D]").astype("datetime64[M]")
    )
    frame = units.assign(failure_month=month.astype(str))
    out = frame.groupby(["failure_month", "currency", "stage"], as_index=False).agg(
        count=("amount", "size"), amount=("amount", "sum")
    )
    return out[columns].sort_values(["failure_month", "currency", "stage"], ignore_index=True)
