"""Trial endings: tell a customer before the first charge of a trial that converts.

A ``trialing`` subscription that is not set to end, whose trial ends ``T`` (its business
date) within a ``days_ahead`` stage (default 7 days), gets one notice per stage:
``trial_ending:{subscription}:{T}:{stage}``. The day the trial ends still counts (the
charge comes at the trial's end time, after the morning's mail). Example: trial ends
4 July 2026, as_of 30 June -> 4 days left, stage 7: one notice; 1 July: same key, none.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pandas as pd

from domain.notice import Notice
from domain.notices.calendar import local_day
from domain.notices.common import Customer, Decided, ids, present, rows, send_after, text, whole
from domain.notices.periods import stage, will_renew
from domain.notices.policy import NoticePolicy


def trial_ending_notices(
    subs: pd.DataFrame,
    customers: Mapping[str, Customer],
    as_of: date,
    policy: NoticePolicy,
) -> list[Decided]:
    """Trials ending within a stage of ``trial_ending.days_ahead``."""
    out = []
    for sub in rows(subs[subs["status"] == "trialing"]):
        customer = customers.get(str(sub.customer_id))
        ends = local_day(sub.trial_end, policy.timezone)
        if customer is None or ends is None or not will_renew(sub):
            continue
        ahead = stage((ends - as_of).days, policy.trial_ending.days_ahead, minimum=0)
        if ahead is None:
            continue
        has_method = present(sub.payment_method_id) or present(sub.mandate_id)
        notice = Notice(
            dedupe_key=f"trial_ending:{sub.subscription_id}:{ends.isoformat()}:{ahead}",
            kind="trial_ending",
            template="trial_ending",
            locale=customer.locale,
            planned_for=as_of,
            context={
                "plan": text(sub.description) or str(sub.subscription_id),
                "trial_ends_on": ends.isoformat(),
                "amount": whole(sub.amount),
                "currency": str(sub.currency),
                "interval": text(sub.interval),
                "has_payment_method": bool(has_method),
                "manage_url": policy.portal_url,
            },
            stage=str(ahead),
            customer_id=customer.customer_id,
            subscription_id=str(sub.subscription_id),
            send_after=send_after(as_of, policy),
        )
        out.append(Decided(notice, ids(sub.subscription_id, sub.customer_id)))
    return out
