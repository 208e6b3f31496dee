"""The gate's judgement without GX: derived columns, verdicts, quarantine rows, masking.

Checks here wrap a stand-in expectation (a name and kwargs are all the verdict reads),
so these tests run without importing Great Expectations.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pandas.testing as pdt

from domain.quality import (
    GateResult,
    Outcome,
    TableReport,
    artifact_rows,
    derive,
    judge,
    markdown,
    masked_payload,
    object_ids,
    tables_with_rows,
    whole,
)
from expectations.spec import Check, Link, TableSuite


def _check(kind: str, level: str, why: str, **kwargs: Any) -> Check:
    fake = SimpleNamespace(expectation_type=kind, configuration=SimpleNamespace(kwargs=kwargs))
    return Check(fake, level, why)  # type: ignore[arg-type]


CURRENCY = _check("expect_column_values_to_be_in_set", "row", "ISO 4217", column="currency")
STATUS = _check("expect_column_values_to_be_in_set", "row", "allowed set", column="status")
UNIQUE = _check("expect_column_values_to_be_unique", "table", "key unique", column="payment_id")
PAYMENTS = TableSuite(
    "payments",
    ("payment_id",),
    ("currency", "status"),
    (CURRENCY, STATUS, UNIQUE),
    money=("amount",),
    links=(Link("customer_id", "customers", "customer_id"),),
)
CUSTOMERS = TableSuite("customers", ("customer_id",), (), ())
SUITES = {"payments": PAYMENTS, "customers": CUSTOMERS}


def _payments() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "payment_id": ["p1", "p2", "p3"],
            "provider": ["stripe", "gocardless", "stripe"],
            "currency": ["EUR", "ZZZ", "EUR"],
            "status": ["succeeded", "weird", "failed"],
            "amount": [100.0, 10.5, None],
            "customer_id": ["c1", "cX", None],
        }
    )


def test_derive_flags_integral_amounts_and_known_references_without_mutating() -> None:
    payments = _payments()
    before = payments.copy()
    customers = pd.DataFrame({"customer_id": ["c1"], "provider": ["stripe"]})
    out = derive({"payments": payments, "customers": customers}, SUITES.values())
    assert out["payments"]["amount__whole"].tolist() == [True, False, True]
    assert out["payments"]["customer_id__known"].tolist() == [True, False, True]
    pdt.assert_frame_equal(payments, before)


def test_whole_rejects_fractions_and_text_but_not_gaps() -> None:
    values = pd.Series([1, 2.0, 2.5, None, "abc"], dtype=object)
    assert whole(values).tolist() == [True, True, False, True, False]


def test_row_failures_quarantine_rows_and_the_gate_passes() -> None:
    frames = {"payments": _payments(), "customers": pd.DataFrame(columns=["customer_id"])}
    outcomes = [
        Outcome("payments", CURRENCY, False, (1,), 1, 3),
        Outcome("payments", STATUS, False, (1,), 1, 3),
        Outcome("payments", UNIQUE, True),
    ]
    result, problems = judge(SUITES, frames, outcomes)
    assert result.passed
    assert result.quarantined == {"payments": frozenset({"p2"})}
    assert problems.to_dict("records") == [
        {
            "provider": "gocardless",
            "object_type": "payments",
            "object_id": "p2",
            "reason": "payments.currency: expect_column_values_to_be_in_set (ISO 4217); "
            "payments.status: expect_column_values_to_be_in_set (allowed set)",
        }
    ]
    assert result.tables["payments"].row_failures == {
        "payments.currency: expect_column_values_to_be_in_set (ISO 4217)": 1,
        "payments.status: expect_column_values_to_be_in_set (allowed set)": 1,
    }


def test_a_table_failure_fails_the_gate_naming_table_and_expectation() -> None:
    frames = {"payments": _payments(), "customers": pd.DataFrame(columns=["customer_id"])}
    result, problems = judge(SUITES, frames, [Outcome("payments", UNIQUE, False, (), 2, 3)])
    assert not result.passed
    assert problems.empty
    assert result.message == (
        "data quality gate failed: payments.payment_id: expect_column_values_to_be_unique "
        "(key unique): 2 of 3 rows unexpected"
    )


def test_a_check_gx_could_not_run_fails_the_gate() -> None:
    frames = {"payments": _payments()}
    result, _ = judge(SUITES, frames, [Outcome("payments", CURRENCY, False, error="boom")])
    assert not result.passed
    assert "payments.currency" in result.message
    assert "could not run (boom)" in result.message


def test_object_ids_join_composite_keys_and_fit_the_column() -> None:
    frame = pd.DataFrame({"payout_id": ["po_1", "po_2"], "line_id": ["txn_1", "x" * 80]})
    ids = object_ids(frame, ("payout_id", "line_id")).tolist()
    assert ids[0] == "po_1/txn_1"
    assert len(ids[1]) == 64
    assert ids[1].startswith("po_2/xxx")
    assert ids[1] != object_ids(frame.assign(line_id="y" * 80), ("payout_id", "line_id"))[1]


def test_masked_payload_drops_emails_and_names() -> None:
    row = {
        "customer_id": "cus_1",
        "email": "ana@example.fr",
        "name": "Ana Lima",
        "amount": pd.NA,
        "created_at": datetime(2026, 6, 30, 22, tzinfo=UTC),
    }
    payload = json.loads(masked_payload(row))
    assert payload == {
        "customer_id": "cus_1",
        "amount": None,
        "created_at": "2026-06-30T22:00:00+00:00",
    }


def test_tables_with_rows_reads_the_sync_control_totals() -> None:
    totals = {
        "stripe/payments": {"received": 12},
        "gocardless/payments": {"received": 0},
        "stripe/refunds": {"received": 0},
        "aftership/shipments": {"received": 3},
    }
    assert tables_with_rows(totals) == ("payments", "shipments")


def test_artifacts_show_verdict_failures_and_quarantined_rows() -> None:
    result = GateResult(
        False,
        {
            "payments": TableReport(
                "payments", 3, {"payments.currency: … (ISO 4217)": 1}, [], ["p2"]
            ),
            "refunds": TableReport("refunds", 0, {}, ["refunds.table: … observed 0"]),
            "payouts": TableReport("payouts", 5),
        },
        seconds=1.5,
        docs="var/gx/index.html",
    )
    rows = artifact_rows(result)
    assert [(r["table"], r["level"]) for r in rows] == [
        ("payments", "row"),
        ("refunds", "table"),
        ("payouts", "ok"),
    ]
    text = markdown(result)
    assert "# Data quality gate: **FAILED**" in text
    assert "- refunds.table: … observed 0" in text
    assert "| payments | payments.currency: … (ISO 4217) | 1 |" in text
    assert "var/gx/index.html" in text
