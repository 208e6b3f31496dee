"""Stripe customers and subscriptions -> ``customers`` and ``subscriptions`` rows.

Subscriptions follow the current API (basil and later): the billing period is on the
items, not the subscription, so ``current_period_start/end`` come from
``items.data[0]``, as do the price, amount and interval. Example: an item with price
``unit_amount`` 1900, ``quantity`` 2, ``recurring {interval: "month"}`` and
``current_period_end`` 1782864000 gives ``amount`` 3800, ``interval`` ``month``,
``current_period_end`` 2026-07-01T00:00Z. ``metadata.tacit_renewal = "true"`` marks a
contract renewed tacitly (Loi Chatel notices), with its ``notice_days`` and ``contract``
(:mod:`domain.normalise.terms`). The card expiry comes from the default
payment method when the caller passes a lookup of payment methods by id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.normalise import b2b
from domain.normalise import fields as f
from domain.normalise.core import Normalised, Versions, run
from domain.normalise.schema import CUSTOMERS, SUBSCRIPTIONS
from domain.normalise.terms import contract_terms

PROVIDER = "stripe"
SUBSCRIPTION_STATUSES = frozenset(
    {
        "incomplete",
        "incomplete_expired",
        "trialing",
        "active",
        "past_due",
        "canceled",
        "unpaid",
        "paused",
    }
)
TAX_EXEMPT = frozenset({"none", "exempt", "reverse"})


def _customer_vat_id(obj: f.Obj) -> tuple[str | None, bool]:
    """From the expanded ``tax_ids`` list, else ``metadata.vat_id``."""
    expanded = obj.get("tax_ids")
    if expanded is not None:
        vat_id, any_id = b2b.vat_id_from_tax_ids(f.items(obj, "tax_ids"))
        if any_id:
            return vat_id, any_id
    vat_id = b2b.clean_vat_id(f.metadata(obj, "vat_id"))
    return vat_id, vat_id is not None


def _customer_row(obj: f.Obj) -> tuple[Any, ...]:
    customer_id = f.ident(obj)
    if obj.get("deleted") is True:
        return (customer_id, PROVIDER, *([None] * 7), False, *([None] * 4))
    country = b2b.country_code(f.dig(obj, "address.country"), "address.country")
    vat_id, any_id = _customer_vat_id(obj)
    tax_exempt = f.dig(obj, "tax_exempt")
    if tax_exempt is not None and tax_exempt not in TAX_EXEMPT:
        raise f.Malformed(f"unknown tax_exempt {tax_exempt!r}")
    preferred = f.items(obj, "preferred_locales")
    return (
        customer_id,
        PROVIDER,
        f.text(obj, "email"),
        f.text(obj, "name"),
        country,
        f.text(obj, "address.postal_code"),
        b2b.locale(preferred, country),
        f.currency(obj, required=False),
        vat_id,
        b2b.is_business(vat_id, any_tax_id=any_id, tax_exempt=tax_exempt),
        tax_exempt,
        f.ref(obj, "invoice_settings.default_payment_method"),
        f.epoch(obj, "created"),
        None,
    )


def normalise_customers(
    objects: Sequence[Any], source_version: Versions, *, tz: str = "Europe/Paris"
) -> Normalised:
    """Stripe customer objects -> ``customers`` rows (a deleted stub keeps only its id)."""
    return run(
        objects,
        source_version,
        CUSTOMERS,
        _customer_row,
        provider=PROVIDER,
        object_type="customer",
        tz=tz,
    )


def _card(method: Any) -> tuple[Any, Any, Any, Any, Any]:
    """``(type, brand, last4, exp_month, exp_year)`` of a payment method object."""
    if not isinstance(method, Mapping):
        return None, None, None, None, None
    kind = f.text(method, "type")
    month = f.count(method, "card.exp_month")
    if month is not None and not 1 <= month <= 12:
        raise f.Malformed(f"card.exp_month is not a month: {month}")
    return (
        kind,
        f.text(method, "card.brand"),
        f.text(method, "card.last4"),
        month,
        f.count(method, "card.exp_year"),
    )


def subscription_row(
    obj: f.Obj, payment_methods: Mapping[str, Any] | None = None
) -> tuple[Any, ...]:
    subscription_id = f.ident(obj)
    status = f.status(obj, SUBSCRIPTION_STATUSES)
    first = next(iter(f.items(obj, "items")), None)
    if first is not None and not isinstance(first, Mapping):
        raise f.Malformed("items.data[0] is not an object")
    price = f.dig(first, "price") if first is not None else None
    unit = f.money(price, "unit_amount")
    quantity = f.count(first, "quantity", default=1)
    amount = unit * quantity if unit is not None and quantity is not None else None
    method_id = f.ref(obj, "default_payment_method")
    method = obj.get("default_payment_method")
    if not isinstance(method, Mapping):
        method = (payment_methods or {}).get(method_id) if method_id else None
    kind, brand, last4, exp_month, exp_year = _card(method)
    tacit = f.metadata(obj, "tacit_renewal")
    return (
        subscription_id,
        PROVIDER,
        f.ref(obj, "customer") or _missing("customer"),
        status,
        f.ref(price, "id") if price is not None else None,
        f.ref(price, "product") if price is not None else None,
        f.text(obj, "description") or (f.text(price, "nickname") if price else None),
        amount,
        f.currency(obj),
        f.text(price, "recurring.interval") if price else None,
        f.count(price, "recurring.interval_count") if price else None,
        f.epoch(obj, "start_date"),
        f.epoch(first, "current_period_start") if first else None,
        f.epoch(first, "current_period_end") if first else None,
        f.epoch(obj, "trial_start"),
        f.epoch(obj, "trial_end"),
        f.flag(obj, "cancel_at_period_end", default=False),
        f.epoch(obj, "cancel_at"),
        f.epoch(obj, "canceled_at"),
        f.epoch(obj, "ended_at"),
        (tacit or "").strip().lower() == "true",
        f.text(obj, "collection_method"),
        kind,
        method_id,
        None,
        None,
        brand,
        last4,
        exp_month,
        exp_year,
        f.epoch(obj, "created"),
        *contract_terms(obj),
    )


def _missing(field: str) -> Any:
    raise f.Malformed(f"missing {field}")


def normalise_subscriptions(
    objects: Sequence[Any],
    source_version: Versions,
    *,
    payment_methods: Mapping[str, Any] | None = None,
    tz: str = "Europe/Paris",
) -> Normalised:
    """Stripe subscriptions -> ``subscriptions``; ``payment_methods``: id -> PaymentMethod."""
    return run(
        objects,
        source_version,
        SUBSCRIPTIONS,
        lambda obj: subscription_row(obj, payment_methods),
        provider=PROVIDER,
        object_type="subscription",
        tz=tz,
    )
