"""Renewal notices: the tacit-renewal notice the law requires, and upcoming renewals.

**Tacit renewal** (Code de la consommation L215-1, L215-3): a fixed-term contract that
renews unless refused must be announced to the consumer by a dedicated letter or e-mail
*no earlier than 3 months and no later than 1 month before the deadline to refuse*,
stating that deadline prominently; L215-1-1 requires an online way to cancel. Here:

- renewal day ``R``: the next period boundary (``periods.renewal_on``);
- deadline to refuse ``D = R - notice_days`` (the contract's notice period, from the
  subscription's metadata; ``default_notice_days`` when it has none);
- the notice is queued on the first night inside ``calendar.notice_window(D, 3, 1)``,
  once: ``tacit_renewal:{subscription}:{R}``.

Example: ``R`` = 19 Jan 2027, 30 days' notice -> ``D`` = 20 Dec 2026, window 20 Sep ..
20 Nov 2026: a night on 19 Sep decides nothing, 20 Sep queues the notice, every later
night finds the same key and queues nothing.

**Compliance exception**: once the window has closed (``as_of`` after its last day and
before ``R``) with no notice gone out (the outbox row is missing, planned, still queued,
failed or cancelled), finance gets one ``tacit_renewal`` item (stage ``unnoticed``) and
``notice_exceptions`` a ``tacit_renewal_unnoticed`` row, open until the contract is
cancelled (``cancelled``), the notice leaves late (``notice_sent_late``) or the renewal
day passes (``renewed_without_notice``: the consumer may then end it at any time, free).

**Upcoming renewal** of plans billed per ``intervals`` (annual by default), at the
``days_ahead`` stages (30 and 7): ``upcoming_renewal:{subscription}:{R}:{stage}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from domain.notice import Notice
from domain.notices.calendar import add_interval, as_date, notice_window
from domain.notices.common import (
    GIVEN,
    Customer,
    Decided,
    ids,
    notice_id,
    present,
    rows,
    send_after,
    text,
    whole,
)
from domain.notices.periods import renewal_on, stage, will_renew
from domain.notices.policy import NoticePolicy


@dataclass(frozen=True)
class TacitTerms:
    """When a tacitly renewed contract renews and when its notice may go out."""

    renewal_on: date
    deadline_on: date
    window_from: date
    window_to: date


def tacit_key(subscription_id: str, renewal: date) -> str:
    return f"tacit_renewal:{subscription_id}:{renewal.isoformat()}"


def unnoticed_key(subscription_id: str, renewal: date) -> str:
    return f"tacit_renewal_unnoticed:{subscription_id}:{renewal.isoformat()}"


def tacit_terms(sub: Any, as_of: date, policy: NoticePolicy) -> TacitTerms | None:
    """The contract's next renewal, deadline and window; None when it cannot have one.

    A window that closed before the current period began (a contract shorter than its
    notice period plus a month) is out of reach of L215-1's mechanism: None.
    """
    rule = policy.tacit_renewal
    renewal = renewal_on(sub, as_of, policy.timezone)
    if renewal is None:
        return None
    notice_days = whole(sub.notice_days)
    if notice_days is None:
        notice_days = rule.default_notice_days
    deadline = renewal - timedelta(days=notice_days)
    first, last = notice_window(deadline, rule.earliest_months, rule.latest_months)
    count = whole(sub.interval_count) or 1
    period_start = add_interval(renewal, str(sub.interval), -count)
    if last < period_start:
        return None
    return TacitTerms(renewal, deadline, first, last)


def _tacit_candidates(
    subs: pd.DataFrame, customers: Mapping[str, Customer], policy: NoticePolicy
) -> list[tuple[Any, Customer]]:
    """Tacitly renewed contracts that will renew, of customers the rule covers."""
    tacit = subs[subs["tacit_renewal"].fillna(False).astype(bool)]
    out = []
    for sub in rows(tacit):
        customer = customers.get(str(sub.customer_id))
        if customer is None or not will_renew(sub):
            continue
        if customer.is_business and not policy.tacit_renewal.include_businesses:
            continue
        out.append((sub, customer))
    return out


def _plan(sub: Any) -> str:
    return text(sub.description) or text(sub.contract) or str(sub.subscription_id)


def tacit_renewal_notices(
    subs: pd.DataFrame,
    customers: Mapping[str, Customer],
    as_of: date,
    policy: NoticePolicy,
) -> list[Decided]:
    """The L215-1 notices due tonight (see the module docstring)."""
    out = []
    for sub, customer in _tacit_candidates(subs, customers, policy):
        terms = tacit_terms(sub, as_of, policy)
        if terms is None or not terms.window_from <= as_of <= terms.window_to:
            continue
        notice = Notice(
            dedupe_key=tacit_key(str(sub.subscription_id), terms.renewal_on),
            kind="tacit_renewal",
            template="tacit_renewal",
            locale=customer.locale,
            planned_for=as_of,
            context={
                "plan": _plan(sub),
                "contract": text(sub.contract),
                "renewal_on": terms.renewal_on.isoformat(),
                "deadline_on": terms.deadline_on.isoformat(),
                "amount": whole(sub.amount),
                "currency": str(sub.currency),
                "interval": text(sub.interval),
                "cancel_url": policy.portal_url,
            },
            customer_id=customer.customer_id,
            subscription_id=str(sub.subscription_id),
            send_after=send_after(as_of, policy),
        )
        out.append(Decided(notice, ids(sub.subscription_id, sub.customer_id)))
    return out


def tacit_renewal_unnoticed(
    subs: pd.DataFrame,
    customers: Mapping[str, Customer],
    outbox: Mapping[str, str],
    as_of: date,
    policy: NoticePolicy,
) -> tuple[list[dict[str, Any]], list[Decided]]:
    """Contracts whose notice window closed with no notice gone out: register rows and
    finance items. ``outbox``: dedupe key -> status of the ``tacit_renewal`` rows."""
    found: list[dict[str, Any]] = []
    decided: list[Decided] = []
    for sub, customer in _tacit_candidates(subs, customers, policy):
        terms = tacit_terms(sub, as_of, policy)
        if terms is None or not terms.window_to < as_of < terms.renewal_on:
            continue
        subscription_id = str(sub.subscription_id)
        status = outbox.get(tacit_key(subscription_id, terms.renewal_on))
        if status in GIVEN:
            continue
        key = unnoticed_key(subscription_id, terms.renewal_on)
        facts = {
            "subscription_id": subscription_id,
            "customer_id": customer.customer_id,
            "plan": _plan(sub),
            "contract": text(sub.contract),
            "consumer": not customer.is_business,
            "renewal_on": terms.renewal_on.isoformat(),
            "deadline_on": terms.deadline_on.isoformat(),
            "window_from": terms.window_from.isoformat(),
            "window_to": terms.window_to.isoformat(),
            "notice_status": status or "none",
            "amount": whole(sub.amount),
            "currency": str(sub.currency),
        }
        notice = Notice(
            dedupe_key=key,
            kind="tacit_renewal",
            template="tacit_renewal_unnoticed",
            locale=policy.finance_locale,
            planned_for=as_of,
            context=facts,
            audience="finance",
            stage="unnoticed",
            customer_id=customer.customer_id,
            subscription_id=subscription_id,
        )
        decided.append(Decided(notice, ids(sub.subscription_id, sub.customer_id)))
        found.append(
            {
                "exception_id": notice_id(key),
                "kind": "tacit_renewal_unnoticed",
                "customer_id": customer.customer_id,
                "subscription_id": subscription_id,
                "order_id": None,
                "tracking_id": None,
                "event_on": terms.renewal_on,
                "due_on": terms.window_to,
                "amount": whole(sub.amount),
                "currency": str(sub.currency).upper(),
                "notification_id": notice_id(key),
                "details": json.dumps(
                    {k: facts[k] for k in ("contract", "deadline_on", "notice_status")},
                    sort_keys=True,
                ),
            }
        )
    return found, decided


def tacit_outcomes(
    stored_open: pd.DataFrame, subs: pd.DataFrame, outbox: Mapping[str, str], as_of: date
) -> dict[str, str | None]:
    """Why each open ``tacit_renewal_unnoticed`` row no longer holds tonight."""
    by_id = {str(s.subscription_id): s for s in rows(subs)}
    out: dict[str, str | None] = {}
    for row in rows(stored_open):
        renewal = as_date(row.event_on)
        sub = by_id.get(str(row.subscription_id))
        key = tacit_key(str(row.subscription_id), renewal) if renewal else ""
        if sub is None or not will_renew(sub):
            out[row.exception_id] = "cancelled"
        elif outbox.get(key) in GIVEN:
            out[row.exception_id] = "notice_sent_late"
        elif renewal is not None and as_of >= renewal:
            out[row.exception_id] = "renewed_without_notice"
        else:
            out[row.exception_id] = None
    return out


def upcoming_renewal_notices(
    subs: pd.DataFrame,
    customers: Mapping[str, Customer],
    as_of: date,
    policy: NoticePolicy,
) -> list[Decided]:
    """Plans billed per ``intervals`` renewing within a ``days_ahead`` stage."""
    rule = policy.upcoming_renewal
    chosen = subs[subs["interval"].isin(list(rule.intervals))]
    out = []
    for sub in rows(chosen):
        customer = customers.get(str(sub.customer_id))
        if customer is None or not will_renew(sub) or str(sub.status) == "trialing":
            continue
        renewal = renewal_on(sub, as_of, policy.timezone)
        if renewal is None:
            continue
        ahead = stage((renewal - as_of).days, rule.days_ahead)
        if ahead is None:
            continue
        notice = Notice(
            dedupe_key=f"upcoming_renewal:{sub.subscription_id}:{renewal.isoformat()}:{ahead}",
            kind="upcoming_renewal",
            template="upcoming_renewal",
            locale=customer.locale,
            planned_for=as_of,
            context={
                "plan": _plan(sub),
                "renewal_on": renewal.isoformat(),
                "amount": whole(sub.amount),
                "currency": str(sub.currency),
                "interval": text(sub.interval),
                "tacit_renewal": bool(sub.tacit_renewal) if present(sub.tacit_renewal) else False,
                "manage_url": policy.portal_url,
            },
            stage=str(ahead),
            customer_id=customer.customer_id,
            subscription_id=str(sub.subscription_id),
            send_after=send_after(as_of, policy),
        )
        out.append(Decided(notice, ids(sub.subscription_id, sub.customer_id)))
    return out
