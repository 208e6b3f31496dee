"""AfterShip trackings -> ``shipments`` rows.

- ``direction`` is ``custom_fields.direction`` (``outbound`` | ``return``; absent means
  outbound, anything else is a problem); ``order_id`` ties a parcel to its order.
- ``status`` is the tag in snake case (``OutForDelivery`` -> ``out_for_delivery``);
  ``tag`` keeps AfterShip's own; ``carrier`` is the courier ``slug``.
- ``shipped_at``: ``shipment_pickup_date``, else the first ``InTransit`` checkpoint.
- ``expected_delivery_on``: the first present of ``latest_estimated_delivery``,
  ``courier_estimated_delivery_date``, ``aftership_estimated_delivery_date`` (their
  date part: ``"2026-07-03T18:00:00+02:00"`` -> 2026-07-03).
- ``delivered_at`` only when the tag is ``Delivered``: ``shipment_delivery_date``, else
  the ``Delivered`` checkpoint.
- ``destination_country`` arrives as ISO alpha-3 (``DEU``) and is stored as ``DE``.

AfterShip times carry their offset (``2026-06-02T10:00:00+02:00``); they are stored in
UTC (08:00Z). A time without an offset is a problem, not a guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.normalise import fields as f
from domain.normalise.codes import ALPHA3_TO_ALPHA2
from domain.normalise.core import Normalised, Versions, run
from domain.normalise.schema import SHIPMENTS

PROVIDER = "aftership"
TAGS = {
    "Pending": "pending",
    "InfoReceived": "info_received",
    "InTransit": "in_transit",
    "OutForDelivery": "out_for_delivery",
    "AttemptFail": "attempt_fail",
    "Delivered": "delivered",
    "AvailableForPickup": "available_for_pickup",
    "Exception": "exception",
    "Expired": "expired",
}
DIRECTIONS = frozenset({"outbound", "return"})
ESTIMATES = (
    "latest_estimated_delivery.datetime",
    "courier_estimated_delivery_date.estimated_delivery_date",
    "aftership_estimated_delivery_date.estimated_delivery_date",
)


def _checkpoint_time(checkpoints: list[Any], tag: str) -> Any:
    """The first checkpoint with ``tag`` (AfterShip lists them oldest first)."""
    for point in checkpoints:
        if isinstance(point, Mapping) and point.get("tag") == tag:
            return f.instant(point, "checkpoint_time")
    return None


def _country(value: Any) -> str | None:
    code = f.check_text(value, "destination_country_region")
    if not code:
        return None
    code = code.upper()
    if len(code) == 2:
        return code
    return ALPHA3_TO_ALPHA2.get(code)


def shipment_row(obj: f.Obj) -> tuple[Any, ...]:
    tracking_id = f.ident(obj)
    tag = f.status(obj, TAGS, "tag")
    direction = f.text(obj, "custom_fields.direction") or "outbound"
    if direction not in DIRECTIONS:
        raise f.Malformed(f"unknown custom_fields.direction {direction!r}")
    number = f.text(obj, "tracking_number")
    carrier = f.text(obj, "slug")
    if not number:
        raise f.Malformed("missing tracking_number")
    if not carrier:
        raise f.Malformed("missing slug")
    checkpoints = f.items(obj, "checkpoints")
    shipped = f.instant(obj, "shipment_pickup_date") or _checkpoint_time(checkpoints, "InTransit")
    expected = next((d for d in (f.day(obj, path) for path in ESTIMATES) if d), None)
    delivered = None
    if tag == "Delivered":
        delivered = f.instant(obj, "shipment_delivery_date") or _checkpoint_time(
            checkpoints, "Delivered"
        )
    return (
        tracking_id,
        PROVIDER,
        number,
        carrier,
        f.text(obj, "order_id"),
        f.text(obj, "custom_fields.customer_id"),
        direction,
        TAGS[tag],
        tag,
        f.text(obj, "subtag"),
        _country(obj.get("destination_country_region")),
        shipped,
        expected,
        delivered,
        f.instant(obj, "created_at"),
        f.instant(obj, "updated_at"),
    )


def normalise_shipments(objects: Sequence[Any], source_version: Versions) -> Normalised:
    """AfterShip trackings -> ``shipments`` rows."""
    return run(
        objects, source_version, SHIPMENTS, shipment_row, provider=PROVIDER, object_type="tracking"
    )
