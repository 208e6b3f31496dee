"""What stops or narrows tonight's actions: exclusions, holds, and the retry rules.

**Exclusions** (the item gets nothing tonight, and its pending notices are withdrawn),
first that applies wins:

==========================  ===============================================================
``quarantined``             the invoice, a payment of it, the customer, the subscription
                            or the mandate is in quarantine (the data cannot be trusted)
``dispute_open``            the customer has a dispute still open on any payment
``hold:pause``              finance paused dunning for the customer or this item
``hold:promise_to_pay``     finance recorded a promise to pay; the hold runs to its date
``below_threshold``         the amount is below the policy's minimum for its currency
``too_old``                 more days overdue than ``max_days_overdue``: left to finance
                            (a first run never escalates a year-old debt unannounced)
==========================  ===============================================================

**Opt-out** (``hold:opt_out``) is narrower: the customer asked not to be written to, so
no e-mail of any kind goes out and no account action (suspension, cancellation) is taken
without the warning it would need; the actions in ``exclusions.opt_out_allows`` (by
default only the payment retry their card or mandate already authorises) still run.

**Payment retries** are refused, with the reason, when the last failure is a hard
decline listed in the policy (``stolen_card``, ``expired_card``…), when the payment is
not ``failed`` at GoCardless (a chargeback or a cancellation is not retried), when the
GoCardless mandate is not ``active``, when the provider's maximum of retries was reached
(earlier retries counted from the ledger), or, for a provider marked
``business_days_only``, on a weekend, a holiday or an avoided day of the month.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from domain.dunning.calendar import retry_day_problem
from domain.dunning.inputs import DunningInputs, day, instant, text
from domain.dunning.model import DunningPolicy

OPEN_DISPUTES = (
    "warning_needs_response",
    "warning_under_review",
    "needs_response",
    "under_review",
)
HOLD_ORDER = ("pause", "promise_to_pay", "opt_out")


def active_holds(inputs: DunningInputs, as_of: date) -> pd.DataFrame:
    """Holds in force on ``as_of``: not lifted, and ``until_on`` empty or not passed."""
    holds = inputs.table("holds")
    until = day(holds["until_on"])
    lifted = instant(holds["lifted_at"])
    live = lifted.isna() & (until.isna() | (until >= pd.Timestamp(as_of)))
    return pd.DataFrame(
        {
            "kind": text(holds["kind"]),
            "customer_id": text(holds["customer_id"]),
            "invoice_id": text(holds["invoice_id"]),
        }
    )[live.to_numpy()]


def hold_kind(items: pd.DataFrame, inputs: DunningInputs, as_of: date) -> pd.Series:
    """The strongest hold on each item (``pause`` > ``promise_to_pay`` > ``opt_out``).

    A hold without an invoice covers all of the customer's items; one with an invoice id
    covers that item (for a failed payment without invoice, finance enters the payment
    id in ``invoice_id``)."""
    holds = active_holds(inputs, as_of)
    rank = {kind: position for position, kind in enumerate(HOLD_ORDER)}
    holds = holds.assign(rank=holds["kind"].map(rank)).dropna(subset=["rank"])
    base = items[["item_id", "customer_id"]].reset_index()
    wide = base.merge(holds[holds["invoice_id"].isna()], on="customer_id")
    narrow = base.merge(
        holds[holds["invoice_id"].notna()].rename(columns={"invoice_id": "item_id"}),
        on=["item_id", "customer_id"],
    )
    both = pd.concat([wide, narrow])
    strongest = both.sort_values("rank").drop_duplicates("index").set_index("index")["kind"]
    return strongest.reindex(items.index).astype("string")


def exclusion(
    items: pd.DataFrame,
    inputs: DunningInputs,
    policy: DunningPolicy,
    as_of: date,
    pay: pd.DataFrame,
) -> pd.Series:
    """Each item's exclusion reason (see the module table), NA when none applies;
    ``hold:opt_out`` marks the narrower opt-out."""
    reason = pd.Series(pd.NA, index=items.index, dtype="string")
    parked = set(text(inputs.table("quarantined")["object_id"]).dropna())
    parked_invoices = set(pay.loc[pay["payment_id"].isin(parked), "invoice_id"].dropna())
    touched = items["item_id"].isin(parked) | items["invoice_id"].isin(parked_invoices)
    for column in ("invoice_id", "payment_id", "customer_id", "subscription_id", "mandate_id"):
        touched |= items[column].isin(parked).fillna(False).astype(bool)
    reason = reason.mask(touched, "quarantined")
    if policy.exclusions.open_dispute:
        disputes = inputs.table("disputes")
        still_open = text(disputes["status"]).isin(OPEN_DISPUTES)
        open_ids = set(text(disputes.loc[still_open, "payment_id"]).dropna())
        disputing = set(pay.loc[pay["payment_id"].isin(open_ids), "customer_id"].dropna())
        hit = reason.isna() & items["customer_id"].isin(disputing).fillna(False).astype(bool)
        reason = reason.mask(hit, "dispute_open")
    held = hold_kind(items, inputs, as_of)
    for kind in HOLD_ORDER:
        reason = reason.mask(reason.isna() & (held == kind).fillna(False), f"hold:{kind}")
    minimum = items["currency"].map(policy.minimum_amount).fillna(0)
    low = reason.isna() & items["amount"].lt(minimum).fillna(False).astype(bool)
    reason = reason.mask(low, "below_threshold")
    oldest = policy.exclusions.max_days_overdue
    if oldest is not None:
        old = reason.isna() & items["days_overdue"].gt(oldest).fillna(False).astype(bool)
        reason = reason.mask(old, "too_old")
    return reason


def retry_refusal(
    items: pd.DataFrame,
    inputs: DunningInputs,
    policy: DunningPolicy,
    as_of: date,
    done: pd.DataFrame,
) -> pd.Series:
    """Why a payment retry may not run tonight for each item, NA where it may."""
    reason = pd.Series(pd.NA, index=items.index, dtype="string")
    reason = reason.mask(items["payment_id"].isna(), "nothing_to_retry")
    rules = {"stripe": policy.retries.stripe, "gocardless": policy.retries.gocardless}
    hard = pd.Series(False, index=items.index)
    for provider, rule in rules.items():
        codes = set(rule.hard_declines)
        mine = items["provider"] == provider
        hard |= (
            (mine & (items["decline_code"].isin(codes) | items["failure_code"].isin(codes)))
            .fillna(False)
            .astype(bool)
        )
    reason = reason.mask(reason.isna() & hard, "hard_decline")
    gocardless = (items["provider"] == "gocardless").fillna(False).astype(bool)
    not_failed = gocardless & (items["payment_status"] != "failed").fillna(True).astype(bool)
    reason = reason.mask(reason.isna() & not_failed, "payment_not_failed")
    mandates = inputs.table("mandates")
    mandate_status = text(mandates["status"]).groupby(text(mandates["mandate_id"])).last()
    subs = inputs.table("subscriptions")
    sub_mandate = text(subs["mandate_status"]).groupby(text(subs["subscription_id"])).last()
    status = items["mandate_id"].map(mandate_status).astype("string")
    status = status.fillna(items["subscription_id"].map(sub_mandate).astype("string"))
    inactive = gocardless & (status != "active").fillna(True).astype(bool)
    reason = reason.mask(reason.isna() & inactive, "mandate_not_active")
    retries = done[done["action"] == "retry_payment"].groupby("item_id")["dedupe_key"].nunique()
    count = items["item_id"].map(retries).fillna(0)
    limit = items["provider"].map({p: r.max_retries for p, r in rules.items()}).fillna(0)
    reason = reason.mask(reason.isna() & (count >= limit).astype(bool), "retries_exhausted")
    if retry_day_problem(policy.retries.calendar, as_of) is not None:
        strict = [p for p, rule in rules.items() if rule.business_days_only]
        waiting = items["provider"].isin(strict).fillna(False).astype(bool)
        reason = reason.mask(reason.isna() & waiting, "not_a_retry_day")
    return reason
