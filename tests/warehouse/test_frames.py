"""The driver-speed frame reader on SQLite and PostgreSQL: what comes back, and what it
refuses to read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    literal_column,
    select,
    text,
)

from warehouse import tables
from warehouse.frames import copy_plan, fetched, frame, typed_frame
from warehouse.tax_tables import vat_returns
from warehouse.types import ExactDecimal, UTCDateTime

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
        whole = frame(conn, query)  # on PostgreSQL, the COPY read
        monkeypatch.setattr("warehouse.frames.SLICE_ROWS", 2)
        sliced = fetched(conn, query)  # the cursor's read, in slices

    assert len(sliced) == 5
    pd.testing.assert_frame_equal(sliced, whole)
    assert sliced["customer_id"].dtype == "str"
    assert sliced["customer_id"].isna().tolist() == [False, False, True, True, True]
    assert sliced["amount_refunded"].dtype == "float64"  # NULLs, as one read gives
    assert sliced["amount"].tolist() == [1000, 1001, 1002, 1003, 1004]


# -- PostgreSQL's COPY read ----------------------------------------------------------------

# Every kind of column the warehouse has, in a temporary table: the COPY read must see the
# connection's own temporary tables and uncommitted rows (the partition reads join one).
ODD = Table(
    "frames_odd",
    MetaData(),
    Column("id", String(16)),
    Column("note", Text),
    Column("amount", BigInteger),
    Column("tries", Integer),
    Column("flag", Boolean),
    Column("due_on", Date),
    Column("at", UTCDateTime),
    Column("rate", ExactDecimal(7, 4)),
    prefixes=["TEMPORARY"],
)
ODD_ROWS = [
    {
        "id": "a",
        "note": 'comma, "quote"\nnew line; élan',
        "amount": 9_007_199_254_740_993,  # past a float's exact integers
        "tries": 3,
        "flag": True,
        "due_on": date(2026, 2, 28),
        "at": WHEN,
        "rate": Decimal("0.2000"),
    },
    {
        "id": "b",
        "note": "",  # an empty text is not a NULL
        "amount": -4990,
        "tries": None,
        "flag": None,
        "due_on": None,
        "at": None,
        "rate": None,
    },
    {
        "id": "c",
        "note": None,
        "amount": 0,
        "tries": 0,
        "flag": False,
        "due_on": date(2026, 12, 31),
        "at": datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        "rate": Decimal("0.0550"),
    },
]


@pytest.fixture
def odd_rows(engine: Engine) -> Iterator[Connection]:
    """A connection holding ODD and its rows, uncommitted."""
    with engine.connect() as conn:
        ODD.create(conn)
        conn.execute(insert(ODD), ODD_ROWS)
        yield conn


@pytest.fixture
def odd(odd_rows: Connection) -> Connection:
    if odd_rows.dialect.name != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    return odd_rows


def test_a_typed_read_gives_the_types_values_on_both_databases(odd_rows: Connection) -> None:
    """Decimals and aware UTC instants on SQLite too; on PostgreSQL the COPY read gives
    the very values the types' result processors give."""
    query = select(*ODD.c).order_by(ODD.c.id)

    got = typed_frame(odd_rows, query)

    processed = pd.DataFrame(
        [tuple(r) for r in odd_rows.execute(query)], columns=list(ODD.c.keys())
    )
    pd.testing.assert_frame_equal(got, processed)
    assert got["rate"].tolist() == [Decimal("0.2000"), None, Decimal("0.0550")]
    assert got.loc[0, "at"] == pd.Timestamp(WHEN)
    assert got.loc[2, "due_on"] == date(2026, 12, 31)


def test_the_copy_read_gives_the_frame_the_cursor_gives(odd: Connection) -> None:
    odd.execute(text("SET LOCAL TimeZone = 'Europe/Paris'"))  # instants come back in UTC
    query = select(*ODD.c).order_by(ODD.c.id)
    assert copy_plan(odd, query) is not None  # this read is the COPY one

    copied, cursor = frame(odd, query), fetched(odd, query)

    pd.testing.assert_frame_equal(copied, cursor)
    row = copied.iloc[0]
    assert row["note"] == 'comma, "quote"\nnew line; élan'
    assert row["amount"] == 9_007_199_254_740_993
    assert row["rate"] == Decimal("0.2000")
    assert isinstance(row["rate"], Decimal)
    assert row["due_on"] == date(2026, 2, 28)
    assert row["at"] == pd.Timestamp(WHEN)
    assert str(copied["at"].dt.tz) == "UTC"
    assert copied["note"].iloc[1] == ""
    assert pd.isna(copied["note"].iloc[2])
    assert copied["flag"].tolist() == [True, None, False]
    assert copied["tries"].dtype == "float64"  # an integer with a NULL, as the cursor's


def test_the_copy_read_writes_the_query_values_in(odd: Connection) -> None:
    query = (
        select(ODD.c.id, ODD.c.rate)
        .where(ODD.c.due_on >= date(2026, 3, 1), ODD.c.id.in_(["a", "c", "it's"]))
        .where(ODD.c.at > datetime(2026, 1, 1, tzinfo=UTC))
    )
    got = frame(odd, query)

    assert got.to_dict("records") == [{"id": "c", "rate": Decimal("0.0550")}]


def test_an_empty_copy_read_keeps_each_column_type(odd: Connection) -> None:
    got = frame(odd, select(ODD.c.id, ODD.c.amount, ODD.c.at).where(ODD.c.id == "none"))

    assert got.empty
    assert list(got.columns) == ["id", "amount", "at"]
    assert got["amount"].dtype == "int64"
    assert got["id"].dtype == "str"


def test_a_column_of_unknown_type_is_read_through_the_cursor(odd: Connection) -> None:
    query = select(ODD.c.id, literal_column("1").label("one")).order_by(ODD.c.id)

    assert copy_plan(odd, query) is None
    assert frame(odd, query)["one"].tolist() == [1, 1, 1]
