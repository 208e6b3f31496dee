"""Late parcels and parcels in trouble: one notice per parcel and status, withdrawn once
the parcel is delivered."""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.notices import plan as p
from tests.domain.notices.build import (
    POLICY,
    Outbox,
    customers,
    paris,
    payments,
    queued_on,
    shipments,
    simulate_shipments,
)

PARCEL = {
    "tracking_id": "T1",
    "order_id": "ORD-1",
    "expected_delivery_on": date(2026, 7, 3),
    "shipped_at": None,
    "created_at": paris("2026-06-29", 10),
    "updated_at": paris("2026-06-30", 10),
}
OWNER = payments({"payment_id": "ch_1", "order_id": "ORD-1", "customer_id": "cus_1"})


def frames(*parcels: dict[str, Any], box: Outbox | None = None) -> p.ShipmentFrames:
    waiting = box.frame(p.SHIPMENT_KINDS, pending_only=True) if box else None
    extra = {} if waiting is None else {"outbox": waiting}
    return p.ShipmentFrames(shipments(*parcels), customers(), payments=OWNER, **extra)


def test_a_late_parcel_is_announced_once_on_the_margin_day() -> None:
    nights, box = simulate_shipments(
        lambda day, box: frames(PARCEL), date(2026, 6, 30), date(2026, 7, 20)
    )
    assert queued_on(nights) == {"shipment_delay:T1:in_transit": date(2026, 7, 5)}
    notice = box.rows["shipment_delay:T1:in_transit"]
    # the customer comes from the order's payment: the tracking names nobody
    assert (notice.customer_id, notice.tracking_id, notice.stage) == ("cus_1", "T1", "in_transit")
    assert notice.context["expected_on"] == "2026-07-03"
    assert notice.context["days_late"] == 2


def test_one_notice_per_status_and_none_once_out_for_delivery() -> None:
    def parcel(day: date, box: Outbox) -> p.ShipmentFrames:
        status = "info_received" if day < date(2026, 7, 7) else "in_transit"
        if day >= date(2026, 7, 9):
            status = "out_for_delivery"
        return frames({**PARCEL, "status": status})

    nights, _ = simulate_shipments(parcel, date(2026, 7, 1), date(2026, 7, 12))
    assert queued_on(nights) == {
        "shipment_delay:T1:info_received": date(2026, 7, 5),
        "shipment_delay:T1:in_transit": date(2026, 7, 7),
    }


def test_delivery_withdraws_the_notices_still_waiting() -> None:
    def parcel(day: date, box: Outbox) -> p.ShipmentFrames:
        delivered = day >= date(2026, 7, 6)
        status = "delivered" if delivered else "in_transit"
        at = paris("2026-07-05", 15) if delivered else None
        return frames({**PARCEL, "status": status, "delivered_at": at}, box=box)

    # the sender has not run since the notice was queued on 5 July
    nights, box = simulate_shipments(parcel, date(2026, 7, 4), date(2026, 7, 8), sends=False)
    assert queued_on(nights) == {"shipment_delay:T1:in_transit": date(2026, 7, 5)}
    assert [(night.day, night.withdrawn) for night in nights if night.withdrawn] == [
        (date(2026, 7, 6), ["shipment_delay:T1:in_transit"])
    ]
    assert box.status["shipment_delay:T1:in_transit"] == "cancelled"


def test_a_notice_already_sent_is_not_withdrawn() -> None:
    def parcel(day: date, box: Outbox) -> p.ShipmentFrames:
        delivered = day >= date(2026, 7, 6)
        status = "delivered" if delivered else "in_transit"
        return frames({**PARCEL, "status": status, "delivered_at": paris("2026-07-06")}, box=box)

    nights, box = simulate_shipments(parcel, date(2026, 7, 4), date(2026, 7, 8))
    assert [night.withdrawn for night in nights] == [[]] * 5
    assert box.status["shipment_delay:T1:in_transit"] == "sent"


def test_exceptions_and_failed_attempts_are_announced_at_once() -> None:
    lost = {
        **PARCEL,
        "status": "exception",
        "subtag": "Exception_013",
        "updated_at": paris("2026-07-01", 11),
    }
    missed = {
        **PARCEL,
        "tracking_id": "T2",
        "status": "attempt_fail",
        "updated_at": paris("2026-07-02", 9),
    }
    old = {**lost, "tracking_id": "T3", "updated_at": paris("2025-11-02", 9)}
    nights, box = simulate_shipments(
        lambda day, box: frames(lost, missed, old), date(2026, 7, 1), date(2026, 7, 10)
    )
    assert queued_on(nights) == {
        "shipment_exception:T1:exception": date(2026, 7, 1),
        "shipment_exception:T2:attempt_fail": date(2026, 7, 2),
    }
    assert box.rows["shipment_exception:T1:exception"].context["reason"] == "Exception_013"


def test_returns_parcels_of_unknown_orders_and_quarantined_parcels_get_nothing() -> None:
    back = {**PARCEL, "direction": "return"}
    stranger = {**PARCEL, "tracking_id": "T9", "order_id": "ORD-9"}
    plan = p.plan_shipment_notices(frames(back, stranger), date(2026, 7, 5), POLICY)
    assert plan.notices == ()

    held = p.ShipmentFrames(
        shipments(PARCEL), customers(), payments=OWNER, quarantined=frozenset({"T1"})
    )
    plan = p.plan_shipment_notices(held, date(2026, 7, 5), POLICY)
    assert plan.notices == ()
    assert [n.dedupe_key for n in plan.held] == ["shipment_delay:T1:in_transit"]


def test_parcels_late_beyond_the_age_limit_are_left_to_customer_service() -> None:
    plan = p.plan_shipment_notices(frames(PARCEL), date(2026, 8, 3), POLICY)  # 31 days late
    assert plan.notices == ()
    plan = p.plan_shipment_notices(frames(PARCEL), date(2026, 8, 2), POLICY)  # 30 days late
    assert [n.dedupe_key for n in plan.notices] == ["shipment_delay:T1:in_transit"]
