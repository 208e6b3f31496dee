"""GoCardless list endpoints as data: which SDK service lists a resource, and how.

``service`` names the ``gocardless_pro.services`` class; the connector builds
it itself (with the SDK's own retries off) rather than through the client's
properties, which hard-code three retries 0.5 s apart. ``required`` names the
filters a list cannot go without (payout items are only listed per payout).
``include`` maps an event ``include`` to the ``resource_type`` it needs: the
API refuses ``include=payment`` without ``resource_type=payments``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

PAGE_SIZE = 500  # GoCardless's maximum ``limit``


@dataclass(frozen=True)
class Endpoint:
    service: str
    required: tuple[str, ...] = ()
    created_filter: bool = True


ENDPOINTS: Mapping[str, Endpoint] = MappingProxyType(
    {
        "customers": Endpoint("CustomersService"),
        "mandates": Endpoint("MandatesService"),
        "subscriptions": Endpoint("SubscriptionsService"),
        "instalment_schedules": Endpoint("InstalmentSchedulesService"),
        "payments": Endpoint("PaymentsService"),
        "refunds": Endpoint("RefundsService"),
        "payouts": Endpoint("PayoutsService"),
        "payout_items": Endpoint("PayoutItemsService", required=("payout",), created_filter=False),
        "events": Endpoint("EventsService"),
    }
)

# ``include`` value -> the ``resource_type`` it requires (and the key under ``linked``).
EVENT_INCLUDES: Mapping[str, str] = MappingProxyType(
    {
        "payment": "payments",
        "mandate": "mandates",
        "subscription": "subscriptions",
        "refund": "refunds",
        "payout": "payouts",
        "instalment_schedule": "instalment_schedules",
        "customer": "customers",
    }
)


def endpoint(resource: str) -> Endpoint:
    try:
        return ENDPOINTS[resource]
    except KeyError:
        raise ValueError(
            f"unknown GoCardless resource {resource!r}; known: {', '.join(ENDPOINTS)}"
        ) from None
