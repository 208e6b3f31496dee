"""Late failures, chargebacks and payouts: found, and the nearest clean case."""

from __future__ import annotations

import json

import pandas as pd

from domain.reconcile import ReconPolicy
from domain.reconcile.settlement import chargeback, late_failure, payout_mismatch
from tests.domain.reconcile.build import at, frames

T = at("2026-06-01")


def _ids(found: pd.DataFrame) -> list[list[str]]:
    return [json.loads(v) for v in found["object_ids"]]


def test_a_debit_paid_out_then_failed_is_a_late_failure() -> None:
    gc = {"provider": "gocardless", "status": "failed", "created_at": T}
    f = frames(
        payments=[
            {"payment_id": "PM1", **gc, "payout_id": "PO1"},
            {"payment_id": "PM2", **gc},
            {"payment_id": "PM3", **gc, "status": "succeeded", "payout_id": "PO1"},
            {"payment_id": "PM4", **gc},
        ],
        payout_lines=[
            {
                "payout_id": "PO2",
                "line_id": "x",
                "line_type": "payment_failed",
                "payment_id": "PM4",
                "net": -4900,
            },
        ],
    )
    assert _ids(late_failure(f.payments, f.payout_lines)) == [["PM1"], ["PM4"]]


def test_lost_and_open_disputes_and_gocardless_chargebacks_but_not_won_ones() -> None:
    f = frames(
        payments=[
            {"payment_id": "ch_1", "status": "charged_back", "created_at": T},
            {"payment_id": "ch_2", "status": "disputed", "created_at": T},
            {"payment_id": "ch_3", "status": "succeeded", "created_at": T},
            {
                "payment_id": "PM1",
                "provider": "gocardless",
                "status": "charged_back",
                "created_at": T,
            },
        ],
        disputes=[
            {"dispute_id": "dp_1", "payment_id": "ch_1", "status": "lost", "amount": 4000},
            {"dispute_id": "dp_2", "payment_id": "ch_2", "status": "needs_response"},
            {"dispute_id": "dp_3", "payment_id": "ch_3", "status": "won"},
        ],
    )
    found = chargeback(f.payments, f.disputes)
    assert _ids(found) == [["PM1"], ["ch_1", "dp_1"], ["ch_2", "dp_2"]]
    assert found["amount"].tolist() == [4900, 4000, 4900]
    assert [json.loads(d)["stage"] for d in found["details"]] == ["lost", "lost", "open"]


def test_a_payout_that_is_not_the_sum_of_its_lines() -> None:
    f = frames(
        payouts=[
            {"payout_id": "po_1", "amount": 3890},
            {"payout_id": "PO2", "provider": "gocardless", "amount": 4917},
            {"payout_id": "po_3", "amount": 500, "automatic": False},
            {"payout_id": "po_4", "amount": 500, "status": "failed"},
        ],
        payout_lines=[
            {"payout_id": "po_1", "line_id": "txn_1", "net": 4890},
            {"payout_id": "po_1", "line_id": "txn_2", "line_type": "refund", "net": -1000},
            {"payout_id": "PO2", "line_id": "a", "line_type": "payment_paid_out", "net": 4900},
            {"payout_id": "PO2", "line_id": "b", "line_type": "gocardless_fee", "net": -83},
        ],
    )
    found = payout_mismatch(f.payouts, f.payout_lines, ReconPolicy())
    assert _ids(found) == [["PO2"]]
    assert found["amount"].tolist() == [100]
    assert json.loads(found["details"][0])["lines_total"] == 4817
    assert payout_mismatch(f.payouts, f.payout_lines, ReconPolicy(payout_tolerance=100)).empty
