"""The suites catch each kind of corrupt data, on small inline frames, through real GX.

Each test starts from a clean little shop (two customers, a few payments, invoices and
their neighbours) that passes every suite, breaks one thing, and asserts the verdict:
the row quarantined with its reason, or the gate failed naming table and expectation.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping

import pandas as pd
import pytest

from domain.quality import GateResult, derive, judge
from expectations.run import validate
from expectations.suites import SUITES, for_run
from warehouse import tables


def ts(*values: str | None) -> pd.Series:
    """Instants as the gate reads them: naive UTC (GX warns on tz-aware columns)."""
    return pd.to_datetime(pd.Series(values, dtype=object))


def more_payments(n: int) -> dict[str, list[object]]:
    """Clean filler, so one orphan stays under the table's 5 % threshold."""
    return {
        "payment_id": [f"p{i}" for i in range(10, 10 + n)],
        "provider": ["stripe"] * n,
        "status": ["succeeded"] * n,
        "currency": ["EUR"] * n,
        "amount": [1900] * n,
        "amount_refunded": [0] * n,
        "fee": [54] * n,
        "net": [1846] * n,
        "customer_id": ["c1"] * n,
    }


def clean() -> dict[str, pd.DataFrame]:
    filler = pd.DataFrame(more_payments(30))
    return {
        "customers": pd.DataFrame(
            {
                "customer_id": ["c1", "c2"],
                "provider": ["stripe", "gocardless"],
                "currency": ["EUR", None],
            }
        ),
        "payments": pd.concat(
            [
                filler,
                pd.DataFrame(
                    {
                        "payment_id": ["p1", "p2", "p3"],
                        "provider": ["stripe", "stripe", "gocardless"],
                        "status": ["succeeded", "failed", "pending"],
                        "currency": ["EUR", "EUR", "EUR"],
                        "amount": [4990, 1900, 19000],
                        "amount_refunded": [0, 0, 0],
                        "fee": [120, None, None],
                        "net": [4870, None, None],
                        "customer_id": ["c1", "c1", "c2"],
                    }
                ),
            ],
            ignore_index=True,
        ),
        "invoices": pd.DataFrame(
            {
                "invoice_id": ["in_1", "in_2"],
                "provider": ["stripe", "stripe"],
                "status": ["paid", "open"],
                "currency": ["EUR", "EUR"],
                "total": [4990, 1900],
                "tax": [832, 317],
                "amount_paid": [4990, 0],
                "amount_remaining": [0, 1900],
                "due_on": pd.to_datetime(["2026-06-01", "2026-07-15"]),
                "issued_on": pd.to_datetime(["2026-06-01", "2026-06-15"]),
                "paid_at": ts("2026-06-01T10:02:00", None),
                "finalized_at": ts("2026-06-01T10:01:00", "2026-06-15T08:00:00"),
                "customer_id": ["c1", "c1"],
            }
        ),
        "payout_lines": pd.DataFrame(
            {
                "payout_id": ["po_1", "po_1"],
                "line_id": ["txn_1", "txn_2"],
                "provider": ["stripe", "stripe"],
                "currency": ["EUR", "EUR"],
                "amount": [4990, -1900],
                "fee": [120, 0],
                "net": [4870, -1900],
            }
        ),
        "payouts": pd.DataFrame(
            {
                "payout_id": ["po_1"],
                "provider": ["stripe"],
                "status": ["paid"],
                "currency": ["EUR"],
                "amount": [2970],
                "fee": [None],
            }
        ),
        "shipments": pd.DataFrame(
            {
                "tracking_id": ["t1"],
                "provider": ["aftership"],
                "status": ["delivered"],
                "direction": ["outbound"],
                "delivered_at": ts("2026-06-03T12:00:00"),
                "shipped_at": ts("2026-06-01T12:00:00"),
            }
        ),
    }


def gate(
    frames: Mapping[str, pd.DataFrame],
    required: tuple[str, ...] = (),
    only: tuple[str, ...] | None = None,
) -> tuple[GateResult, pd.DataFrame]:
    """The gate on ``frames`` (all of them, or ``only`` these tables, with the others as
    link parents)."""
    suites = for_run(required, only=only or tuple(frames))
    batches = derive(frames, suites.values())
    return judge(suites, batches, validate(batches, suites))


def changed(table: str, **columns: object) -> dict[str, pd.DataFrame]:
    """The clean shop with the last row of ``table`` changed."""
    frames = clean()
    frame = frames[table].copy()
    for column, value in columns.items():
        frame[column] = frame[column].astype(object)
        frame.loc[frame.index[-1], column] = value
    frames[table] = frame
    return frames


def only_problem(frames: Mapping[str, pd.DataFrame], table: str) -> tuple[str, str]:
    result, problems = gate(frames, only=(table,))
    assert result.passed, result.message
    assert len(problems) == 1, problems
    row = problems.iloc[0]
    return str(row["object_id"]), str(row["reason"])


def test_the_clean_shop_passes_with_no_row_failure() -> None:
    result, problems = gate(clean())
    assert result.passed, result.message
    assert problems.empty
    assert result.tables["payments"].rows == 33


def test_every_suite_reads_columns_the_warehouse_has() -> None:
    assert set(SUITES) == {t.name for t in tables.FACT_TABLES}
    for suite in SUITES.values():
        table = tables.metadata.tables[suite.table]
        assert set(suite.read_columns) <= set(table.c.keys()), suite.table
        assert not {"email", "name"} & set(suite.read_columns)
        assert suite.key == tuple(c.name for c in table.primary_key.columns)


