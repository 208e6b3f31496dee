"""Orders against parcels and refunds: each rule, found and its nearest clean case."""

from __future__ import annotations

import json

import pandas as pd

from domain.reconcile import ReconPolicy
from domain.reconcile.orders import (
    paid_not_shipped,
    refund_without_return,
    return_without_refund,
    shipped_not_paid,
)
from tests.domain.reconcile.build import AS_OF, at, frames

POLICY = ReconPolicy()


def _ids(found: pd.DataFrame) -> list[list[str]]:
    return [json.loads(v) for v in found["object_ids"]]


def test_an_order_paid_weeks_ago_and_never_shipped_is_found() -> None:
    f = frames(
        payments=[
            {
                "payment_id": "ch_1",
                "order_id": "ORD-1",
                "invoice_id": "in_1",
                "paid_at": at("2026-06-01"),
                "created_at": at("2026-06-01"),
            },
        ]
    )
    found = paid_not_shipped(f.payments, f.shipments, AS_OF, POLICY)
    assert _ids(found) == [["ORD-1", "ch_1", "in_1"]]
    assert found["amount"].tolist() == [4900]
    assert json.loads(found["details"][0])["days_since_payment"] == 29


def test_an_order_within_the_shipping_promise_or_shipped_is_not() -> None:
    f = frames(
        payments=[
            {"payment_id": "ch_1", "order_id": "ORD-1", "created_at": at("2026-06-25")},
            {"payment_id": "ch_2", "order_id": "ORD-2", "created_at": at("2026-06-01")},
            {
                "payment_id": "ch_3",
                "order_id": "ORD-3",
                "created_at": at("2026-06-01"),
                "status": "refunded",
            },
        ],
        shipments=[{"tracking_id": "t2", "order_id": "ORD-2"}],
    )
    assert paid_not_shipped(f.payments, f.shipments, AS_OF, POLICY).empty


def test_a_parcel_whose_order_was_never_paid_is_found() -> None:
    f = frames(
        payments=[
            {
                "payment_id": "PM1",
                "provider": "gocardless",
                "order_id": "ORD-2",
                "status": "failed",
                "created_at": at("2026-05-01"),
            },
        ],
        shipments=[
            {"tracking_id": "t1", "order_id": "ORD-1", "shipped_at": at("2026-06-01")},
            {"tracking_id": "t2", "order_id": "ORD-2", "shipped_at": at("2026-05-03")},
        ],
    )
    found = shipped_not_paid(f.payments, f.invoices, f.shipments, AS_OF, POLICY)
    assert _ids(found) == [["ORD-1", "t1"], ["ORD-2", "t2"]]
    assert found["provider"].tolist() == ["aftership", "gocardless"]
    assert found["amount"].tolist() == [pd.NA, 4900]


def test_a_parcel_paid_or_within_the_grace_is_not() -> None:
    f = frames(
        payments=[
            {"payment_id": "ch_1", "order_id": "ORD-1", "created_at": at("2026-05-01")},
            {
                "payment_id": "ch_2",
                "order_id": "ORD-2",
                "status": "refunded",
                "created_at": at("2026-05-01"),
            },
            {
                "payment_id": "PM3",
                "order_id": "ORD-3",
                "status": "pending",
                "created_at": at("2026-06-25"),
            },
        ],
        shipments=[
            {"tracking_id": "t1", "order_id": "ORD-1", "shipped_at": at("2026-05-02")},
            {"tracking_id": "t2", "order_id": "ORD-2", "shipped_at": at("2026-05-02")},
            {"tracking_id": "t3", "order_id": "ORD-3", "shipped_at": at("2026-06-26")},
            {"tracking_id": "t4", "order_id": None, "shipped_at": at("2026-05-02")},
        ],
    )
    assert shipped_not_paid(f.payments, f.invoices, f.shipments, AS_OF, POLICY).empty


def test_a_debit_being_retried_waits_for_its_charge_date() -> None:
    retry = {"provider": "gocardless", "status": "pending", "created_at": at("2026-06-01")}
    f = frames(
        payments=[
            {"payment_id": "PM1", "order_id": "ORD-1", **retry, "charge_date": "2026-07-04"},
            {"payment_id": "PM2", "order_id": "ORD-2", **retry, "charge_date": "2026-06-05"},
        ],
        shipments=[
            {"tracking_id": "t1", "order_id": "ORD-1", "shipped_at": at("2026-06-03")},
            {"tracking_id": "t2", "order_id": "ORD-2", "shipped_at": at("2026-06-03")},
        ],
    )
    found = shipped_not_paid(f.payments, f.invoices, f.shipments, AS_OF, POLICY)
    assert _ids(found) == [["ORD-2", "t2"]]


