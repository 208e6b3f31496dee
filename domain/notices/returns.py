"""Returns and refunds: the consumer's 14-day withdrawal window, and the shop's own
14 days to refund.

- **Withdrawal window** (``return_window``, Code de la consommation L221-18): a consumer
  may withdraw within 14 days of receiving the goods. Where the policy asks for it
  (``return_window.enabled``), a consumer whose delivered order has neither a return nor
  a refund is reminded ``remind_days_before`` days before the window closes
  (``calendar.withdrawal_closes``; a window ending on a weekend runs to the Monday), once:
  ``return_window:{tracking}:{closes}``. Example: delivered Monday 22 June 2026, window
  closes Monday 6 July, reminder from Friday 3 July. A reminder still waiting when the
  customer starts a return or is refunded is withdrawn.
- **Refund overdue** (``refund_overdue``, L221-24): the shop refunds within 14 days; it
  may wait until the goods are back, so the clock starts when the return parcel is
  delivered to the shop. A return delivered more than ``refund_overdue.days`` days ago
  whose order has no refund is an item for **finance** (never a customer e-mail), once:
  ``refund_overdue:{return tracking}``, and a ``refund_overdue`` row in
  ``notice_exceptions``, closed (``refunded``) the night a refund appears.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import pandas as pd

from domain.notice import Notice
from domain.notices.calendar import local_day, withdrawal_closes
from domain.notices.common import Customer, Decided, ids, notice_id, rows, send_after, text
from domain.notices.policy import NoticePolicy
from domain.notices.shipments import parcel_customer

#: Refund statuses that mean no money is on its way back.
DEAD_REFUNDS = frozenset({"failed", "canceled", "cancelled"})
#: Payment statuses of money collected for an order.
COLLECTED = frozenset({"succeeded", "refunded", "partially_refunded", "disputed"})


def refunded_orders(refunds: pd.DataFrame, payments: pd.DataFrame) -> set[str]:
    """Orders with a refund issued (not failed or cancelled), however it is linked."""
    live = refunds[~refunds["status"].astype(str).isin(DEAD_REFUNDS)]
    orders = set(live["order_id"].dropna().astype(str))
    refunded_payments = set(live["payment_id"].dropna().astype(str))
    paid = payments[payments["order_id"].notna()]
    touched = paid["payment_id"].astype(str).isin(refunded_payments) | paid["status"].isin(
        ["refunded", "partially_refunded"]
    )
    orders |= set(paid.loc[touched, "order_id"].astype(str))
    return orders


def returned_orders(shipments: pd.DataFrame) -> set[str]:
    """Orders with a return parcel, whatever its status."""
    back = shipments[(shipments["direction"] == "return") & shipments["order_id"].notna()]
    return set(back["order_id"].astype(str))


def return_window_notices(
    shipments: pd.DataFrame,
    owners: Mapping[str, str],
    customers: Mapping[str, Customer],
    settled: set[str],
    as_of: date,
    policy: NoticePolicy,
) -> list[Decided]:
    """Reminders before the withdrawal window closes. ``settled``: orders with a return
    or a refund (nothing to remind)."""
    rule = policy.return_window
    if not rule.enabled:
        return []
    delivered = shipments[
        (shipments["direction"] == "outbound")
        & (shipments["status"] == "delivered")
        & shipments["delivered_at"].notna()
    ]
    out = []
    for parcel in rows(delivered):
        arrived = local_day(parcel.delivered_at, policy.timezone)
        if arrived is None:
            continue
        closes = withdrawal_closes(arrived, rule.days)
        if not closes - timedelta(days=rule.remind_days_before) <= as_of <= closes:
            continue
        if text(parcel.order_id) in settled:
            continue
        customer = parcel_customer(parcel, owners, customers)
        if customer is None or customer.is_business:  # withdrawal is a consumer's right
            continue
        tracking = str(parcel.tracking_id)
        notice = Notice(
            dedupe_key=f"return_window:{tracking}:{closes.isoformat()}",
            kind="return_window",
            template="return_window",
            locale=customer.locale,
            planned_for=as_of,
            context={
                "order_id": text(parcel.order_id),
                "delivered_on": arrived.isoformat(),
                "closes_on": closes.isoformat(),
                "returns_url": policy.portal_url,
            },
            customer_id=customer.customer_id,
            tracking_id=tracking,
            send_after=send_after(as_of, policy),
        )
        out.append(Decided(notice, ids(tracking, customer.customer_id, parcel.order_id)))
    return out


def settled_reminders(
    pending: pd.DataFrame, shipments: pd.DataFrame, settled: set[str]
) -> list[str]:
    """Dedupe keys of waiting ``return_window`` reminders whose order is now settled."""
    waiting = pending[(pending["kind"] == "return_window") & pending["tracking_id"].notna()]
    orders = dict(zip(shipments["tracking_id"].astype(str), shipments["order_id"], strict=True))
    done = [
        key
        for key, tracking in zip(waiting["dedupe_key"], waiting["tracking_id"], strict=True)
        if text(orders.get(str(tracking))) in settled
    ]
    return sorted(done)


def order_amounts(payments: pd.DataFrame) -> dict[str, tuple[int, str]]:
    """order id -> (collected amount in minor units, currency)."""
    paid = payments[payments["order_id"].notna() & payments["status"].isin(list(COLLECTED))]
    out: dict[str, tuple[int, str]] = {}
    for (order, currency), amount in paid.groupby(["order_id", "currency"])["amount"].sum().items():
        out.setdefault(str(order), (int(amount), str(currency).upper()))
    return out


def refund_overdue(
    shipments: pd.DataFrame,
    owners: Mapping[str, str],
    refunded: set[str],
    amounts: Mapping[str, tuple[int, str]],
    as_of: date,
    policy: NoticePolicy,
) -> tuple[list[dict[str, Any]], list[Decided]]:
    """Returns back at the shop for longer than the refund deadline, not refunded:
    register rows and finance items."""
    back = shipments[
        (shipments["direction"] == "return")
        & (shipments["status"] == "delivered")
        & shipments["delivered_at"].notna()
    ]
    found: list[dict[str, Any]] = []
    decided: list[Decided] = []
    for parcel in rows(back):
        arrived = local_day(parcel.delivered_at, policy.timezone)
        order = text(parcel.order_id)
        if arrived is None or order is None or order in refunded:
            continue
        due = arrived + timedelta(days=policy.refund_overdue.days)
        if as_of <= due:
            continue
        tracking = str(parcel.tracking_id)
        key = f"refund_overdue:{tracking}"
        amount, currency = amounts.get(order, (None, None))
        customer_id = text(parcel.customer_id) or owners.get(order)
        facts = {
            "order_id": order,
            "tracking_id": tracking,
            "tracking_number": text(parcel.tracking_number),
            "carrier": text(parcel.carrier),
            "customer_id": customer_id,
            "returned_on": arrived.isoformat(),
            "due_on": due.isoformat(),
            "days_overdue": (as_of - due).days,
            "amount": amount,
            "currency": currency,
        }
        notice = Notice(
            dedupe_key=key,
            kind="refund_overdue",
            template="refund_overdue",
            locale=policy.finance_locale,
            planned_for=as_of,
            context=facts,
            audience="finance",
            customer_id=customer_id,
            tracking_id=tracking,
        )
        decided.append(Decided(notice, ids(tracking, order, customer_id)))
        found.append(
            {
                "exception_id": notice_id(key),
                "kind": "refund_overdue",
                "customer_id": customer_id,
                "subscription_id": None,
                "order_id": order,
                "tracking_id": tracking,
                "event_on": arrived,
                "due_on": due,
                "amount": amount,
                "currency": currency,
                "notification_id": notice_id(key),
                "details": json.dumps(
                    {"carrier": facts["carrier"], "tracking_number": facts["tracking_number"]},
                    sort_keys=True,
                ),
            }
        )
    return found, decided


def refund_outcomes(stored_open: pd.DataFrame, refunded: set[str]) -> dict[str, str | None]:
    """Why each open ``refund_overdue`` row no longer holds: refunded, or (data gone) None."""
    return {
        str(row.exception_id): "refunded" if text(row.order_id) in refunded else None
        for row in rows(stored_open)
    }
