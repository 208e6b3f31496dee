"""Tonight's dunning decisions, from the reconciled state: :func:`decide`.

For an ``as_of`` night: find what is owed (:mod:`.items`), choose each item's ladder
and current step (:mod:`.ladder`), drop what an exclusion, an opt-out or a retry rule
forbids (:mod:`.checks`), and return the plan — one row per action, one notice per item
and step that writes to the customer (:mod:`.notices`), the pending notices to withdraw,
and what was not done and why. Pure: the same inputs and night give the same plan,
so a re-run, an operator's retry and a dry run all agree.

Example: a French consumer's invoice ``in_1`` of 49,90 € due 1 November, card declined
(``insufficient_funds``), nothing done yet; as of 2 November the default policy gives
two actions, ``dunning:in_1:reminder_1:email`` and ``dunning:in_1:reminder_1:retry_payment``
(idempotency key = that same string), and one notice ``dunning:in_1:reminder_1``
(template ``dunning_reminder_1``, French, sent from 09:00 Paris time).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from domain.dunning import checks, items, ladder
from domain.dunning.inputs import DunningInputs, text
from domain.dunning.model import ACTIONS, MAIL_ACTIONS, PROVIDER_ACTIONS, DunningPolicy
from domain.dunning.notices import build_notices
from domain.dunning.rates import LatePaymentRates
from domain.notice import Notice

ACTION_COLUMNS = (
    "dedupe_key",
    "invoice_id",
    "payment_id",
    "customer_id",
    "subscription_id",
    "provider",
    "ladder",
    "stage",
    "days_overdue",
    "action",
    "amount",
    "currency",
    "idempotency_key",
    "notice_key",
)
LIVE_SUBSCRIPTIONS = ("active", "past_due", "trialing", "unpaid")
ENDED_SUBSCRIPTIONS = ("canceled", "cancelled", "incomplete_expired", "finished", "ended")


@dataclass(frozen=True)
class DunningPlan:
    """What tonight's run does (``actions``, ``notices``), withdraws (``cancellations``)
    and leaves (``skipped``, one row per item and reason)."""

    actions: pd.DataFrame
    notices: list[Notice] = field(default_factory=list)
    cancellations: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["dedupe_key", "reason"])
    )
    skipped: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["item_id", "customer_id", "reason"])
    )

    def counts(self) -> dict[str, int]:
        """``{"email": 3, "retry_payment": 1, "notices": 3, "cancellations": 1,
        "skipped:hard_decline": 1, ...}`` (actions by type, skipped by reason)."""
        out = {str(k): int(v) for k, v in Counter(self.actions["action"]).items()}
        out["notices"] = len(self.notices)
        out["cancellations"] = len(self.cancellations)
        for reason, count in Counter(self.skipped["reason"]).items():
            out[f"skipped:{reason}"] = int(count)
        return dict(sorted(out.items()))


def decide(
    inputs: DunningInputs,
    policy: DunningPolicy,
    rates: LatePaymentRates,
    as_of: date,
    *,
    portal_url: str,
) -> DunningPlan:
    """Tonight's plan (see the module docstring)."""
    pay = items.payments(inputs, policy.timezone)
    owed, closed = items.build(inputs, policy, as_of, pay)
    owed = owed[owed["days_overdue"].ge(policy.earliest_day).fillna(False)]
    owed = ladder.assign_segments(owed.reset_index(drop=True), policy)
    done = ladder.taken(inputs, as_of)
    owed = ladder.current_stage(owed, policy, done)
    owed["excluded"] = checks.exclusion(owed, inputs, policy, as_of, pay)
    candidates = _candidates(owed, done)
    acts, skipped = _allowed(candidates, owed, inputs, policy, rates, as_of, done)
    plan_actions = _action_rows(acts)
    notices = build_notices(_writers(owed, acts), policy, rates, as_of, portal_url)
    cancellations = _cancellations(inputs, owed, closed, {n.dedupe_key for n in notices})
    return DunningPlan(plan_actions, notices, cancellations, skipped)


