"""AfterShip trackings -> shipments."""

from __future__ import annotations

from datetime import date

import pandas as pd

from domain.normalise.aftership import normalise_shipments
from tests.domain.normalise import wire


def test_delivered_return_maps_to_its_row() -> None:
    out = normalise_shipments([wire.tracking()], 5)
    assert out.problems.empty
    assert wire.plain(out.rows) == {
        "tracking_id": "5b7658cec7c33c0e007de3c5",
        "provider": "aftership",
        "tracking_number": "CO1234567890FR",
        "carrier": "colissimo",
        "order_id": "ORD-1",
        "customer_id": None,
        "direction": "return",
        "status": "delivered",
        "tag": "Delivered",
        "subtag": "Delivered_001",
        "destination_country": "DE",
        "shipped_at": pd.Timestamp("2026-06-02T06:30:00Z"),  # first InTransit checkpoint
        "expected_delivery_on": date(2026, 6, 4),
        "delivered_at": pd.Timestamp("2026-06-04T07:00:00Z"),
        "created_at": pd.Timestamp("2026-06-01T10:00:00Z"),
        "updated_at": pd.Timestamp("2026-06-04T07:00:00Z"),
        "source_version": 5,
    }


def test_in_transit_outbound_with_pickup_date_and_courier_estimate() -> None:
    obj = wire.tracking(
        tag="OutForDelivery",
        subtag="OutForDelivery_001",
        custom_fields={"direction": "outbound"},
        shipment_pickup_date="2026-06-01T18:00:00+02:00",
        shipment_delivery_date=None,
        latest_estimated_delivery=None,
    )
    row = wire.plain(normalise_shipments([obj], 1).rows)
    assert (row["direction"], row["status"]) == ("outbound", "out_for_delivery")
    assert row["shipped_at"] == pd.Timestamp("2026-06-01T16:00:00Z")
    assert row["expected_delivery_on"] == date(2026, 6, 5)
    assert row["delivered_at"] is None


def test_every_tag_has_a_status() -> None:
    tags = [
        "Pending",
        "InfoReceived",
        "InTransit",
        "OutForDelivery",
        "AttemptFail",
        "Delivered",
        "AvailableForPickup",
        "Exception",
        "Expired",
    ]
    objs = [wire.tracking(id=f"t{n}", tag=tag) for n, tag in enumerate(tags)]
    out = normalise_shipments(objs, 1)
    assert out.rows["status"].tolist() == [
        "pending",
        "info_received",
        "in_transit",
        "out_for_delivery",
        "attempt_fail",
        "delivered",
        "available_for_pickup",
        "exception",
        "expired",
    ]


def test_bad_direction_and_naive_time_are_problems() -> None:
    objs = [
        wire.tracking(id="t1", custom_fields={"direction": "sideways"}),
        wire.tracking(id="t2", created_at="2026-06-01T12:00:00"),
        wire.tracking(id="t3"),
    ]
    out = normalise_shipments(objs, 1)
    assert out.rows["tracking_id"].tolist() == ["t3"]
    assert out.problems["reason"].tolist() == [
        "unknown custom_fields.direction 'sideways'",
        "created_at has no time zone: '2026-06-01T12:00:00'",
    ]
