"""Which resources each emulator stores, and what their lists can filter on.

One table of data, read by the store (indexes), the emulators (filters), the
scenario loader and the generator. A filter name is the provider's own query
parameter; its value is the dotted path of the field in the wire object, a
function of the object, or ``None`` when the provider's object does not carry
it (it then comes beside the object, e.g. from
``stripe/payout_balance_transactions.json``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.store import Index, register

# -- Stripe: resource (URL segment) -> index. Times are epoch seconds. -------------------
STRIPE: dict[str, Index] = {
    "customers": Index(created="created", keys={"email": "email"}),
    "subscriptions": Index(created="created", keys={"customer": "customer", "status": "status"}),
    "invoices": Index(
        created="created",
        keys={
            "customer": "customer",
            "subscription": "parent.subscription_details.subscription",
            "status": "status",
            "collection_method": "collection_method",
        },
    ),
    "invoice_payments": Index(
        created="created",
        keys={
            "invoice": "invoice",
            "payment_intent": "payment.payment_intent",
            "charge": "payment.charge",
            "status": "status",
        },
    ),
    "charges": Index(
        created="created", keys={"customer": "customer", "payment_intent": "payment_intent"}
    ),
    "payment_intents": Index(created="created", keys={"customer": "customer"}),
    "refunds": Index(
        created="created", keys={"charge": "charge", "payment_intent": "payment_intent"}
    ),
    "disputes": Index(
        created="created", keys={"charge": "charge", "payment_intent": "payment_intent"}
    ),
    "payouts": Index(created="created", keys={"status": "status"}),
    "balance_transactions": Index(
        created="created",
        keys={"payout": None, "type": "type", "source": "source", "currency": "currency"},
    ),
    "payment_methods": Index(created="created", keys={"customer": "customer", "type": "type"}),
    "tax_rates": Index(created="created", keys={"active": "active", "inclusive": "inclusive"}),
    "events": Index(created="created", keys={"type": "type", "object": "data.object.id"}),
}


def _gc_event_resource(event: Mapping[str, Any]) -> Any:
    """The id of the resource a GoCardless event is about (``links.payment`` for payments…)."""
    singular = str(event.get("resource_type", "")).removesuffix("s")
    return (event.get("links") or {}).get(singular)


# -- GoCardless: times are ISO 8601 strings. ---------------------------------------------
GOCARDLESS: dict[str, Index] = {
    "customers": Index(created="created_at", keys={"email": "email"}),
    "mandates": Index(
        created="created_at", keys={"customer": "links.customer", "status": "status"}
    ),
    "subscriptions": Index(
        created="created_at",
        keys={"mandate": "links.mandate", "customer": None, "status": "status"},
    ),
    "instalment_schedules": Index(
        created="created_at",
        keys={"mandate": "links.mandate", "customer": "links.customer", "status": "status"},
    ),
    # ``updated`` holds the charge date so ``charge_date[gte]`` etc. are range filters.
    "payments": Index(
        created="created_at",
        updated="charge_date",
        keys={
            "mandate": "links.mandate",
            "subscription": "links.subscription",
            "status": "status",
            "customer": None,
            "instalment_schedule": "links.instalment_schedule",
        },
    ),
    "refunds": Index(
        created="created_at", keys={"payment": "links.payment", "mandate": "links.mandate"}
    ),
    "payouts": Index(created="created_at", keys={"status": "status", "currency": "currency"}),
    # Payout items carry no id and no payout link: both come beside them.
    "payout_items": Index(created="created", id=None, keys={"payout": None, "type": "type"}),
    "events": Index(
        created="created_at",
        keys={
            "resource_type": "resource_type",
            "action": "action",
            "resource": _gc_event_resource,
            "parent_event": "links.parent_event",
        },
    ),
}

# -- AfterShip: created_at / updated_at are ISO 8601 strings. ----------------------------
AFTERSHIP: dict[str, Index] = {
    "trackings": Index(
        created="created_at",
        updated="updated_at",
        keys={"order_id": "order_id", "tag": "tag", "slug": "slug"},
    ),
}

for _name, _index in STRIPE.items():
    register("stripe", _name, _index)
for _name, _index in GOCARDLESS.items():
    register("gocardless", _name, _index)
for _name, _index in AFTERSHIP.items():
    register("aftership", _name, _index)
