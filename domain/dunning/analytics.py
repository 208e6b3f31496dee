"""Recovery analytics (table ``dunning_recovery``): what failed, and what came back.

Every failure is counted once, in the month it happened — recoveries are credited to
the month of the failure, not of the payment:

- an invoice fails on the day its first payment fails, or the day after its due date
  when it was not paid by then (void and draft invoices are left out);
- a collection without invoice (GoCardless) fails on the day it failed; one that a
  retry has since collected is known from the dunning ledger.

It is **recovered** when it was paid since (invoice ``paid``, a succeeded payment
linked to it, the failed debit now collected, or a later success on the same
subscription), on or before ``as_of``. Each failure is grouped by the last dunning
**stage** reached before recovery (``none`` if none) and by **channel**: ``retry``
when one of our payment retries collected it (a retry done on the day of the
recovery, or up to 7 days before for a direct debit, which takes days to confirm),
``reminder`` when it was paid after an action of ours otherwise, ``none`` when it was
paid before any action, ``open`` while not recovered. Time to recovery is bucketed
0–7, 8–30 and over 30 days.

Example: invoice ``in_1`` (49,90 €) fails on 30 October, gets ``reminder_1`` on
31 October and is paid on 3 November: it counts in ``2026-10``, stage ``reminder_1``,
channel ``reminder``, recovered within 7 days.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from domain.dunning import items as owed
from domain.dunning.inputs import DunningInputs, day, local_day, text, whole
from domain.dunning.ladder import TAKEN

RECOVERY_COLUMNS = (
    "failure_month",
    "provider",
    "stage",
    "channel",
    "currency",
    "failed_count",
    "failed_amount",
    "recovered_count",
    "recovered_amount",
    "recovery_rate",
    "recovered_within_7d",
    "recovered_within_30d",
    "recovered_after_30d",
    "as_of",
)
RETRY_WINDOW_DAYS = {"stripe": 1, "gocardless": 7}
KEY = ["failure_month", "provider", "stage", "channel", "currency"]


def recovery(inputs: DunningInputs, as_of: date, *, timezone: str = "Europe/Paris") -> pd.DataFrame:
    """``dunning_recovery`` rows as of ``as_of`` (see the module docstring)."""
    return grouped(failures(inputs, as_of, timezone=timezone), as_of)


def failures(inputs: DunningInputs, as_of: date, *, timezone: str = "Europe/Paris") -> pd.DataFrame:
    """Each failure (one row per item) with its month's day, stage, channel and recovery:
    what :func:`grouped` sums. In two steps, :func:`failure_facts` then
    :func:`dated_failures`, so that a big shop's failures can be found one customer
    partition at a time, by the very reads that decide tonight's dunning, and dated
    once against the ledger after tonight's actions (tasks/dunning.py)."""
    facts = failure_facts(inputs, as_of, timezone=timezone)
    return dated_failures(facts, inputs.table("history"), as_of)


def failure_facts(
    inputs: DunningInputs, as_of: date, *, timezone: str = "Europe/Paris"
) -> pd.DataFrame:
    """The failures as the synced tables tell them, before the dunning ledger is read:
    every invoice that failed by ``as_of``, and every collection (a payment without
    invoice) with its failure day when it is failed now; one collected since is dated
    from the ledger by :func:`dated_failures`. Tonight's actions change only the ledger,
    so these can be found before them."""
    night = pd.Timestamp(as_of)
    pay = owed.payments(inputs, timezone)
    invoices = _invoices(inputs, pay, timezone)
    invoices = invoices[invoices["failed_on"].notna() & (invoices["failed_on"] <= night)]
    return pd.concat([invoices, _collections(pay)], ignore_index=True)


