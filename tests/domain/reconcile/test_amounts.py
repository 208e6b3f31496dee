"""Invoices against payments; duplicates and orphans: found, and the nearest clean case."""

from __future__ import annotations

import json

import pandas as pd

from domain.reconcile import ReconPolicy
from domain.reconcile.amounts import (
    amount_mismatch,
    currency_mismatch,
    duplicate_payment,
    invoice_paid_twice,
    orphan_payment,
)
from tests.domain.reconcile.build import at, frames

POLICY = ReconPolicy()
T = at("2026-06-01")


def _ids(found: pd.DataFrame) -> list[list[str]]:
    return [json.loads(v) for v in found["object_ids"]]


def test_a_charge_short_of_its_invoice_is_an_amount_mismatch() -> None:
    f = frames(
        invoices=[
            {"invoice_id": "in_1", "total": 5900, "status": "open"},
            {"invoice_id": "in_2", "total": 5900},
        ],
        payments=[
            {"payment_id": "ch_1", "invoice_id": "in_1", "amount": 5400, "created_at": T},
            {"payment_id": "ch_2", "invoice_id": "in_2", "amount": 5900, "created_at": T},
            {"payment_id": "ch_3", "invoice_id": "in_2", "status": "failed", "created_at": T},
        ],
    )
    found = amount_mismatch(f.payments, f.invoices)
    assert _ids(found) == [["ch_1", "in_1"]]
    assert found["amount"].tolist() == [-500]
    assert invoice_paid_twice(f.payments, f.invoices).empty


def test_two_payments_adding_up_to_the_invoice_are_fine() -> None:
    f = frames(
        invoices=[
            {"invoice_id": "in_1", "total": 6000},
            {"invoice_id": "in_2", "total": 100, "status": "open"},
        ],
        payments=[
            {"payment_id": "ch_1", "invoice_id": "in_1", "amount": 4000, "created_at": T},
            {"payment_id": "ch_2", "invoice_id": "in_1", "amount": 2000, "created_at": T},
        ],
    )
    assert amount_mismatch(f.payments, f.invoices).empty
    assert invoice_paid_twice(f.payments, f.invoices).empty


def test_an_invoice_paid_by_two_charges_is_paid_twice_not_mismatched() -> None:
    f = frames(
        invoices=[{"invoice_id": "in_1", "total": 4900}],
        payments=[
            {"payment_id": "ch_1", "invoice_id": "in_1", "created_at": T},
            {"payment_id": "PM1", "provider": "gocardless", "invoice_id": "in_1", "created_at": T},
        ],
    )
    found = invoice_paid_twice(f.payments, f.invoices)
    assert _ids(found) == [["PM1", "ch_1", "in_1"]]
    assert found["amount"].tolist() == [4900]
    assert amount_mismatch(f.payments, f.invoices).empty


def test_a_payment_in_another_currency_than_its_invoice() -> None:
    f = frames(
        invoices=[{"invoice_id": "in_1"}, {"invoice_id": "in_2"}],
        payments=[
            {"payment_id": "ch_1", "invoice_id": "in_1", "currency": "GBP", "created_at": T},
            {"payment_id": "ch_2", "invoice_id": "in_2", "created_at": T},
        ],
    )
    assert _ids(currency_mismatch(f.payments, f.invoices)) == [["ch_1", "in_1"]]
    assert amount_mismatch(f.payments, f.invoices).empty


def test_the_same_order_charged_twice_within_minutes_across_providers() -> None:
    f = frames(
        payments=[
            {"payment_id": "ch_1", "order_id": "ORD-1", "customer_id": "cus_1", "created_at": T},
            {
                "payment_id": "PM1",
                "provider": "gocardless",
                "order_id": "ORD-1",
                "customer_id": "CU1",
                "created_at": T + pd.Timedelta(minutes=2),
            },
        ]
    )
    found = duplicate_payment(f.payments, POLICY)
    assert _ids(found) == [["ORD-1", "PM1", "ch_1"]]
    assert found["provider"].tolist() == ["gocardless,stripe"]
    assert found["amount"].tolist() == [4900]


def test_no_duplicate_when_days_apart_refunded_or_another_amount() -> None:
    f = frames(
        payments=[
            {"payment_id": "ch_1", "order_id": "ORD-1", "created_at": T},
            {"payment_id": "ch_2", "order_id": "ORD-1", "created_at": T + pd.Timedelta(days=2)},
            {"payment_id": "ch_3", "order_id": "ORD-2", "created_at": T},
            {"payment_id": "ch_4", "order_id": "ORD-2", "status": "refunded", "created_at": T},
            {"payment_id": "ch_5", "order_id": "ORD-3", "created_at": T},
            {"payment_id": "ch_6", "order_id": "ORD-3", "amount": 100, "created_at": T},
            {"payment_id": "ch_7", "customer_id": "cus_1", "invoice_id": "in_1", "created_at": T},
            {"payment_id": "ch_8", "customer_id": "cus_1", "invoice_id": "in_2", "created_at": T},
        ]
    )
    assert duplicate_payment(f.payments, POLICY).empty


def test_a_charge_naming_no_invoice_order_or_subscription_is_an_orphan() -> None:
    f = frames(
        payments=[
            {"payment_id": "ch_1", "created_at": T},
            {"payment_id": "ch_2", "subscription_id": "sub_1", "created_at": T},
            {"payment_id": "ch_3", "status": "failed", "created_at": T},
            {"payment_id": "PM1", "provider": "gocardless", "created_at": T},
        ]
    )
    assert _ids(orphan_payment(f.payments, POLICY)) == [["ch_1"]]
