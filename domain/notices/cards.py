"""Expiring cards: a card that lapses before the next charge fails that charge.

A card is valid through the last day of its expiry month (``calendar.month_end``). For
a subscription charged automatically by card that will renew, the next charge is the
trial's end (trialing) or the next renewal; when the card lapses before it and that
charge is at most ``card_expiring.days_ahead`` days away (default 30), the customer is
asked to update the card, once per card and expiry:
``card_expiring:{payment method}:{YYYY-MM}`` (two subscriptions on one card: one mail).
Example: card 07/2026, monthly renewal on 16 August 2026: from 17 July one notice;
renewal on 16 July: nothing (the card still works that day).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pandas as pd

from domain.notice import Notice
from domain.notices.calendar import local_day, month_end
from domain.notices.common import Customer, Decided, ids, present, rows, send_after, text, whole
from domain.notices.periods import renewal_on, will_renew
from domain.notices.policy import NoticePolicy


def next_charge_on(sub: object, as_of: date, timezone: str) -> date | None:
    """The trial's end for a trial still running, else the next renewal."""
    if str(getattr(sub, "status", "")) == "trialing":
        ends = local_day(getattr(sub, "trial_end", None), timezone)
        if ends is not None and ends >= as_of:
            return ends
    return renewal_on(sub, as_of, timezone)


def card_expiring_notices(
    subs: pd.DataFrame,
    customers: Mapping[str, Customer],
    as_of: date,
    policy: NoticePolicy,
) -> list[Decided]:
    """Cards lapsing before a charge due within ``card_expiring.days_ahead`` days."""
    cards = subs[subs["card_exp_month"].notna() & subs["card_exp_year"].notna()]
    cards = cards[cards["collection_method"].fillna("charge_automatically") != "send_invoice"]
    out = []
    for sub in rows(cards):
        customer = customers.get(str(sub.customer_id))
        if customer is None or not will_renew(sub):
            continue
        charge = next_charge_on(sub, as_of, policy.timezone)
        year, month = int(sub.card_exp_year), int(sub.card_exp_month)
        valid_through = month_end(year, month)
        if charge is None or valid_through >= charge:
            continue
        if not 0 <= (charge - as_of).days <= policy.card_expiring.days_ahead:
            continue
        card = str(sub.payment_method_id) if present(sub.payment_method_id) else None
        notice = Notice(
            dedupe_key=f"card_expiring:{card or sub.subscription_id}:{year:04d}-{month:02d}",
            kind="card_expiring",
            template="card_expiring",
            locale=customer.locale,
            planned_for=as_of,
            context={
                "plan": text(sub.description) or str(sub.subscription_id),
                "card_brand": text(sub.card_brand),
                "card_last4": text(sub.card_last4),
                "expires": f"{month:02d}/{year:04d}",
                "expired": valid_through < as_of,
                "next_charge_on": charge.isoformat(),
                "amount": whole(sub.amount),
                "currency": str(sub.currency),
                "update_url": policy.portal_url,
            },
            customer_id=customer.customer_id,
            subscription_id=str(sub.subscription_id),
            send_after=send_after(as_of, policy),
        )
        out.append(Decided(notice, ids(sub.subscription_id, sub.customer_id, card)))
    return out
