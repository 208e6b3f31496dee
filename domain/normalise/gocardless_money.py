"""GoCardless payments, refunds, payouts and payout items -> unified rows.

Unified payment status (``provider_status`` keeps GoCardless's own):

======================================================  =======================
GoCardless ``status``                                   ``status``
======================================================  =======================
pending_customer_approval, pending_submission, submitted  ``pending``
confirmed, paid_out                                     ``succeeded``, or
                                                        ``refunded`` /
                                                        ``partially_refunded``
                                                        by ``amount_refunded``
failed                                                  ``failed``
charged_back                                            ``charged_back``
cancelled, customer_approval_denied                     ``cancelled``
======================================================  =======================

A late failure or a chargeback reopens a settled payment with no special case: the
newer version (``paid_out`` at version 100, ``charged_back`` at 200) simply wins.

Payout items carry decimal strings of major units and no id: ``"-1.25"`` EUR becomes
``-125`` exactly (through ``Decimal``), and ``line_id`` is ``<type>:<refund or
payment id>`` (``#2``… for a repeat in the same payout). Fee items
(``gocardless_fee``, ``app_fee``, ``surcharge_fee``) are booked as ``fee`` (positive
cost) with ``amount`` 0, every other item as ``amount``; ``net`` is always the signed
item amount, so a payout's lines add up to the payout and their fees to its
``deducted_fees``. Example: ``payment_paid_out "45.00"`` and ``gocardless_fee
"-0.78"`` -> (4500, 0, 4500) and (0, 78, −78).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.normalise import fields as f
from domain.normalise.core import Normalised, Versions, flatten_groups, run
from domain.normalise.gocardless import payment_method_type
from domain.normalise.schema import PAYMENTS, PAYOUT_LINES, PAYOUTS, REFUNDS

PROVIDER = "gocardless"
PENDING = ("pending_customer_approval", "pending_submission", "submitted")
SETTLED = ("confirmed", "paid_out")
PAYMENT_STATUSES = {
    **dict.fromkeys(PENDING, "pending"),
    **dict.fromkeys(SETTLED, "succeeded"),
    "failed": "failed",
    "charged_back": "charged_back",
    "cancelled": "cancelled",
    "customer_approval_denied": "cancelled",
}
REFUND_STATUSES = frozenset(
    {
        "created",
        "pending_submission",
        "submitted",
        "paid",
        "cancelled",
        "bounced",
        "funds_returned",
        "failed",
    }
)
PAYOUT_STATUSES = frozenset({"pending", "paid", "bounced"})
FEE_ITEMS = frozenset({"gocardless_fee", "app_fee", "surcharge_fee"})


def payment_status(provider_status: str, amount: int, refunded: int) -> str:
    """The unified status of a GoCardless payment (see the module table)."""
    unified = PAYMENT_STATUSES[provider_status]
    if unified == "succeeded":
        if refunded >= amount > 0:
            return "refunded"
        if refunded > 0:
            return "partially_refunded"
    return unified


def payment_row(obj: f.Obj) -> tuple[Any, ...]:
    payment_id = f.ident(obj)
    raw = f.status(obj, PAYMENT_STATUSES)
    amount = f.amount(obj, "amount")
    refunded = f.money(obj, "amount_refunded") or 0
    return (
        payment_id,
        PROVIDER,
        None,
        f.ref(obj, "links.customer"),
        None,
        f.ref(obj, "links.subscription"),
        f.metadata(obj, "order_id"),
        amount,
        refunded,
        f.currency(obj),
        payment_status(raw, amount, refunded),
        raw,
        None,
        None,
        None,
        0,
        None,
        payment_method_type(f.text(obj, "scheme")),
        None,
        f.ref(obj, "links.mandate"),
        None,
        None,
        f.instant(obj, "created_at", required=True),
        f.day(obj, "charge_date"),
        None,
        None,
        f.ref(obj, "links.payout"),
        None,
        None,
        None,
    )


def normalise_payments(objects: Sequence[Any], source_version: Versions) -> Normalised:
    """GoCardless payments -> ``payments`` rows (``customer_id`` comes from the mandate links)."""
    return run(
        objects, source_version, PAYMENTS, payment_row, provider=PROVIDER, object_type="payment"
    )


def refund_row(obj: f.Obj) -> tuple[Any, ...]:
    return (
        f.ident(obj),
        PROVIDER,
        f.ref(obj, "links.payment"),
        f.metadata(obj, "order_id"),
        f.amount(obj, "amount"),
        f.currency(obj),
        f.status(obj, REFUND_STATUSES),
        None,
        None,
        f.instant(obj, "created_at", required=True),
        None,
        None,
        None,
    )


def normalise_refunds(objects: Sequence[Any], source_version: Versions) -> Normalised:
    """GoCardless refunds -> ``refunds`` rows."""
    return run(
        objects, source_version, REFUNDS, refund_row, provider=PROVIDER, object_type="refund"
    )


def payout_row(obj: f.Obj) -> tuple[Any, ...]:
    return (
        f.ident(obj),
        PROVIDER,
        f.amount(obj, "amount", signed=True),
        f.money(obj, "deducted_fees", signed=True),
        f.currency(obj),
        f.status(obj, PAYOUT_STATUSES),
        f.day(obj, "arrival_date"),
        f.instant(obj, "created_at", required=True),
        None,
        None,
        f.text(obj, "reference"),
        None,
    )


def normalise_payouts(objects: Sequence[Any], source_version: Versions) -> Normalised:
    """GoCardless payouts -> ``payouts`` rows (``fee`` is ``deducted_fees``)."""
    return run(
        objects, source_version, PAYOUTS, payout_row, provider=PROVIDER, object_type="payout"
    )


def payout_item_row(obj: f.Obj, context: tuple[str, str, str]) -> tuple[Any, ...]:
    payout_id, line_id, given = context
    currency = str(f.currency({"currency": given}, "currency"))
    item_type = f.text(obj, "type")
    if item_type is None:
        raise f.Malformed("missing type")
    cents = f.decimal_minor(obj.get("amount"), "amount", currency)
    refund, payment = f.ref(obj, "links.refund"), f.ref(obj, "links.payment")
    if item_type in FEE_ITEMS:
        amount, fee = 0, -cents
        source_id, source_type = payment or refund, "fee"
    else:
        amount, fee = cents, 0
        source_id, source_type = (refund, "refund") if refund else (payment, "payment")
    return (
        payout_id,
        line_id,
        PROVIDER,
        source_id,
        source_type,
        item_type,
        payment,
        amount,
        fee,
        cents,
        currency,
        None,
    )


def _line_ids(items: Sequence[Any]) -> list[str]:
    """``<type>:<refund or payment or mandate>``, numbered when repeated in the payout."""
    seen: dict[str, int] = {}
    out = []
    for item in items:
        links = item.get("links") if isinstance(item, Mapping) else None
        links = links if isinstance(links, Mapping) else {}
        source = links.get("refund") or links.get("payment") or links.get("mandate") or "-"
        kind = item.get("type") if isinstance(item, Mapping) else None
        base = f"{kind}:{source}"
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return out


def normalise_payout_lines(
    items_by_payout: Mapping[str, Sequence[Any]],
    source_version: int | Mapping[str, int],
    *,
    currencies: Mapping[str, str] | None = None,
    default_currency: str = "EUR",
) -> Normalised:
    """``{payout id: [payout item, …]}`` -> ``payout_lines``; items carry no currency, so
    it comes from ``currencies`` (payout id -> its currency), else ``default_currency``."""
    objects, versions, payouts = flatten_groups(items_by_payout, source_version)
    line_ids = [
        line_id
        for payout in items_by_payout
        for line_id in _line_ids(list(items_by_payout[payout]))
    ]
    currency_of = currencies or {}
    context = [
        (payout, line_id, currency_of.get(payout, default_currency))
        for payout, line_id in zip(payouts, line_ids, strict=True)
    ]
    return run(
        objects,
        versions,
        PAYOUT_LINES,
        payout_item_row,
        provider=PROVIDER,
        object_type="payout_item",
        context=context,
        problem_ids=[f"{payout}/{line_id}" for payout, line_id, _ in context],
    )
