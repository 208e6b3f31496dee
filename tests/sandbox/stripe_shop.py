"""A tiny Stripe shop, stored sparse as the generator stores it, for the Stripe emulator tests."""

from __future__ import annotations

from typing import Any

import requests
import stripe

from sandbox.server import RunningSandbox
from sandbox.store import Store

T0 = 1_782_000_000  # 2026-06-21, ten days before the sandbox clock (2026-06-30 22:00)
KEY = "sk_test_echeancier"


def client(sandbox: RunningSandbox, **kwargs: Any) -> stripe.StripeClient:
    return stripe.StripeClient(KEY, base_addresses={"api": sandbox.url}, **kwargs)


def get(sandbox: RunningSandbox, path: str, **params: Any) -> requests.Response:
    return requests.get(
        sandbox.url + path, params=params, headers={"Authorization": f"Bearer {KEY}"}, timeout=10
    )


def customer(store: Store, cus_id: str, *, last4: str = "4242", country: str = "FR") -> None:
    """A card payer whose default payment method is a test card ending in ``last4``."""
    pm_id = "pm_" + cus_id.removeprefix("cus_")
    store.add(
        "stripe",
        "customers",
        {
            "id": cus_id,
            "object": "customer",
            "created": T0,
            "email": f"{cus_id}@example.fr",
            "name": "Jeanne Martin",
            "address": {"country": country},
            "preferred_locales": ["fr"],
            "invoice_settings": {"default_payment_method": pm_id},
        },
    )
    store.add(
        "stripe",
        "payment_methods",
        {
            "id": pm_id,
            "object": "payment_method",
            "created": T0,
            "customer": cus_id,
            "type": "card",
            "card": {
                "brand": "visa",
                "last4": last4,
                "exp_month": 12,
                "exp_year": 2030,
                "country": country,
                "funding": "credit",
            },
        },
    )


def subscription(store: Store, sub_id: str, cus_id: str, *, status: str = "active") -> None:
    store.add(
        "stripe",
        "subscriptions",
        {
            "id": sub_id,
            "object": "subscription",
            "created": T0,
            "customer": cus_id,
            "status": status,
            "collection_method": "charge_automatically",
            "currency": "eur",
            "metadata": {"plan": "monthly"},
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": "si_" + sub_id.removeprefix("sub_"),
                        "object": "subscription_item",
                        "created": T0,
                        "subscription": sub_id,
                        "quantity": 1,
                        "current_period_start": T0,
                        "current_period_end": T0 + 30 * 86400,
                    }
                ],
                "has_more": False,
                "url": f"/v1/subscription_items?subscription={sub_id}",
            },
        },
    )


def invoice(
    store: Store,
    in_id: str,
    cus_id: str,
    *,
    sub_id: str | None = None,
    amount: int = 2400,
    status: str = "open",
    created: int = T0,
) -> None:
    parent = (
        {
            "type": "subscription_details",
            "subscription_details": {"subscription": sub_id, "metadata": {}},
        }
        if sub_id
        else None
    )
    store.add(
        "stripe",
        "invoices",
        {
            "id": in_id,
            "object": "invoice",
            "created": created,
            "customer": cus_id,
            "customer_email": f"{cus_id}@example.fr",
            "parent": parent,
            "status": status,
            "collection_method": "charge_automatically",
            "currency": "eur",
            "amount_due": amount,
            "amount_paid": 0,
            "amount_remaining": amount,
            "total": amount,
            "subtotal": round(amount / 1.2),
            "total_excluding_tax": round(amount / 1.2),
            "attempt_count": 0,
            "status_transitions": {"finalized_at": created},
            "metadata": {} if sub_id else {"order_id": "ORD-" + in_id},
        },
    )