def dated_failures(facts: pd.DataFrame, history: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """:func:`failure_facts` (of one or several partitions, the first of an item kept)
    with the ledger ``history`` (``dunning_actions`` rows): collections dated, the
    failures after ``as_of`` left out, stage and channel added."""
    night = pd.Timestamp(as_of)
    ledger = _ledger(history, night)
    found = facts.drop_duplicates("item_id").reset_index(drop=True)
    # The due day the ledger saw (as_of - days_overdue) dates a failure since collected.
    seen = ledger.assign(due=ledger["as_of"] - pd.to_timedelta(ledger["days_overdue"], unit="D"))
    first_seen = _lookup(found["item_id"], seen.groupby("item_id")["due"].min())
    found["failed_on"] = found["failed_on"].fillna(first_seen.where(found["kind"] == "payment"))
    found = found[found["failed_on"].notna() & (found["failed_on"] <= night)]
    found = found.reset_index(drop=True)
    found["recovered_on"] = found["recovered_on"].where(found["recovered_on"] <= night)
    return _stage_and_channel(found, ledger)


def _ledger(history: pd.DataFrame, night: pd.Timestamp) -> pd.DataFrame:
    key = text(history["dedupe_key"]).str.slice(len("dunning:"))
    parts = key.str.rsplit(":", n=2, expand=True)
    if parts.shape[1] < 3:
        parts = pd.DataFrame(columns=[0, 1, 2], index=history.index, dtype="string")
    out = pd.DataFrame(
        {
            "item_id": parts[0].astype("string"),
            "stage": text(history["stage"]).fillna(parts[1].astype("string")),
            "action": text(history["action"]).fillna(parts[2].astype("string")),
            "as_of": day(history["as_of"]),
            "days_overdue": whole(history["days_overdue"]),
            "status": text(history["status"]),
        }
    )
    keep = out["status"].isin(TAKEN) & (out["as_of"] <= night).fillna(False)
    return out[keep.astype(bool)].reset_index(drop=True)


def _invoices(inputs: DunningInputs, pay: pd.DataFrame, tz: str) -> pd.DataFrame:
    inv = inputs.table("invoices").drop_duplicates("invoice_id", keep="last")
    inv = inv[~text(inv["status"]).isin(["void", "draft"]).fillna(True).astype(bool)]
    ids = text(inv["invoice_id"])
    linked = pay[pay["invoice_id"].notna()]
    first_failure = linked[linked["status"].isin(owed.FAILED)].groupby("invoice_id")["day"].min()
    paid_on = local_day(inv["paid_at"], tz)
    due = day(inv["due_on"])
    late = due.notna() & (paid_on.isna() | (paid_on > due))
    overdue = (due + pd.Timedelta(days=1)).where(late)
    failed_on = pd.concat([_lookup(ids, first_failure), overdue], axis=1).min(axis=1)
    paid_pay = linked[linked["status"].isin(owed.PAID)].groupby("invoice_id")["paid_day"].min()
    settled = text(inv["status"]) == "paid"
    recovered_on = paid_on.where(settled).fillna(_lookup(ids, paid_pay))
    amount = whole(inv["amount_due"]).fillna(whole(inv["total"]))
    return pd.DataFrame(
        {
            "item_id": ids,
            "kind": "invoice",
            "provider": text(inv["provider"]),
            "currency": text(inv["currency"]).str.upper(),
            "amount": amount,
            "failed_on": failed_on.astype("datetime64[us]"),
            "recovered_on": recovered_on.astype("datetime64[us]"),
        }
    )


def _collections(pay: pd.DataFrame) -> pd.DataFrame:
    """Payments without invoice (GoCardless, or a subscription's): failed now (dated), or
    anything else (dated by the ledger if it ever saw them overdue)."""
    unbilled = pay["invoice_id"].isna() & (
        (pay["provider"] == "gocardless") | pay["subscription_id"].notna()
    )
    rows = pay[unbilled]
    failed_on = rows["day"].where(rows["status"].isin(owed.FAILED))
    ok = pay[pay["status"].isin(owed.PAID) & pay["subscription_id"].notna()]
    later = rows[["payment_id", "subscription_id", "currency", "created_at"]].merge(
        ok[["subscription_id", "currency", "created_at", "paid_day"]],
        on=["subscription_id", "currency"],
        suffixes=("", "_ok"),
    )
    later = later[later["created_at_ok"] > later["created_at"]]
    by_later = later.groupby("payment_id")["paid_day"].min()
    recovered_on = rows["paid_day"].where(rows["status"].isin(owed.PAID))
    recovered_on = recovered_on.fillna(_lookup(rows["payment_id"], by_later))
    return pd.DataFrame(
        {
            "item_id": rows["payment_id"],
            "kind": "payment",
            "provider": rows["provider"],
            "currency": rows["currency"],
            "amount": rows["amount"],
            "failed_on": failed_on.astype("datetime64[us]"),
            "recovered_on": recovered_on.astype("datetime64[us]"),
        }
    )


def _stage_and_channel(failures: pd.DataFrame, ledger: pd.DataFrame) -> pd.DataFrame:
    out = failures.copy()
    horizon = out.set_index("item_id")["recovered_on"]
    acts = ledger.merge(out[["item_id"]], on="item_id")
    limit = _lookup(acts["item_id"], horizon)
    acts = acts[limit.isna() | (acts["as_of"] <= limit)]
    last = acts.sort_values(["as_of", "days_overdue"], kind="stable").drop_duplicates(
        "item_id", keep="last"
    )
    stages = out["item_id"].map(last.set_index("item_id")["stage"]).astype("string")
    out["stage"] = stages.fillna("none")
    retries = acts[(acts["action"] == "retry_payment") & (acts["status"] == "done")]
    last_retry = retries.groupby("item_id")["as_of"].max()
    window = out["provider"].map(RETRY_WINDOW_DAYS).astype("float64").fillna(1)
    gap = (out["recovered_on"] - _lookup(out["item_id"], last_retry)).dt.days
    by_retry = gap.ge(0).fillna(False) & gap.le(window).fillna(False)
    recovered = out["recovered_on"].notna()
    channel = pd.Series("open", index=out.index, dtype="string")
    channel = channel.mask(recovered, "reminder")
    channel = channel.mask(recovered & (out["stage"] == "none"), "none")
    out["channel"] = channel.mask(recovered & by_retry.astype(bool), "retry")
    ttr = (out["recovered_on"] - out["failed_on"]).dt.days
    out["recovered"] = recovered
    out["within_7d"] = recovered & ttr.le(7).fillna(False)
    out["within_30d"] = recovered & ttr.gt(7).fillna(False) & ttr.le(30).fillna(False)
    out["after_30d"] = recovered & ttr.gt(30).fillna(False)
    return out


def grouped(failures: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """The ``dunning_recovery`` rows: :func:`failures` summed per month, provider, stage,
    channel and currency."""
    if failures.empty:
        return pd.DataFrame(columns=list(RECOVERY_COLUMNS))
    frame = failures.assign(
        failure_month=failures["failed_on"].dt.strftime("%Y-%m"),
        recovered_amount=failures["amount"].where(failures["recovered"], 0),
    )
    grouped = frame.groupby(KEY, sort=True).agg(
        failed_count=("item_id", "size"),
        failed_amount=("amount", "sum"),
        recovered_count=("recovered", "sum"),
        recovered_amount=("recovered_amount", "sum"),
        recovered_within_7d=("within_7d", "sum"),
        recovered_within_30d=("within_30d", "sum"),
        recovered_after_30d=("after_30d", "sum"),
    )
    out = grouped.reset_index()
    for column in RECOVERY_COLUMNS[5:13]:
        if column != "recovery_rate":
            out[column] = out[column].astype("int64")
    out["recovery_rate"] = [
        _rate(int(got), int(lost))
        for got, lost in zip(out["recovered_amount"], out["failed_amount"], strict=True)
    ]
    out["as_of"] = as_of
    return out[list(RECOVERY_COLUMNS)]


def _lookup(keys: pd.Series, table: pd.Series) -> pd.Series:
    """``keys.map(table)`` that keeps ``table``'s dtype (dates) even when it is empty."""
    values = table[~table.index.duplicated()].reindex(keys.to_numpy()).to_numpy()
    return pd.Series(values, index=keys.index, dtype=table.dtype)


def _rate(recovered: int, failed: int) -> Decimal | None:
    """``recovered / failed`` to 6 places (NULL when nothing failed)."""
    if failed == 0:
        return None
    return (Decimal(recovered) / Decimal(failed)).quantize(Decimal("0.000001"), ROUND_HALF_UP)
