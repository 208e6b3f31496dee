"""Stripe charges -> payments (unified statuses), refunds, disputes, payouts and lines."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from domain.normalise.stripe_payments import (
    normalise_charges,
    normalise_disputes,
    normalise_refunds,
)
from domain.normalise.stripe_payouts import normalise_payout_lines, normalise_payouts
from tests.domain.normalise import wire


def test_charge_maps_to_its_payment_row() -> None:
    out = normalise_charges([wire.charge()], 9)
    assert out.problems.empty
    assert wire.plain(out.rows) == {
        "payment_id": "ch_1",
        "provider": "stripe",
        "payment_intent_id": "pi_1",
        "customer_id": "cus_QXg1o8vcGmoR32",
        "invoice_id": None,
        "subscription_id": None,
        "order_id": "ORD-1",
        "amount": 4990,
        "amount_refunded": 0,
        "currency": "EUR",
        "status": "succeeded",
        "provider_status": "succeeded",
        "failure_code": None,
        "decline_code": None,
        "failure_message": None,
        "retry_count": 0,
        "will_retry": None,
        "payment_method_type": "card",
        "payment_method_id": "pm_1",
        "mandate_id": None,
        "card_brand": "visa",
        "card_last4": "4242",
        "created_at": pd.Timestamp("2026-06-01T10:00:00Z"),
        "charge_date": None,
        "paid_at": pd.Timestamp("2026-06-01T10:00:00Z"),
        "failed_at": None,
        "payout_id": None,
        "balance_transaction_id": "txn_1",
        "fee": 100,
        "net": 4890,
        "source_version": 9,
    }


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({}, "succeeded"),
        ({"status": "pending"}, "pending"),
        ({"captured": False}, "pending"),
        ({"amount_refunded": 1000}, "partially_refunded"),
        ({"amount_refunded": 4990, "refunded": True}, "refunded"),
        ({"disputed": True}, "disputed"),
        ({"disputed": True, "amount_refunded": 1000}, "disputed"),
    ],
)
def test_unified_charge_status(fields: dict[str, object], status: str) -> None:
    row = normalise_charges([wire.charge(**fields)], 1).rows.iloc[0]
    assert row["status"] == status


def test_failed_charge_keeps_codes_and_has_no_fee() -> None:
    obj = wire.charge(
        status="failed",
        paid=False,
        captured=False,
        balance_transaction=None,
        failure_code="card_declined",
        failure_message="Your card has insufficient funds.",
        outcome={"type": "issuer_declined", "reason": "insufficient_funds"},
    )
    row = wire.plain(normalise_charges([obj], 1).rows)
    assert (row["status"], row["provider_status"]) == ("failed", "failed")
    assert (row["failure_code"], row["decline_code"]) == ("card_declined", "insufficient_funds")
    assert row["failed_at"] == pd.Timestamp("2026-06-01T10:00:00Z")
    assert row["paid_at"] is None
    assert row["fee"] is None


def test_unexpanded_balance_transaction_gives_its_id_only() -> None:
    row = wire.plain(normalise_charges([wire.charge(balance_transaction="txn_9")], 1).rows)
    assert row["balance_transaction_id"] == "txn_9"
    assert row["fee"] is None
    assert row["net"] is None


def test_money_stays_integer_for_a_batch_with_gaps() -> None:
    rows = normalise_charges(
        [wire.charge(), wire.charge(id="ch_2", balance_transaction="txn_2")], 1
    ).rows
    for column in ("amount", "amount_refunded", "fee", "net"):
        assert str(rows[column].dtype) == "Int64"
    pd.testing.assert_series_equal(rows["fee"], pd.Series([100, pd.NA], dtype="Int64", name="fee"))


def test_refunds_partial_and_full() -> None:
    base = {
        "object": "refund",
        "charge": "ch_1",
        "created": wire.T0,
        "currency": "eur",
        "status": "succeeded",
        "reason": "requested_by_customer",
        "metadata": {"order_id": "ORD-1"},
    }
    partial = {**base, "id": "re_1", "amount": 1000}
    full = {
        **base,
        "id": "re_2",
        "amount": 4990,
        "balance_transaction": wire.balance_transaction(
            id="txn_r", amount=-4990, fee=0, net=-4990, type="refund"
        ),
    }
    out = normalise_refunds([partial, full], 1)
    assert out.problems.empty
    assert out.rows["amount"].tolist() == [1000, 4990]
    assert out.rows["payment_id"].tolist() == ["ch_1", "ch_1"]
    assert out.rows["order_id"].tolist() == ["ORD-1", "ORD-1"]
    assert wire.plain(out.rows, 1)["net"] == -4990


def test_dispute_row_with_fee_from_its_balance_transactions() -> None:
    obj = {
        "id": "du_1",
        "object": "dispute",
        "amount": 4990,
        "charge": "ch_1",
        "created": wire.T0,
        "currency": "eur",
        "status": "lost",
        "reason": "fraudulent",
        "evidence_details": {"due_by": wire.T0 + 21 * wire.DAY},
        "payment_method_details": {"type": "card", "card": {"network_reason_code": "10.4"}},
        "balance_transactions": [
            wire.balance_transaction(
                id="txn_d", amount=-4990, fee=2000, net=-6990, type="adjustment", source="du_1"
            ),
        ],
    }
    row = wire.plain(normalise_disputes([obj], 1).rows)
    assert (row["payment_id"], row["status"], row["fee"]) == ("ch_1", "lost", 2000)
    assert row["network_reason_code"] == "10.4"
    assert row["evidence_due_by"] == pd.Timestamp("2026-06-22T10:00:00Z")


def test_payout_and_its_lines_add_up() -> None:
    payout = {
        "id": "po_1",
        "object": "payout",
        "amount": 3890,
        "arrival_date": 1780358400,
        "automatic": True,
        "created": wire.T0,
        "currency": "eur",
        "status": "paid",
        "reconciliation_status": "completed",
        "trace_id": {"status": "supported", "value": "TRACE1"},
    }
    row = wire.plain(normalise_payouts([payout], 1).rows)
    assert (row["arrival_on"], row["reference"], row["automatic"]) == (
        date(2026, 6, 2),
        "TRACE1",
        True,
    )
    transactions = [
        wire.balance_transaction(),
        wire.balance_transaction(
            id="txn_2",
            amount=-1000,
            fee=0,
            net=-1000,
            type="refund",
            source={"id": "re_1", "object": "refund", "charge": "ch_1"},
        ),
        wire.balance_transaction(
            id="txn_3", amount=-3890, fee=0, net=-3890, type="payout", source="po_1"
        ),
    ]
    lines = normalise_payout_lines({"po_1": transactions}, 4)
    assert lines.problems.empty
    rows = lines.rows
    assert rows["line_id"].tolist() == ["txn_1", "txn_2"]  # the payout itself is no line
    assert rows["source_type"].tolist() == ["charge", "refund"]
    assert rows["payment_id"].tolist() == ["ch_1", "ch_1"]
    assert int(rows["net"].sum()) == 3890
    assert rows["source_version"].tolist() == [4, 4]


def test_payout_line_with_inconsistent_net_is_a_problem() -> None:
    bad = wire.balance_transaction(id="txn_bad", net=1)
    out = normalise_payout_lines({"po_1": [bad, wire.balance_transaction()]}, 1)
    assert out.rows["line_id"].tolist() == ["txn_1"]
    assert out.problems["reason"].tolist() == ["net 1 is not amount 4990 minus fee 100"]
