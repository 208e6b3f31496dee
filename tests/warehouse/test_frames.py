"""The driver-speed frame reader on SQLite and PostgreSQL: what comes back, and what it
refuses to read."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from sqlalchemy import Engine, insert, select

from warehouse import tables
from warehouse.frames import frame
from warehouse.tax_tables import vat_returns

WHEN = datetime(2026, 6, 30, 22, 15, tzinfo=UTC)


def test_rows_come_back_as_the_bound_query_selects_them(engine: Engine) -> None:
    customers = tables.customers
    with engine.begin() as conn:
        conn.execute(
            insert(customers),
            [
                {
                    "customer_id": f"cus_{i}",
                    "provider": "stripe",
                    "email": f"c{i}@example.com",
                    "is_business": i == 2,
                    "created_at": WHEN,
                    "source_version": 1,
                    "row_hash": "h",
                    "synced_at": WHEN,
                }
                for i in range(3)
            ],
        )
    query = select(customers.c.customer_id, customers.c.is_business, customers.c.created_at)
    with engine.connect() as conn:
        got = frame(conn, query.where(customers.c.customer_id.in_(["cus_1", "cus_2"])))

    assert list(got.columns) == ["customer_id", "is_business", "created_at"]
    assert sorted(got["customer_id"]) == ["cus_1", "cus_2"]
    flags = dict(zip(got["customer_id"], got["is_business"].astype(bool), strict=True))
    assert flags == {"cus_1": False, "cus_2": True}  # bool, or 0/1 on SQLite
    instants = pd.to_datetime(got["created_at"], utc=True, format="mixed")
    assert set(instants) == {pd.Timestamp(WHEN)}  # aware, or ISO text of UTC on SQLite


def test_a_numeric_is_never_read_as_a_float_on_sqlite(engine: Engine) -> None:
    query = select(vat_returns.c.rate)
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            with pytest.raises(TypeError, match="NUMERIC"):
                frame(conn, query)
        else:
            assert frame(conn, query).empty


def test_a_read_in_slices_gives_the_frame_of_one_read(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slices of 2 rows, one of them all NULL in the optional columns: the frame still has
    the text, integer and instant types one read of every row gives (not Python objects)."""
    payments = tables.payments
    with engine.begin() as conn:
        conn.execute(
            insert(payments),
            [
                {
                    "payment_id": f"ch_{i}",
                    "provider": "stripe",
                    "customer_id": f"cus_{i}" if i < 2 else None,
                    "amount": 1000 + i,
                    "amount_refunded": i if i < 2 else None,
                    "currency": "EUR",
                    "status": "succeeded",
                    "provider_status": "succeeded",
                    "created_at": WHEN,
                    "paid_at": WHEN if i < 2 else None,
                    "source_version": 1,
                    "row_hash": "h",
                    "synced_at": WHEN,
                }
                for i in range(5)
            ],
        )
    columns = ("payment_id", "customer_id", "amount_refunded", "paid_at", "amount")
    query = select(*(payments.c[c] for c in columns)).order_by(payments.c.payment_id)
    with engine.connect() as conn:
        whole = frame(conn, query)
        monkeypatch.setattr("warehouse.frames.SLICE_ROWS", 2)
        sliced = frame(conn, query)

    assert len(sliced) == 5
    pd.testing.assert_frame_equal(sliced, whole)
    assert sliced["customer_id"].dtype == "str"
    assert sliced["customer_id"].isna().tolist() == [False, False, True, True, True]
    assert sliced["amount_refunded"].dtype == "float64"  # NULLs, as one read gives
    assert sliced["amount"].tolist() == [1000, 1001, 1002, 1003, 1004]
