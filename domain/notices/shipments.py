"""Parcel notices: tell the customer first when a parcel is late or in trouble.

- **Late** (``shipment_delay``): an outbound parcel still in a ``delay_statuses`` state
  (pending, info received, in transit) ``delay_margin_days`` or more after its expected
  delivery date (default 2). One notice per parcel and status:
  ``shipment_delay:{tracking}:{status}``. Example: expected 3 July, still in transit on
  5 July -> one notice; 6 July -> same key, nothing new.
- **In trouble** (``shipment_exception``): an outbound parcel whose status is in
  ``exception_statuses`` (``exception``: lost, refused, wrong address; ``attempt_fail``:
  nobody home), one notice per parcel and status: ``shipment_exception:{tracking}:{status}``.
- Parcels older than ``max_age_days`` (late by more, or in trouble since longer) are left
  to customer service: a first night on years of history never writes about old parcels.
- **Delivered** parcels withdraw their notices still waiting in the outbox (cancelled
  with the reason ``delivered``): a customer is not told about a delay that is over.

A parcel's customer is the tracking's own, else the customer of its order (the order id
links a tracking to the invoice or payment of that order).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd

from domain.notice import Notice
from domain.notices.calendar import as_date, local_day
from domain.notices.common import Customer, Decided, ids, present, rows, send_after, text
from domain.notices.policy import NoticePolicy

SHIPMENT_KINDS = ("shipment_delay", "shipment_exception")


def order_owners(payments: pd.DataFrame, invoices: pd.DataFrame) -> dict[str, str]:
    """order id -> customer id, from the invoices first, then the payments."""
    pairs = pd.concat(
        [invoices[["order_id", "customer_id"]], payments[["order_id", "customer_id"]]],
        ignore_index=True,
    ).dropna()
    pairs = pairs.drop_duplicates("order_id", keep="first")
    return dict(zip(pairs["order_id"].astype(str), pairs["customer_id"].astype(str), strict=True))


def parcel_customer(
    parcel: Any, owners: Mapping[str, str], customers: Mapping[str, Customer]
) -> Customer | None:
    own, order = parcel.customer_id, parcel.order_id
    customer_id = str(own) if present(own) else owners.get(str(order)) if present(order) else None
    return customers.get(customer_id) if customer_id else None


def _parcel_context(parcel: Any) -> dict[str, Any]:
    return {
        "carrier": text(parcel.carrier),
        "tracking_number": text(parcel.tracking_number),
        "order_id": text(parcel.order_id),
        "status": text(parcel.status),
    }


def _notice(
    kind: str, parcel: Any, customer: Customer, as_of: date, policy: NoticePolicy, **extra: Any
) -> Decided:
    tracking = str(parcel.tracking_id)
    status = str(parcel.status)
    notice = Notice(
        dedupe_key=f"{kind}:{tracking}:{status}",
        kind=kind,
        template=kind,
        locale=customer.locale,
        planned_for=as_of,
        context={**_parcel_context(parcel), **extra, "help_url": policy.portal_url},
        stage=status,
        customer_id=customer.customer_id,
        tracking_id=tracking,
        send_after=send_after(as_of, policy),
    )
    return Decided(notice, ids(tracking, customer.customer_id, parcel.order_id))


def shipment_delay_notices(
    shipments: pd.DataFrame,
    owners: Mapping[str, str],
    customers: Mapping[str, Customer],
    as_of: date,
    policy: NoticePolicy,
) -> list[Decided]:
    """Outbound parcels late by the margin (see the module docstring)."""
    rule = policy.shipment
    late = shipments[
        (shipments["direction"] == "outbound")
        & shipments["status"].isin(list(rule.delay_statuses))
        & shipments["expected_delivery_on"].notna()
    ]
    out = []
    for parcel in rows(late):
        expected = as_date(parcel.expected_delivery_on)
        if expected is None:
            continue
        days_late = (as_of - expected).days
        if not rule.delay_margin_days <= days_late <= rule.max_age_days:
            continue
        customer = parcel_customer(parcel, owners, customers)
        if customer is None:
            continue
        extra = {"expected_on": expected.isoformat(), "days_late": days_late}
        out.append(_notice("shipment_delay", parcel, customer, as_of, policy, **extra))
    return out


def shipment_exception_notices(
    shipments: pd.DataFrame,
    owners: Mapping[str, str],
    customers: Mapping[str, Customer],
    as_of: date,
    policy: NoticePolicy,
) -> list[Decided]:
    """Outbound parcels in exception or after a failed delivery attempt."""
    rule = policy.shipment
    trouble = shipments[
        (shipments["direction"] == "outbound")
        & shipments["status"].isin(list(rule.exception_statuses))
    ]
    out = []
    for parcel in rows(trouble):
        since = local_day(parcel.updated_at, policy.timezone) or local_day(
            parcel.created_at, policy.timezone
        )
        if since is None or not 0 <= (as_of - since).days <= rule.max_age_days:
            continue
        customer = parcel_customer(parcel, owners, customers)
        if customer is None:
            continue
        extra = {"reason": text(parcel.subtag), "since_on": since.isoformat()}
        out.append(_notice("shipment_exception", parcel, customer, as_of, policy, **extra))
    return out


def delivered_withdrawals(pending: pd.DataFrame, shipments: pd.DataFrame) -> list[str]:
    """Dedupe keys of waiting parcel notices whose parcel has since been delivered."""
    waiting = pending[pending["kind"].isin(SHIPMENT_KINDS) & pending["tracking_id"].notna()]
    delivered = set(shipments.loc[shipments["status"] == "delivered", "tracking_id"].astype(str))
    return sorted(waiting.loc[waiting["tracking_id"].astype(str).isin(delivered), "dedupe_key"])
