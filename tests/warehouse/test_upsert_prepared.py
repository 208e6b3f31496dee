"""The writer's entry point for rows a preparer made: the same rows stored as ``upsert``
stores them, on SQLite and PostgreSQL (the ``engine`` fixture runs both)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, Table, text

from warehouse.rows import prepare_columns
from warehouse.tables import invoice_tax_lines, invoices, payments
from warehouse.upsert import UpsertResult, from_storage, to_storage, upsert, upsert_prepared

T0 = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
SYNCED = datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
PLACEHOLDER = datetime(2001, 1, 1, tzinfo=UTC)  # a preparer's stamp, replaced by the writer


def payment_rows(version: int, note: str) -> list[dict[str, Any]]:
    return [
        {
            "payment_id": f"ch_{n}",
            "provider": "stripe",
            "customer_id": f"cus_{n % 3}",
            "amount": 4990 + n,
            "currency": "EUR",  # one value in the batch: bound once by the merge
            "status": "succeeded" if n % 2 else "failed",
            "provider_status": note,
            "created_at": (T0 + timedelta(minutes=n, microseconds=n)).astimezone(PARIS),
            "fee": None if n == 3 else 170,
            "source_version": version,
        }
        for n in range(6)
    ]


def tax_line_rows(version: int, note: str) -> list[dict[str, Any]]:
    rates = [Decimal("20"), Decimal("5.5"), Decimal("0.0001"), Decimal("-0"), None, 0.2]
    return [
        {
            "invoice_id": "in_1",
            "line_key": str(n),
            "provider": "stripe",
            "rate": rate,
            "taxable_amount": 10_000,
            "tax_amount": 2_000 * n,
            "currency": "EUR",
            "tax_behavior": "exclusive",
            "taxability_reason": note,
            "source_version": version,
        }
        for n, rate in enumerate(rates)
    ]


def invoice_rows(version: int, note: str) -> list[dict[str, Any]]:
    return [
        {
            "invoice_id": f"in_{n}",
            "provider": "stripe",
            "customer_id": "cus_1",
            "number": note,
            "status": "paid" if n else "open",
            "currency": "EUR",
            "total": 12_000,
            "amount_paid": 12_000 if n else 0,
            "amount_remaining": 0 if n else 12_000,
            "issued_on": date(2026, 6, 1) + timedelta(days=n),
            "due_on": date(2026, 7, 1),  # shared
            "paid_at": T0 if n else None,
            "attempt_count": n,
            "attempted": bool(n),
            "is_business": True,  # shared boolean
            "reverse_charge": False,
            "source_version": version,
        }
        for n in range(4)
    ]


BATCHES: dict[str, tuple[Table, Callable[..., list[dict[str, Any]]]]] = {
    "payments": (payments, payment_rows),
    "invoice_tax_lines": (invoice_tax_lines, tax_line_rows),
    "invoices": (invoices, invoice_rows),
}


def stored_cells(engine: Engine, table: Table) -> list[tuple[Any, ...]]:
    """The rows as the driver hands them back: on SQLite the very text, floats and
    integers stored, not values the column types read them as."""
    keys = ", ".join(c.name for c in table.primary_key.columns)
    with engine.connect() as conn:
        return [
            tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table.name} ORDER BY {keys}")
        ]


def through_upsert(engine: Engine, table: Table, rows: list[dict[str, Any]]) -> UpsertResult:
    with engine.begin() as conn:
        return upsert(conn, table, rows, synced_at=SYNCED)


def through_prepared(engine: Engine, table: Table, rows: list[dict[str, Any]]) -> UpsertResult:
    batch = prepare_columns(table, rows, synced_at=PLACEHOLDER)  # in the preparer
    batch = to_storage(table, batch, engine.dialect.name)
    with engine.begin() as conn:  # in the writer
        return upsert_prepared(conn, table, batch, synced_at=SYNCED)


@pytest.mark.parametrize("name", BATCHES)
def test_rows_written_as_prepared_are_the_rows_upsert_writes(engine: Engine, name: str) -> None:
    table, rows = BATCHES[name]
    nights = [rows(100, "a"), rows(200, "b"), rows(150, "c"), rows(200, "b")]
    # first night, an update, an older version refused, a re-run changing nothing
    by_upsert = [through_upsert(engine, table, night) for night in nights]
    expected = stored_cells(engine, table)
    with engine.begin() as conn:
        conn.execute(table.delete())

    by_prepared = [through_prepared(engine, table, night) for night in nights]

    assert by_prepared == by_upsert
    assert stored_cells(engine, table) == expected  # row hashes and stamps included
    assert by_upsert[1].updated == len(nights[1])
    assert by_upsert[2].stale == len(nights[2])
    assert not by_upsert[3].written


def test_storage_form_reads_back_as_the_canonical_cells(engine: Engine) -> None:
    """What the writer turns back when it carries stored columns into prepared rows."""
    for table, rows in BATCHES.values():
        batch = prepare_columns(table, rows(100, "a"), synced_at=SYNCED)
        back = from_storage(table, to_storage(table, batch, engine.dialect.name), engine.dialect)
        assert back == batch


def test_rows_stored_for_another_database_are_refused(engine: Engine) -> None:
    other = "postgresql" if engine.dialect.name == "sqlite" else "sqlite"
    batch = prepare_columns(payments, payment_rows(100, "a"), synced_at=SYNCED)
    batch = to_storage(payments, batch, "sqlite")
    with engine.begin() as conn:
        if other == "sqlite":  # PostgreSQL is handed SQLite's text instants
            with pytest.raises(ValueError, match="stored for sqlite"):
                upsert_prepared(conn, payments, batch, synced_at=SYNCED)
        with pytest.raises(ValueError, match="not prepared for this table"):
            upsert_prepared(conn, invoices, batch, synced_at=SYNCED)
        assert conn.execute(text("SELECT count(*) FROM payments")).scalar() == 0