def _writers(owed: pd.DataFrame, acts: pd.DataFrame) -> pd.DataFrame:
    """The items that write to the customer tonight, with ``tonight``: all their actions
    tonight as one space-separated text (in the policy's action order)."""
    writing = set(acts.loc[acts["action"].isin(MAIL_ACTIONS), "item_id"])
    writers = owed[owed["item_id"].isin(writing)].copy()
    labels = np.full(len(writers), "", dtype=object)
    for action in ACTIONS:
        doing = set(acts.loc[acts["action"] == action, "item_id"])
        labels = labels + np.where(writers["item_id"].isin(doing), action + " ", "")
    writers["tonight"] = labels
    return writers.sort_values("item_id", kind="stable")


def _candidates(owed: pd.DataFrame, done: pd.DataFrame) -> pd.DataFrame:
    """(item, action) pairs the current step asks for tonight, not taken before."""
    firing = owed[owed["fires"].notna()][["item_id", "stage", "fires", "actions"]]
    pairs = firing.explode("actions").rename(columns={"actions": "action"})
    pairs = pairs[(pairs["fires"] == "new") | (pairs["action"] == "retry_payment")]
    pairs = pairs.assign(
        dedupe_key="dunning:" + pairs["item_id"] + ":" + pairs["stage"] + ":" + pairs["action"]
    )
    pairs = pairs[~pairs["dedupe_key"].isin(set(done["dedupe_key"]))]
    return pairs.reset_index(drop=True)


