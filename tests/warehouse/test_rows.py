"""Canonical rows and row hashes: pure, no database."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Table

from warehouse.columns import BOOKKEEPING_COLUMNS
from warehouse.rows import prepare, row_hash
from warehouse.tables import invoice_tax_lines, payments

NIGHT = datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
BASE: dict[str, Any] = {
    "payment_id": "ch_1",
    "provider": "stripe",
    "amount": 4990,
    "currency": "EUR",
    "status": "succeeded",
    "provider_status": "succeeded",
    "created_at": datetime(2026, 6, 1, 8, 30, tzinfo=UTC),
    "source_version": 1,
}


def test_the_hash_ignores_bookkeeping_and_representation_but_not_content() -> None:
    same = {
        **BASE,
        "amount": np.int64(4990),
        "created_at": pd.Timestamp("2026-06-01T10:30:00", tz="Europe/Paris"),
        "source_version": 99,
        "synced_at": datetime(2030, 1, 1, tzinfo=UTC),
    }

    assert row_hash(payments, BASE) == row_hash(payments, same)
    assert row_hash(payments, BASE) != row_hash(payments, {**BASE, "amount": 4991})
    assert row_hash(payments, BASE) != row_hash(payments, {**BASE, "failure_code": "None"})
    assert len(row_hash(payments, BASE)) == 32


def test_a_rate_hashes_by_value_not_by_spelling() -> None:
    line = {
        "invoice_id": "in_1",
        "line_key": "txr_1",
        "provider": "stripe",
        "taxable_amount": 1000,
        "tax_amount": 55,
        "currency": "EUR",
    }
    hashes = {
        row_hash(invoice_tax_lines, {**line, "rate": rate})
        for rate in (Decimal("5.5"), Decimal("5.50000"), 5.5, "5.5")
    }
    assert len(hashes) == 1


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("created_at", datetime(2026, 6, 1, 8, 30), "naive datetime"),
        ("amount", 49.9, "not an integer"),
        ("amount", True, "boolean"),
        ("amount", float(2**60), "beyond exact float range"),
        ("charge_date", datetime(2026, 6, 1, 8, 30, tzinfo=UTC), "not a business date"),
        ("status", None, "NULL in a NOT NULL column"),
        ("source_version", None, "NULL in a NOT NULL column"),
    ],
    ids=[
        "naive-time",
        "float-money",
        "bool-money",
        "huge-float",
        "instant-as-date",
        "null",
        "no-version",
    ],
)
def test_values_that_would_be_guesses_are_refused(column: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        prepare(payments, [{**BASE, column: value}], synced_at=NIGHT)


def test_an_unknown_column_is_refused_rather_than_dropped() -> None:
    with pytest.raises(ValueError, match=r"unknown column.*ammount"):
        prepare(payments, [{**BASE, "ammount": 1}], synced_at=NIGHT)


def test_a_rate_with_more_places_than_the_column_is_refused() -> None:
    line = {"invoice_id": "in_1", "line_key": "k", "provider": "stripe", "rate": "5.55555"}
    with pytest.raises(ValueError, match="more than 4 decimal places"):
        prepare(invoice_tax_lines, [line], synced_at=NIGHT)


def test_dates_and_instants_are_canonical() -> None:
    row = {**BASE, "charge_date": "2026-06-03", "paid_at": "2026-06-03T09:00:00+02:00"}

    batch = prepare(payments, [row], synced_at=NIGHT)

    values = dict(zip(batch.columns, batch.rows[0], strict=True))
    assert values["charge_date"] == date(2026, 6, 3)
    assert values["paid_at"] == datetime(2026, 6, 3, 7, tzinfo=UTC)
    assert values["paid_at"].tzinfo is UTC


def test_the_newest_version_of_a_key_wins_and_the_last_of_a_tie() -> None:
    rows = [
        {**BASE, "source_version": 2, "status": "failed"},
        {**BASE, "source_version": 3, "status": "refunded"},
        {**BASE, "source_version": 3, "status": "disputed"},
        {**BASE, "source_version": 1, "status": "pending"},
    ]

    batch = prepare(payments, rows, synced_at=NIGHT)

    assert batch.superseded == 3
    assert [dict(zip(batch.columns, r, strict=True))["status"] for r in batch.rows] == ["disputed"]


def _hashed_as_stored(table: Table, rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(hash prepared, hash by the definition stored hashes were made with: blake2b-128 of
    ``repr`` of the tuple of canonical business cells)."""
    batch = prepare(table, rows, synced_at=NIGHT)
    out = []
    for row in batch.rows:
        cells = dict(zip(batch.columns, row, strict=True))
        business = tuple(v for k, v in cells.items() if k not in BOOKKEEPING_COLUMNS)
        expected = hashlib.blake2b(repr(business).encode(), digest_size=16).hexdigest()
        out.append((cells["row_hash"], expected))
    return out


texts = st.sampled_from([None, "stripe", "50 %", "%s%r", "it's", 'say "no"', "é\n"])


@settings(max_examples=60, database=None, deadline=None)
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "amount": st.sampled_from([0, 4990, -1, 10**15]),
                "status": st.sampled_from(["succeeded", "failed"]),
                "failure_code": texts,
                "failure_message": texts,
                "will_retry": st.sampled_from([None, True, False]),
                "charge_date": st.sampled_from([None, date(2026, 6, 3)]),
                "paid_at": st.sampled_from([None, datetime(2026, 6, 3, 7, 0, 1, 5, tzinfo=UTC)]),
            }
        ),
        min_size=1,
        max_size=6,
    )
)
def test_hashes_stored_by_earlier_versions_still_match(rows: list[dict[str, Any]]) -> None:
    # Batches whose columns are shared by every row or not: the hash is the same text
    # hashed the same way, so a quiet night never rewrites a row stored before.
    batch = [{**BASE, **row, "payment_id": f"ch_{n}"} for n, row in enumerate(rows)]
    for got, expected in _hashed_as_stored(payments, batch):
        assert got == expected


def test_a_batch_of_zero_and_minus_zero_rates_hashes_as_before() -> None:
    # Decimal("-0.0000") == Decimal("0.0000") but prints otherwise: equal is not "shared"
    line = {
        "source_version": 1,
        "invoice_id": "in_1",
        "provider": "stripe",
        "taxable_amount": 0,
        "tax_amount": 0,
        "currency": "EUR",
    }
    rows = [{**line, "line_key": "a", "rate": 0}, {**line, "line_key": "b", "rate": "-0"}]
    hashed = _hashed_as_stored(invoice_tax_lines, rows)
    assert [got for got, _ in hashed] == [expected for _, expected in hashed]
