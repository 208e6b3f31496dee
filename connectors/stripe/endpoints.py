"""Stripe list endpoints as data: path, default ``expand`` and default filters.

One table instead of a branch per resource (STYLE "Avoid"): the connector
reads ``ENDPOINTS[resource]`` and nothing else knows a resource's quirks.
Two quirks live here:

- ``GET /v1/subscriptions`` leaves out canceled subscriptions unless asked for
  ``status=all``; a sync that forgot would never see a cancellation land;
- a charge's fee and net are on its balance transaction, and a payout's
  reconciliation needs each transaction's source: both are expanded in the
  same request rather than fetched one by one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

PAGE_SIZE = 100  # Stripe's maximum ``limit``


@dataclass(frozen=True)
class Endpoint:
    """How to list one resource: ``GET {path}?limit=100&expand[]=…&<params>``."""

    path: str
    expand: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


ENDPOINTS: Mapping[str, Endpoint] = MappingProxyType(
    {
        "customers": Endpoint("/v1/customers"),
        "subscriptions": Endpoint("/v1/subscriptions", params=MappingProxyType({"status": "all"})),
        "invoices": Endpoint("/v1/invoices"),
        "invoice_payments": Endpoint("/v1/invoice_payments"),
        "charges": Endpoint("/v1/charges", expand=("data.balance_transaction",)),
        "payment_intents": Endpoint("/v1/payment_intents"),
        "refunds": Endpoint("/v1/refunds"),
        "disputes": Endpoint("/v1/disputes"),
        "payouts": Endpoint("/v1/payouts"),
        "balance_transactions": Endpoint("/v1/balance_transactions", expand=("data.source",)),
        "payment_methods": Endpoint("/v1/payment_methods"),
        "tax_rates": Endpoint("/v1/tax_rates"),
        "events": Endpoint("/v1/events"),
    }
)


def endpoint(resource: str) -> Endpoint:
    try:
        return ENDPOINTS[resource]
    except KeyError:
        raise ValueError(
            f"unknown Stripe resource {resource!r}; known: {', '.join(ENDPOINTS)}"
        ) from None
