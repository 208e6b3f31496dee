"""The withdrawal-window reminder (customers) and overdue refunds (finance only)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from domain.notices import plan as p
from domain.notices.common import notice_id
from domain.notices.policy import ReturnWindowRule
from tests.domain.notices.build import (
    POLICY,
    Outbox,
    customers,
    outbox,
    paris,
    payments,
    queued_on,
    refunds,
    shipments,
    simulate_shipments,
)

DELIVERED = {  # delivered on Monday 22 June 2026: the window closes on Monday 6 July
    "tracking_id": "T1",
    "order_id": "ORD-1",
    "status": "delivered",
    "delivered_at": paris("2026-06-22", 10),
}
RETURNED = {  # sent back, delivered to the shop on 27 June: refund due by 11 July
    "tracking_id": "R1",
    "order_id": "ORD-1",
    "direction": "return",
    "status": "delivered",
    "delivered_at": paris("2026-06-27", 11),
}
PAID = {"payment_id": "ch_1", "order_id": "ORD-1", "customer_id": "cus_1", "amount": 8900}


def frames(
    *parcels: dict[str, Any],
    paid: tuple[dict[str, Any], ...] = (PAID,),
    refunded: tuple[dict[str, Any], ...] = (),
    people: Any = None,
    box: Outbox | None = None,
) -> p.ShipmentFrames:
    extra: dict[str, Any] = {}
    if box is not None:
        extra["outbox"] = box.frame(p.SHIPMENT_KINDS, pending_only=True)
        extra["register"] = box_register(box)
    return p.ShipmentFrames(
        shipments(*parcels),
        customers() if people is None else people,
        payments=payments(*paid),
        refunds=refunds(*refunded),
        **extra,
    )


def box_register(box: Outbox) -> Any:
    from tests.domain.notices.build import register

    return register(box.exceptions.values())


def test_withdrawal_reminder_once_three_days_before_the_window_closes() -> None:
    nights, box = simulate_shipments(
        lambda day, box: frames(DELIVERED), date(2026, 6, 22), date(2026, 7, 10)
    )
    assert queued_on(nights) == {"return_window:T1:2026-07-06": date(2026, 7, 3)}
    context = box.rows["return_window:T1:2026-07-06"].context
    assert (context["delivered_on"], context["closes_on"]) == ("2026-06-22", "2026-07-06")


def test_no_reminder_for_businesses_returned_or_refunded_orders_or_when_disabled() -> None:
    day = date(2026, 7, 3)
    pro = customers({"customer_id": "cus_1", "is_business": True})
    cases = {
        "business": frames(DELIVERED, people=pro),
        "returned": frames(DELIVERED, {**RETURNED, "status": "in_transit", "delivered_at": None}),
        "refunded": frames(DELIVERED, refunded=({"refund_id": "re_1", "order_id": "ORD-1"},)),
        "refunded by payment": frames(DELIVERED, paid=({**PAID, "status": "refunded"},)),
    }
    for case, built in cases.items():
        kinds = [n.kind for n in p.plan_shipment_notices(built, day, POLICY).notices]
        assert "return_window" not in kinds, case
    off = replace(POLICY, return_window=ReturnWindowRule(enabled=False))
    assert p.plan_shipment_notices(frames(DELIVERED), day, off).notices == ()


def test_a_waiting_reminder_is_withdrawn_when_the_customer_starts_a_return() -> None:
    waiting = outbox(
        {"return_window:T1:2026-07-06": "queued"}, {"return_window:T1:2026-07-06": "T1"}
    )
    started = {**RETURNED, "status": "in_transit", "delivered_at": None}
    built = replace(frames(DELIVERED, started), outbox=waiting)
    plan = p.plan_shipment_notices(built, date(2026, 7, 4), POLICY)
    assert [(w.reason, w.dedupe_keys) for w in plan.withdrawals] == [
        ("returned or refunded", ("return_window:T1:2026-07-06",))
    ]


def test_an_overdue_refund_is_an_item_for_finance_once_and_closes_when_refunded() -> None:
    def shop(day: date, box: Outbox) -> p.ShipmentFrames:
        refunded = (
            ({"refund_id": "re_1", "payment_id": "ch_1"},) if day >= date(2026, 7, 15) else ()
        )
        return frames(RETURNED, refunded=refunded, box=box)

    nights, box = simulate_shipments(shop, date(2026, 7, 5), date(2026, 7, 20))

    assert queued_on(nights) == {"refund_overdue:R1": date(2026, 7, 12)}
    item = box.rows["refund_overdue:R1"]
    assert (item.kind, item.audience, item.template, item.locale) == (
        "refund_overdue",
        "finance",
        "refund_overdue",
        "fr",
    )
    assert item.context["amount"] == 8900
    assert item.context["due_on"] == "2026-07-11"
    assert all(n.audience == "finance" for n in box.rows.values())  # never the customer
    row = box.exceptions[notice_id("refund_overdue:R1")]
    assert (row["kind"], row["event_on"], row["due_on"], row["amount"], row["currency"]) == (
        "refund_overdue",
        date(2026, 6, 27),
        date(2026, 7, 11),
        8900,
        "EUR",
    )
    assert (row["first_seen_on"], row["last_seen_on"]) == (date(2026, 7, 12), date(2026, 7, 14))
    assert (row["status"], row["closed_on"], row["outcome"]) == (
        "closed",
        date(2026, 7, 15),
        "refunded",
    )


def test_a_failed_refund_does_not_settle_a_return() -> None:
    failed = ({"refund_id": "re_1", "order_id": "ORD-1", "status": "failed"},)
    plan = p.plan_shipment_notices(frames(RETURNED, refunded=failed), date(2026, 7, 12), POLICY)
    assert [n.dedupe_key for n in plan.notices] == ["refund_overdue:R1"]
    plan = p.plan_shipment_notices(frames(RETURNED), date(2026, 7, 11), POLICY)
    assert plan.notices == ()  # the 14th day is still in time
