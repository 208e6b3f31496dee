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
