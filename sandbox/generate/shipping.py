"""AfterShip trackings: one per shipped order, and one per return.

Orders ship 1–3 days after payment with the carrier usual in the destination
country; transit takes 2 days in France, 3–5 elsewhere. 12 % arrive 2–6 days
after the promised date, 3 % fail once (AttemptFail) and arrive a day later,
3 % end in an Exception (lost, refused, wrong address) and are never
delivered. 7 % of delivered consumer orders come back: a separate tracking
(``custom_fields.direction = "return"``, same ``order_id``) created 3–14 days
after delivery, refunded 2–6 days after it arrives back. Everything is shown
as it stands at the clock start (in transit, out for delivery…).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from sandbox.generate.context import DAY, Context, day_of, iso_paris
from sandbox.generate.ids import Ids
from sandbox.generate.orders import Order
from sandbox.generate.people import Person

CARRIERS = {
    "FR": ("colissimo", "chronopost"),
    "DE": ("dhl", "dpd"),
    "IT": ("poste-italiane", "gls"),
    "ES": ("correos", "ups"),
    "BE": ("bpost", "dpd"),
    "NL": ("postnl", "dhl"),
}
RETURN_RATE = 0.07
_MSG = {
    "InfoReceived_001": "The carrier received a request from the shipper and is about to"
    " pick up the shipment.",
    "InTransit_002": "Shipment accepted by the carrier",
    "InTransit_001": "Shipment on the way",
    "OutForDelivery_001": "Out for delivery",
    "AttemptFail_001": "Addressee not available",
    "Delivered_001": "Shipment delivered successfully",
    "Exception_013": "Shipment lost",
    "Exception_003": "Customer refused delivery",
    "Exception_007": "Incorrect address",
}


@dataclass
class Trip:
    created: int
    pickup: int
    promised: int
    delivered: int | None  # when it arrives (maybe after the clock); None: never
    attempt_fail: int | None = None
    exception: tuple[int, str] | None = None


def plan_trip(rng: random.Random, start: int, country: str, *, plain: bool = False) -> Trip:
    pickup = start + rng.randint(4, 20) * 3600
    transit = 2 if country == "FR" else rng.randint(3, 5)
    promised = pickup + transit * DAY
    if plain:
        return Trip(start, pickup, promised, promised - 2 * 3600)
    roll = rng.random()
    if roll < 0.03:
        sub = rng.choice(("Exception_013", "Exception_003", "Exception_007"))
        return Trip(start, pickup, promised, None, exception=(promised - DAY // 2, sub))
    delivered = promised - rng.randint(1, 6) * 3600
    if roll < 0.15:
        delivered += rng.randint(2, 6) * DAY
    fail = None
    if 0.15 <= roll < 0.18:
        fail = delivered
        delivered += DAY
    return Trip(start, pickup, promised, delivered, attempt_fail=fail)


def _checkpoint(at: int, slug: str, subtag: str, city: str, country: str) -> dict[str, Any]:
    return {
        "created_at": iso_paris(at),
        "slug": slug,
        "checkpoint_time": iso_paris(at),
        "city": city,
        "location": city,
        "country_region": _alpha3(country),
        "message": _MSG[subtag],
        "tag": subtag.split("_")[0],
        "subtag": subtag,
        "subtag_message": _MSG[subtag],
    }


def tracking(
    ctx: Context,
    ids: Ids,
    person: Person,
    order: Order,
    trip: Trip,
    *,
    direction: str,
    slug: str,
) -> dict[str, Any]:
    """The tracking as it stands at the clock start (sparse AfterShip object)."""
    origin, dest = ("FR", person.country) if direction == "outbound" else (person.country, "FR")
    here, there = ("Lyon", person.city) if direction == "outbound" else (person.city, "Lyon")
    points = [_checkpoint(trip.created, slug, "InfoReceived_001", here, origin)]
    if trip.pickup < ctx.end:
        points.append(_checkpoint(trip.pickup, slug, "InTransit_002", here, origin))
    mid = (trip.pickup + trip.promised) // 2
    if mid < ctx.end:
        points.append(_checkpoint(mid, slug, "InTransit_001", there, dest))
    if trip.attempt_fail and trip.attempt_fail < ctx.end:
        points.append(_checkpoint(trip.attempt_fail, slug, "AttemptFail_001", there, dest))
    if trip.exception and trip.exception[0] < ctx.end:
        points.append(_checkpoint(trip.exception[0], slug, trip.exception[1], there, dest))
    if trip.delivered is not None:
        out_at = trip.delivered - 5 * 3600
        if out_at < ctx.end:
            points.append(_checkpoint(out_at, slug, "OutForDelivery_001", there, dest))
        if trip.delivered < ctx.end:
            points.append(_checkpoint(trip.delivered, slug, "Delivered_001", there, dest))
    last = points[-1]
    promised_day = day_of(trip.promised).isoformat()
    estimate = day_of(trip.delivered or trip.promised).isoformat()
    delivered = trip.delivered is not None and trip.delivered < ctx.end
    number = f"{slug[:2].upper()}{ids.token(11)}FR"
    obj: dict[str, Any] = {
        "id": ids.hex(),
        "tracking_number": number,
        "slug": slug,
        "active": not delivered and trip.exception is None,
        "created_at": iso_paris(trip.created),
        "updated_at": last["checkpoint_time"],
        "tag": last["tag"],
        "subtag": last["subtag"],
        "subtag_message": last["subtag_message"],
        "order_id": order.order_id,
        "order_number": order.number,
        "order_date": iso_paris(order.at),
        "title": order.description,
        "language": person.locale,
        "origin_country_region": _alpha3(origin),
        "destination_country_region": _alpha3(dest),
        "destination_city": there,
        "destination_postal_code": person.postal_code if direction == "outbound" else "69003",
        "shipment_type": "standard",
        "shipment_package_count": 1,
        "shipment_pickup_date": iso_paris(trip.pickup) if trip.pickup < ctx.end else None,
        "shipment_delivery_date": iso_paris(trip.delivered)
        if trip.delivered and delivered
        else None,
        "order_promised_delivery_date": {"promised_delivery_date": promised_day},
        "courier_estimated_delivery_date": {"estimated_delivery_date": estimate},
        "aftership_estimated_delivery_date": {
            "estimated_delivery_date": estimate,
            "confidence_code": 0.9,
        },
        "latest_estimated_delivery": {
            "type": "specific",
            "source": "Carrier EDD",
            "datetime": estimate,
        },
        "return_to_sender": False,
        "custom_fields": {"direction": direction},
        "checkpoints": points,
        "transit_time": (trip.delivered - trip.pickup) // DAY
        if trip.delivered and delivered
        else None,
    }
    ctx.emit("aftership", "trackings", obj)
    return obj


_ALPHA3 = {"FR": "FRA", "DE": "DEU", "IT": "ITA", "ES": "ESP", "BE": "BEL", "NL": "NLD"}


def _alpha3(country: str) -> str:
    return _ALPHA3[country]


@dataclass
class Fulfilment:
    """What happened to an order after payment, in time order."""

    outbound: Trip | None = None
    back: Trip | None = None
    refund_at: int | None = None


def plan_fulfilment(
    rng: random.Random, ctx: Context, person: Person, order: Order, paid_at: int
) -> Fulfilment:
    out = Fulfilment()
    kind = order.anomaly
    if kind == "paid_not_shipped":
        return out
    ship = paid_at + rng.randint(1, 3) * DAY
    if ship >= ctx.end:
        return out
    plain = kind is not None
    out.outbound = plan_trip(rng, ship, person.country, plain=plain)
    delivered = out.outbound.delivered
    if delivered is None or delivered >= ctx.end:
        return out
    if kind == "refund_without_return":
        out.refund_at = delivered + 5 * DAY
        return out
    returns = kind == "return_without_refund" or (
        kind is None and not person.is_business and rng.random() < RETURN_RATE
    )
    if returns:
        start = delivered + rng.randint(3, 14) * DAY if kind is None else delivered + 3 * DAY
        if start < ctx.end:
            out.back = plan_trip(rng, start, person.country, plain=True)
            back = out.back.delivered
            if kind is None and back is not None:
                refund = back + rng.randint(2, 6) * DAY
                out.refund_at = refund if refund < ctx.end else None
    return out


def emit_trackings(
    ctx: Context, ids: Ids, rng: random.Random, person: Person, order: Order, plan: Fulfilment
) -> list[str]:
    slug = rng.choice(CARRIERS[person.country])
    out = []
    if plan.outbound is not None:
        out.append(
            tracking(ctx, ids, person, order, plan.outbound, direction="outbound", slug=slug)["id"]
        )
    if plan.back is not None:
        out.append(
            tracking(ctx, ids, person, order, plan.back, direction="return", slug=slug)["id"]
        )
    return out