def _allowed(
    pairs: pd.DataFrame,
    owed: pd.DataFrame,
    inputs: DunningInputs,
    policy: DunningPolicy,
    rates: LatePaymentRates,
    as_of: date,
    done: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pairs that may run, and (item, customer, reason) for what may not."""
    rows = pairs.merge(owed.drop(columns=["stage", "fires", "actions"]), on="item_id")
    reason = pd.Series(pd.NA, index=rows.index, dtype="string")
    excluded = rows["excluded"]
    reason = reason.mask(excluded.notna() & (excluded != "hold:opt_out"), excluded)
    opted = (excluded == "hold:opt_out").fillna(False).astype(bool)
    allows = set(policy.exclusions.opt_out_allows)
    reason = reason.mask(reason.isna() & opted & ~rows["action"].isin(allows), "hold:opt_out")
    retry = rows["action"] == "retry_payment"
    refusal = checks.retry_refusal(rows, inputs, policy, as_of, done)
    reason = reason.mask(reason.isna() & retry, refusal)
    reason = reason.mask(reason.isna(), _not_applicable(rows, inputs, policy))
    legal = rows["segment"].map({s.name: s.legal_mentions for s in policy.segments})
    no_rate = not rates.has_rate_on(as_of)
    mail = rows["action"].isin(MAIL_ACTIONS)
    needs_rate = legal.fillna(False).astype(bool) & rows["is_business"] & mail
    reason = reason.mask(reason.isna() & needs_rate & no_rate, "missing_late_payment_rate")
    silent = reason.str.startswith("offer_not_allowed").fillna(False).astype(bool)
    shown = reason.notna() & ~silent
    refused = rows[shown].assign(reason=reason[shown])
    skipped = (
        refused[["item_id", "customer_id", "reason"]]
        .drop_duplicates()
        .sort_values(["item_id", "reason"], kind="stable")
        .reset_index(drop=True)
    )
    return rows[reason.isna()].reset_index(drop=True), skipped


def _not_applicable(rows: pd.DataFrame, inputs: DunningInputs, policy: DunningPolicy) -> pd.Series:
    """Actions that have nothing to act on for this item (``not_applicable:<action>``),
    and offers the segment does not make (``offer_not_allowed``, not reported)."""
    subs = inputs.table("subscriptions").drop_duplicates("subscription_id", keep="last")
    status = text(subs["status"]).groupby(text(subs["subscription_id"])).last()
    ending = subs["cancel_at_period_end"].astype("boolean").fillna(False)
    ending = ending.groupby(text(subs["subscription_id"])).last()
    sub_status = text(rows["subscription_id"].map(status))  # text even when none match
    live = sub_status.isin(LIVE_SUBSCRIPTIONS).fillna(False).astype(bool)
    open_sub = rows["subscription_id"].notna() & ~sub_status.isin(ENDED_SUBSCRIPTIONS).fillna(
        False
    ).astype(bool)
    already = rows["subscription_id"].map(ending).astype("boolean").fillna(False).astype(bool)
    action = rows["action"]
    out = pd.Series(pd.NA, index=rows.index, dtype="string")
    stripe = (rows["provider"] == "stripe").fillna(False).astype(bool)
    out = out.mask((action == "suspend") & ~(stripe & live), "not_applicable:suspend")
    out = out.mask(
        (action == "cancel_at_period_end") & ~(open_sub & ~already),
        "not_applicable:cancel_at_period_end",
    )
    uncollectible = stripe & (rows["kind"] == "invoice")
    out = out.mask(
        (action == "mark_uncollectible") & ~uncollectible, "not_applicable:mark_uncollectible"
    )
    debit_segments = [s.name for s in policy.segments if "direct_debit" in s.offers]
    split_segments = [s.name for s in policy.segments if "instalments" in s.offers]
    may_debit = rows["segment"].isin(debit_segments).fillna(False).astype(bool)
    may_debit &= (rows["method"] != "direct_debit").fillna(True).astype(bool)
    out = out.mask((action == "offer_direct_debit") & ~may_debit, "offer_not_allowed")
    minimum = rows["currency"].map(policy.instalments.minimum_amount).fillna(0)
    may_split = rows["segment"].isin(split_segments).fillna(False).astype(bool)
    may_split &= rows["amount"].ge(minimum).fillna(False).astype(bool)
    return out.mask((action == "offer_instalments") & ~may_split, "offer_not_allowed")


def _action_rows(acts: pd.DataFrame) -> pd.DataFrame:
    out = acts.sort_values(["item_id", "dedupe_key"], kind="stable").copy()
    out["idempotency_key"] = out["dedupe_key"].where(out["action"].isin(PROVIDER_ACTIONS))
    mail = out["action"].isin(MAIL_ACTIONS)
    out["notice_key"] = ("dunning:" + out["item_id"] + ":" + out["stage"]).where(mail)
    out["days_overdue"] = out["days_overdue"].astype("Int64")
    out["amount"] = out["amount"].astype("Int64")
    for column in ACTION_COLUMNS:
        if column not in out.columns:
            out[column] = pd.NA
    strings = {c: "string" for c in ACTION_COLUMNS if c not in ("days_overdue", "amount")}
    return out[list(ACTION_COLUMNS)].astype(strings).reset_index(drop=True)


def _cancellations(
    inputs: DunningInputs, owed: pd.DataFrame, closed: pd.DataFrame, tonight: set[str]
) -> pd.DataFrame:
    """Pending notices no longer due: the item is settled or excluded, or a later step's
    notice replaces it tonight."""
    pending = inputs.table("pending_notices")
    keys = text(pending["dedupe_key"])
    parts = keys.str.slice(len("dunning:")).str.rsplit(":", n=1, expand=True)
    if parts.shape[1] < 2:
        return pd.DataFrame(columns=["dedupe_key", "reason"])
    frame = pd.DataFrame({"dedupe_key": keys, "item_id": parts[0], "stage": parts[1]})
    frame = frame[keys.str.startswith("dunning:").fillna(False).astype(bool)]
    closed_reason = frame["item_id"].map(closed.set_index("item_id")["reason"]).astype("string")
    excluded = owed.set_index("item_id")["excluded"]
    reason = closed_reason.fillna(frame["item_id"].map(excluded).astype("string"))
    replaced = {key[len("dunning:") :].rsplit(":", 1)[0] for key in tonight}
    newer = frame["item_id"].isin(replaced) & ~frame["dedupe_key"].isin(tonight)
    reason = reason.mask(reason.isna() & newer, "superseded")
    out = frame[reason.notna()].assign(reason=reason[reason.notna()])[["dedupe_key", "reason"]]
    return out.sort_values("dedupe_key").reset_index(drop=True)
