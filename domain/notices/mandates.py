"""Direct-debit mandate problems: an active GoCardless subscription cannot be collected
without an active mandate.

The mandate's status is read from ``mandates`` (kept current by its own events) and,
for a mandate not synced there, from the status stored on the subscription. A status in
``mandate_problem.statuses`` (default ``cancelled``, ``expired``, ``failed``) on an
``active`` subscription gets one notice per mandate and status, asking for a new mandate
before the next charge: ``mandate_problem:{mandate}:{status}``. Example: mandate MD01
cancelled by the bank, monthly subscription next charging 18 July -> one notice naming
18 July; the same mandate later ``expired`` would be a second decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pandas as pd

from domain.notice import Notice
from domain.notices.common import Customer, Decided, ids, present, rows, send_after, text, whole
from domain.notices.periods import renewal_on
from domain.notices.policy import NoticePolicy


def mandate_problem_notices(
    subs: pd.DataFrame,
    mandates: pd.DataFrame,
    customers: Mapping[str, Customer],
    as_of: date,
    policy: NoticePolicy,
) -> list[Decided]:
    """Active GoCardless subscriptions whose mandate can no longer be charged."""
    current = dict(zip(mandates["mandate_id"], mandates["status"], strict=True))
    chosen = subs[(subs["provider"] == "gocardless") & (subs["status"] == "active")]
    out = []
    for sub in rows(chosen):
        customer = customers.get(str(sub.customer_id))
        if customer is None or not present(sub.mandate_id):
            continue
        mandate = str(sub.mandate_id)
        status = current.get(mandate, sub.mandate_status)
        if not present(status) or str(status) not in policy.mandate_problem.statuses:
            continue
        charge = renewal_on(sub, as_of, policy.timezone)
        notice = Notice(
            dedupe_key=f"mandate_problem:{mandate}:{status}",
            kind="mandate_problem",
            template="mandate_problem",
            locale=customer.locale,
            planned_for=as_of,
            context={
                "plan": text(sub.description) or str(sub.subscription_id),
                "mandate_status": str(status),
                "next_charge_on": charge.isoformat() if charge else None,
                "amount": whole(sub.amount),
                "currency": str(sub.currency),
                "mandate_url": policy.portal_url,
            },
            stage=str(status),
            customer_id=customer.customer_id,
            subscription_id=str(sub.subscription_id),
            send_after=send_after(as_of, policy),
        )
        out.append(Decided(notice, ids(sub.subscription_id, sub.customer_id, mandate)))
    return out
