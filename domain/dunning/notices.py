"""Tonight's notices: one per item and step that writes to the customer.

The step's e-mail-like actions (``email``, ``late_fee_notice``, ``offer_*``) make one
notice, keyed ``dunning:{item}:{stage}``, written with the step's template in the
customer's language. Its ``context`` is everything the template shows, as JSON values
(amounts in minor units with their currency, dates as ISO text, rates as decimal text):

- who and what: ``customer_name``, ``invoice_number``, ``amount``, ``currency``,
  ``due_on``, ``days_overdue``, ``method`` (card, direct_debit, other);
- where to act: ``pay_url`` (Stripe's hosted invoice page, else the portal) and
  ``update_payment_url``, both on the portal URL given to the run;
- ``offers``: the alternatives the segment allows on this step (switch to direct debit;
  pay in instalments, with the amount of each);
- ``legal`` (business customers of a ``legal_mentions`` segment only): the L441-10
  penalty rate in force on the night and the fixed recovery indemnity; ``late_fee``
  adds the penalties accrued so far when the step claims them; consumers never get
  either key filled;
- ``actions``: every action taken for the item tonight (e.g. ``suspend`` beside the
  e-mail, so the mail can say the subscription is paused);
- ``formal_notice``: the deadline of a mise en demeure; ``next_step_on`` and
  ``next_actions``: what happens next if nothing is paid (e.g. ``suspend``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from domain.dunning.calendar import send_after
from domain.dunning.model import DunningPolicy, Step
from domain.dunning.rates import LatePaymentRates
from domain.notice import Notice


def notice_key(item_id: str, stage: str) -> str:
    return f"dunning:{item_id}:{stage}"


def build_notices(
    rows: pd.DataFrame,
    policy: DunningPolicy,
    rates: LatePaymentRates,
    as_of: date,
    portal_url: str,
) -> list[Notice]:
    """One :class:`Notice` per row of ``rows`` (items writing tonight, with ``tonight``:
    their actions as space-separated text); the only per-row loop of the decisions."""
    steps = {
        (name, step.stage): (step, [s for s in ladder.steps if s.day > step.day])
        for name, ladder in policy.ladders.items()
        for step in ladder.steps
    }
    legal_segments = {s.name for s in policy.segments if s.legal_mentions}
    legal = _legal(rates, as_of) if rates.has_rate_on(as_of) else None
    windows: dict[str | None, datetime] = {}
    portal = portal_url.rstrip("/")
    notices = []
    for row in rows.itertuples(index=False):
        step, later = steps[(row.ladder, row.stage)]
        country = _text(row.country)
        if country not in windows:
            windows[country] = send_after(policy, country, as_of)
        terms = legal if row.segment in legal_segments and row.is_business else None
        context = _context(row, step, later, policy, rates, as_of, portal, terms)
        notices.append(
            Notice(
                dedupe_key=notice_key(row.item_id, row.stage),
                kind="dunning",
                template=str(step.template),
                locale=str(row.locale),
                planned_for=as_of,
                context=context,
                audience="customer",
                stage=row.stage,
                customer_id=_text(row.customer_id),
                invoice_id=_text(row.invoice_id),
                subscription_id=_text(row.subscription_id),
                payment_id=_text(row.payment_id),
                send_after=windows[country],
            )
        )
    return notices


def _context(
    row: Any,
    step: Step,
    later: list[Step],
    policy: DunningPolicy,
    rates: LatePaymentRates,
    as_of: date,
    portal: str,
    legal: dict[str, Any] | None,
) -> dict[str, Any]:
    amount, currency = int(row.amount), str(row.currency)
    due_on = row.due_day.date()
    tonight = row.tonight.split()
    late_fee = None
    if legal is not None and "late_fee_notice" in tonight:
        late_fee = {
            "penalty_amount": rates.penalty(amount, due_on, as_of),
            "currency": currency,
            "days_late": max((as_of - due_on).days, 0),
            "indemnity_amount": rates.indemnity_amount,
            "indemnity_currency": rates.indemnity_currency,
        }
    return {
        "customer_name": _text(row.name),
        "sender_name": policy.sender_name or None,
        "item_id": row.item_id,
        "invoice_id": _text(row.invoice_id),
        "payment_id": _text(row.payment_id),
        "invoice_number": _text(row.number),
        "amount": amount,
        "currency": currency,
        "due_on": due_on.isoformat(),
        "days_overdue": int(row.days_overdue),
        "stage": row.stage,
        "actions": tonight,
        "method": str(row.method),
        "provider": str(row.provider),
        "is_business": bool(row.is_business),
        "pay_url": _text(row.hosted_invoice_url) or f"{portal}/pay/{row.item_id}",
        "update_payment_url": f"{portal}/customers/{row.customer_id}/payment-method",
        "offers": _offers(set(tonight), policy, amount, portal, row.item_id),
        "legal": dict(legal) if legal is not None else None,
        "late_fee": late_fee,
        "formal_notice": (
            {"deadline_on": (as_of + timedelta(days=step.deadline_days or 0)).isoformat()}
            if step.formal_notice
            else None
        ),
        "next_step_on": (due_on + timedelta(days=later[0].day)).isoformat() if later else None,
        "next_actions": list(later[0].actions) if later else [],
    }


def _legal(rates: LatePaymentRates, as_of: date) -> dict[str, Any]:
    return {
        "penalty_rate": str(rates.rate_on(as_of)),
        "ecb_rate": str(rates.ecb_rate_on(as_of)),
        "margin_points": str(rates.margin),
        "indemnity_amount": rates.indemnity_amount,
        "indemnity_currency": rates.indemnity_currency,
    }


def _offers(
    actions: set[str], policy: DunningPolicy, amount: int, portal: str, item_id: str
) -> list[dict[str, Any]]:
    offers: list[dict[str, Any]] = []
    if "offer_direct_debit" in actions:
        offers.append({"kind": "direct_debit", "url": f"{portal}/pay/{item_id}/direct-debit"})
    if "offer_instalments" in actions:
        count = policy.instalments.count
        base, rest = divmod(amount, count)
        offers.append(
            {
                "kind": "instalments",
                "url": f"{portal}/pay/{item_id}/instalments",
                "count": count,
                "amounts": [base + rest] + [base] * (count - 1),
            }
        )
    return offers


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return str(value)