def test_a_refund_of_delivered_goods_never_sent_back_is_found() -> None:
    f = frames(
        payments=[
            {
                "payment_id": "ch_1",
                "order_id": "ORD-1",
                "status": "refunded",
                "created_at": at("2026-04-01"),
            }
        ],
        refunds=[{"refund_id": "re_1", "payment_id": "ch_1", "created_at": at("2026-05-01")}],
        shipments=[{"tracking_id": "t1", "order_id": "ORD-1", "delivered_at": at("2026-04-05")}],
    )
    found = refund_without_return(f.payments, f.refunds, f.shipments, AS_OF, POLICY)
    assert _ids(found) == [["ORD-1", "ch_1", "re_1", "t1"]]


def test_a_refund_with_a_return_or_still_within_the_deadline_is_not() -> None:
    f = frames(
        payments=[
            {"payment_id": "ch_1", "order_id": "ORD-1", "created_at": at("2026-04-01")},
            {"payment_id": "ch_2", "order_id": "ORD-2", "created_at": at("2026-04-01")},
            {"payment_id": "ch_3", "order_id": "ORD-3", "created_at": at("2026-04-01")},
        ],
        refunds=[
            {"refund_id": "re_1", "payment_id": "ch_1", "created_at": at("2026-05-01")},
            {"refund_id": "re_2", "payment_id": "ch_2", "created_at": at("2026-06-25")},
            {
                "refund_id": "re_3",
                "payment_id": "ch_3",
                "created_at": at("2026-05-01"),
                "status": "failed",
            },
        ],
        shipments=[
            {"tracking_id": "t1", "order_id": "ORD-1", "delivered_at": at("2026-04-05")},
            {"tracking_id": "r1", "order_id": "ORD-1", "direction": "return"},
            {"tracking_id": "t2", "order_id": "ORD-2", "delivered_at": at("2026-04-05")},
            {"tracking_id": "t3", "order_id": "ORD-3", "delivered_at": at("2026-04-05")},
        ],
    )
    assert refund_without_return(f.payments, f.refunds, f.shipments, AS_OF, POLICY).empty


def test_a_return_unrefunded_after_the_legal_14_days_is_found() -> None:
    f = frames(
        payments=[
            {
                "payment_id": "PM1",
                "provider": "gocardless",
                "order_id": "ORD-1",
                "created_at": at("2026-04-01"),
            }
        ],
        shipments=[
            {"tracking_id": "t1", "order_id": "ORD-1", "delivered_at": at("2026-04-05")},
            {
                "tracking_id": "r1",
                "order_id": "ORD-1",
                "direction": "return",
                "delivered_at": at("2026-06-15"),
            },
        ],
    )
    found = return_without_refund(f.payments, f.refunds, f.shipments, AS_OF, POLICY)
    assert _ids(found) == [["ORD-1", "PM1", "r1", "t1"]]
    assert json.loads(found["details"][0])["days_since_return"] == 15


def test_a_return_refunded_or_within_14_days_or_in_transit_is_not() -> None:
    back = {"direction": "return", "delivered_at": at("2026-06-01")}
    f = frames(
        payments=[
            {"payment_id": "ch_1", "order_id": "ORD-1", "created_at": at("2026-04-01")},
            {"payment_id": "ch_2", "order_id": "ORD-2", "created_at": at("2026-04-01")},
            {"payment_id": "ch_3", "order_id": "ORD-3", "created_at": at("2026-04-01")},
        ],
        refunds=[{"refund_id": "re_1", "payment_id": "ch_1", "created_at": at("2026-06-04")}],
        shipments=[
            {"tracking_id": "r1", "order_id": "ORD-1", **back},
            {"tracking_id": "r2", "order_id": "ORD-2", **back, "delivered_at": at("2026-06-17")},
            {
                "tracking_id": "r3",
                "order_id": "ORD-3",
                "direction": "return",
                "status": "in_transit",
            },
        ],
    )
    assert return_without_refund(f.payments, f.refunds, f.shipments, AS_OF, POLICY).empty