@pytest.mark.parametrize(
    ("table", "columns", "object_id", "reason"),
    [
        (
            "payments",
            {"currency": "ZZZ"},
            "p3",
            "payments.currency: expect_column_values_to_be_in_set (ISO 4217)",
        ),
        (
            "payments",
            {"currency": "eur"},
            "p3",
            "payments.currency: expect_column_values_to_be_in_set (ISO 4217)",
        ),
        (
            "payments",
            {"customer_id": "c_missing"},
            "p3",
            "payments.customer_id: expect_column_values_to_be_in_set (→ customers.customer_id)",
        ),
        (
            "payments",
            {"status": "exploded"},
            "p3",
            "payments.status: expect_column_values_to_be_in_set (allowed set)",
        ),
        (
            "payments",
            {"amount": 10**10},
            "p3",
            "payments.amount: expect_column_values_to_be_between (0 ≤ x ≤ 10^9)",
        ),
        (
            "payments",
            {"amount": 1900.5},
            "p3",
            "payments.amount: expect_column_values_to_be_in_set (integral minor units)",
        ),
        (
            "payments",
            {"fee": 25000},
            "p3",
            "payments.amount,fee: expect_column_pair_values_a_to_be_greater_than_b (amount ≥ fee)",
        ),
        (
            "invoices",
            {"paid_at": pd.Timestamp("2026-06-15T07:00:00", tz=None)},
            "in_2",
            "invoices.paid_at,finalized_at: expect_column_pair_values_a_to_be_greater_than_b "
            "(paid_at ≥ finalized_at)",
        ),
        (
            "invoices",
            {"due_on": pd.Timestamp("2026-06-01")},
            "in_2",
            "invoices.due_on,issued_on: expect_column_pair_values_a_to_be_greater_than_b "
            "(due_on ≥ issued_on)",
        ),
        (
            "shipments",
            {"delivered_at": pd.Timestamp("2026-05-30T12:00:00", tz=None)},
            "t1",
            "shipments.delivered_at,shipped_at: expect_column_pair_values_a_to_be_greater_than_b "
            "(delivered_at ≥ shipped_at)",
        ),
        (
            "payout_lines",
            {"fee": -5},
            "po_1/txn_2",
            "payout_lines.fee: expect_column_values_to_be_between (0 ≤ x ≤ 10^9)",
        ),
    ],
)
def test_a_corrupt_row_is_quarantined_with_its_reason(
    table: str, columns: dict[str, object], object_id: str, reason: str
) -> None:
    got_id, got_reason = only_problem(changed(table, **columns), table)
    assert got_id == object_id
    assert got_reason == reason


def test_a_negative_amount_is_quarantined() -> None:
    _, reason = only_problem(changed("payments", amount=-100, fee=None), "payments")
    assert reason.startswith("payments.amount: expect_column_values_to_be_between (0 ≤ x ≤ 10^9)")


def test_a_duplicate_key_fails_the_gate() -> None:
    frames = changed("payments", payment_id="p1")
    result, problems = gate(frames, only=("payments",))
    assert not result.passed
    assert result.message == (
        "data quality gate failed: payments.payment_id: expect_column_values_to_be_unique "
        "(key unique): 2 of 33 rows unexpected"
    )
    assert problems.empty


def test_a_duplicate_composite_key_fails_the_gate() -> None:
    result, _ = gate(changed("payout_lines", line_id="txn_1"), only=("payout_lines",))
    assert not result.passed
    assert "payout_lines.payout_id,line_id: expect_compound_columns_to_be_unique" in result.message


def test_a_missing_key_fails_the_gate() -> None:
    result, _ = gate(changed("invoices", invoice_id=None), only=("invoices",))
    assert not result.passed
    assert "invoices.invoice_id: expect_column_values_to_not_be_null" in result.message


def test_many_broken_links_fail_the_table() -> None:
    frames = clean()
    frames["customers"] = frames["customers"].iloc[1:]  # c1 gone: 32 of 33 payments orphaned
    result, problems = gate(frames)
    assert not result.passed
    assert (
        "payments.customer_id: expect_column_values_to_be_in_set "
        "(→ customers.customer_id: over 5% broken)" in result.message
    )
    assert len(problems) == 32 + 2  # the orphans are quarantined all the same (and 2 invoices)


def test_an_empty_table_fails_only_when_the_provider_returned_rows() -> None:
    frames = clean()
    frames["shipments"] = frames["shipments"].iloc[:0]
    assert gate(frames, only=("shipments",))[0].passed
    result, _ = gate(frames, required=("shipments",), only=("shipments",))
    assert not result.passed
    assert (
        "shipments.table: expect_table_row_count_to_be_between (the provider returned rows)"
        in result.message
    )


def test_no_validated_frame_outlives_the_gate() -> None:
    """GX keeps its last context, and with it every batch it validated (1.4 GB of the
    large shop's frames, held through the rest of the night): the gate lets go of it."""
    payments = 7919  # a length no other frame here has
    frames = clean()
    frames["payments"] = pd.DataFrame(more_payments(payments))

    result, _ = gate(frames)
    del frames
    gc.collect()

    assert result.tables["payments"].rows == payments
    alive = [o for o in gc.get_objects() if isinstance(o, pd.DataFrame) and len(o) == payments]
    assert alive == []
