"""Newest-wins bulk upsert, on SQLite and PostgreSQL (the ``engine`` fixture runs both)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError

from warehouse.state import SyncState, read_sync_state, write_sync_state
from warehouse.tables import invoice_tax_lines, payments, raw_objects
from warehouse.upsert import UpsertResult, upsert

T0 = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)
SYNCED = datetime(2026, 6, 30, 22, 0, tzinfo=UTC)


def payment(number: int, version: int, **changes: Any) -> dict[str, Any]:
    row = {
        "payment_id": f"ch_{number}",
        "provider": "stripe",
        "customer_id": f"cus_{number % 7}",
        "invoice_id": f"in_{number}",
        "amount": 4990,
        "currency": "EUR",
        "status": "succeeded",
        "provider_status": "succeeded",
        "created_at": T0 + timedelta(minutes=number),
        "fee": 170,
        "net": 4820,
        "source_version": version,
    }
    return row | changes


def load(engine: Engine, table: Any, rows: Any, synced_at: datetime = SYNCED) -> UpsertResult:
    with engine.begin() as conn:
        return upsert(conn, table, rows, synced_at=synced_at)


def stored(engine: Engine, *columns: str) -> dict[str, tuple[Any, ...]]:
    query = select(payments.c.payment_id, *(payments.c[c] for c in columns))
    with engine.connect() as conn:
        return {row[0]: tuple(row[1:]) for row in conn.execute(query)}


def test_new_rows_are_inserted(engine: Engine) -> None:
    result = load(engine, payments, [payment(1, 100), payment(2, 100)])

    assert result == UpsertResult(inserted=2, updated=0, unchanged=0)
    assert stored(engine, "status", "source_version", "synced_at") == {
        "ch_1": ("succeeded", 100, SYNCED),
        "ch_2": ("succeeded", 100, SYNCED),
    }


def test_a_newer_version_replaces_the_row(engine: Engine) -> None:
    load(engine, payments, [payment(1, 100), payment(2, 100)])

    result = load(engine, payments, [payment(1, 200, status="refunded")])

    assert result == UpsertResult(inserted=0, updated=1, unchanged=0)
    assert stored(engine, "status", "source_version") == {
        "ch_1": ("refunded", 200),
        "ch_2": ("succeeded", 100),
    }


def test_an_older_version_never_overwrites_a_newer_one(engine: Engine) -> None:
    load(engine, payments, [payment(1, 200, status="failed", failure_code="card_declined")])

    result = load(engine, payments, [payment(1, 100, status="pending"), payment(2, 50)])

    assert result == UpsertResult(inserted=1, updated=0, unchanged=1, stale=1)
    assert stored(engine, "status", "failure_code", "source_version")["ch_1"] == (
        "failed",
        "card_declined",
        200,
    )


def test_an_identical_batch_writes_nothing(engine: Engine) -> None:
    rows = [payment(n, 100) for n in range(5)]
    load(engine, payments, rows)
    before = row_versions(engine)

    result = load(engine, payments, rows, synced_at=SYNCED + timedelta(days=1))

    assert result == UpsertResult(inserted=0, updated=0, unchanged=5)
    assert {v[0] for v in stored(engine, "synced_at").values()} == {SYNCED}
    assert row_versions(engine) == before  # no tuple rewritten (PostgreSQL xmin)


def row_versions(engine: Engine) -> dict[str, str]:
    """PostgreSQL's xmin per row: it changes whenever the row is rewritten, even identically."""
    if engine.dialect.name != "postgresql":
        return {}
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT payment_id, xmin::text FROM payments")).all())


def test_an_identical_newer_version_moves_the_version_so_a_late_older_change_stays_refused(
    engine: Engine,
) -> None:
    """succeeded@100 → (refunded@150 arrives late) … succeeded@200 seen first."""
    load(engine, payments, [payment(1, 100)])
    assert load(engine, payments, [payment(1, 200)]) == UpsertResult(0, 0, 1)

    late = load(engine, payments, [payment(1, 150, status="refunded")])

    assert late == UpsertResult(inserted=0, updated=0, unchanged=1, stale=1)
    assert stored(engine, "status", "source_version")["ch_1"] == ("succeeded", 200)


def test_a_batch_keeps_only_the_newest_version_of_each_key(engine: Engine) -> None:
    batch = [payment(1, 300, status="disputed"), payment(1, 100), payment(2, 5), payment(1, 200)]

    result = load(engine, payments, batch)

    assert result == UpsertResult(inserted=2, updated=0, unchanged=0, superseded=2)
    assert stored(engine, "status", "source_version")["ch_1"] == ("disputed", 300)


def test_nulls_from_dicts_and_from_pandas_are_stored_as_null(engine: Engine) -> None:
    frame = pd.DataFrame(
        [payment(1, 1, fee=None), payment(2, 1, fee=120)],
    ).assign(
        order_id=[None, "ord_2"],
        paid_at=pd.Series([pd.NaT, pd.Timestamp("2026-06-02T10:00Z")]),
        charge_date=[pd.NaT, pd.Timestamp("2026-06-03")],
        will_retry=pd.array([pd.NA, True], dtype="boolean"),
        retry_count=pd.array([pd.NA, 2], dtype="Int64"),
    )
    assert frame["fee"].dtype == np.float64  # NaN made it a float column

    load(engine, payments, frame)

    assert stored(
        engine, "fee", "order_id", "paid_at", "charge_date", "will_retry", "retry_count"
    ) == {
        "ch_1": (None, None, None, None, None, 0),  # retry_count takes its default
        "ch_2": (
            120,
            "ord_2",
            datetime(2026, 6, 2, 10, tzinfo=UTC),
            date(2026, 6, 3),
            True,
            2,
        ),
    }


def test_big_amounts_decimal_rates_and_aware_times_round_trip_exactly(engine: Engine) -> None:
    paris = ZoneInfo("Europe/Paris")
    created = datetime(2026, 3, 29, 3, 0, 0, 999_999, tzinfo=paris)  # first CEST instant
    load(
        engine,
        payments,
        [payment(1, 1, amount=10**15, fee=-(10**15), net=2 * 10**15, created_at=created)],
    )
    rates = [Decimal("20"), Decimal("5.5"), Decimal("0.0001"), Decimal("999.9999")]
    lines = [
        {
            "invoice_id": "in_1",
            "line_key": f"txr_{n}",
            "provider": "stripe",
            "country": "FR",
            "rate": rate,
            "taxable_amount": 10**15,
            "tax_amount": 1,
            "currency": "EUR",
            "tax_behavior": "exclusive",
            "source_version": 1,
        }
        for n, rate in enumerate(rates)
    ]
    load(engine, invoice_tax_lines, lines)

    amount, fee, net, created_at = stored(engine, "amount", "fee", "net", "created_at")["ch_1"]
    assert (amount, fee, net) == (10**15, -(10**15), 2 * 10**15)
    assert created_at == created
    assert created_at.tzinfo == UTC
    assert created_at.isoformat() == "2026-03-29T01:00:00.999999+00:00"
    with engine.connect() as conn:
        got = conn.execute(
            select(invoice_tax_lines.c.rate).order_by(invoice_tax_lines.c.line_key)
        ).scalars()
        assert [(r, str(r)) for r in got] == [
            (r, str(r.quantize(Decimal("0.0001")))) for r in rates
        ]


def test_a_value_the_whole_batch_shares_is_stored_as_if_staged_row_by_row(
    engine: Engine,
) -> None:
    # A column with one value in every row of a batch is bound once, not staged: the
    # stored cells (and a later comparison of hashes) must not tell the two apart.
    same = {
        "failure_code": "it's 100%",
        "will_retry": True,
        "retry_count": 3,
        "charge_date": date(2026, 6, 3),
        "paid_at": datetime(2026, 6, 2, 10, 0, 0, 250_000, tzinfo=UTC),
        "order_id": None,
    }
    other = {
        "failure_code": "x",
        "will_retry": False,
        "retry_count": 0,
        "charge_date": date(2026, 1, 1),
        "paid_at": T0,
        "order_id": "ord_9",
    }
    load(engine, payments, [payment(1, 1, **same), payment(2, 1, **same)])  # bound once
    load(engine, payments, [payment(3, 1, **same), payment(4, 1, **other)])  # staged

    got = stored(engine, *same, "provider", "currency", "synced_at")
    assert got["ch_1"] == (*same.values(), "stripe", "EUR", SYNCED)
    assert got["ch_2"] == got["ch_1"]
    assert got["ch_3"] == got["ch_1"]
    again = load(engine, payments, [payment(1, 1, **same), payment(3, 1, **same)])
    assert again == UpsertResult(inserted=0, updated=0, unchanged=2)


def test_a_frame_and_dicts_of_the_same_rows_are_the_same_rows(engine: Engine) -> None:
    rows = [payment(n, 7) for n in range(3)]
    load(engine, payments, rows)

    frame = pd.DataFrame(rows).astype({"amount": "int64", "source_version": "int32"})
    frame["created_at"] = pd.to_datetime(frame["created_at"]).dt.tz_convert("Europe/Paris")

    assert load(engine, payments, frame) == UpsertResult(inserted=0, updated=0, unchanged=3)


def test_the_cursor_moves_with_its_rows_or_not_at_all(engine: Engine) -> None:
    state = SyncState("stripe", "events", mode="incremental", cursor="evt_1")
    with engine.begin() as conn:
        write_sync_state(conn, state, at=SYNCED)

    def crash_after_both_writes() -> None:
        with engine.begin() as conn:
            upsert(conn, payments, [payment(1, 1)], synced_at=SYNCED)
            write_sync_state(conn, replace(state, cursor="evt_2"), at=SYNCED)
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError, match="crash"):
        crash_after_both_writes()

    with engine.connect() as conn:
        assert read_sync_state(conn, "stripe", "events").cursor == "evt_1"  # type: ignore[union-attr]
        assert conn.execute(select(func.count()).select_from(payments)).scalar() == 0

    with engine.begin() as conn:
        upsert(conn, payments, [payment(1, 1)], synced_at=SYNCED)
        write_sync_state(conn, replace(state, cursor="evt_2"), at=SYNCED)

    with engine.connect() as conn:
        assert read_sync_state(conn, "stripe", "events").cursor == "evt_2"  # type: ignore[union-attr]
        assert conn.execute(select(func.count()).select_from(payments)).scalar() == 1


def test_two_upserts_of_one_table_in_one_transaction(engine: Engine) -> None:
    with engine.begin() as conn:
        first = upsert(conn, payments, [payment(1, 1)], synced_at=SYNCED)
        second = upsert(conn, payments, [payment(1, 2, status="refunded")], synced_at=SYNCED)

    assert (first.inserted, second.updated) == (1, 1)


def test_a_constraint_violation_fails_the_batch_and_writes_nothing(engine: Engine) -> None:
    with pytest.raises(IntegrityError), engine.begin() as conn:
        upsert(conn, payments, [payment(1, 1), payment(2, 1, currency="eur")], synced_at=SYNCED)

    assert stored(engine) == {}


def test_ten_thousand_rows(engine: Engine) -> None:
    rows = [payment(n, 1) for n in range(10_000)]
    assert load(engine, payments, rows).inserted == 10_000

    changed = [
        payment(n, 2, status="refunded") if n % 10 == 0 else payment(n, 1) for n in range(10_000)
    ]
    result = load(engine, payments, pd.DataFrame(changed))

    assert result == UpsertResult(inserted=0, updated=1_000, unchanged=9_000)
    with engine.connect() as conn:
        count = select(func.count()).select_from(payments).where(payments.c.status == "refunded")
        assert conn.execute(count).scalar() == 1_000


def test_an_empty_batch_does_nothing(engine: Engine) -> None:
    assert load(engine, payments, []) == UpsertResult(0, 0, 0)
    assert load(engine, payments, pd.DataFrame(columns=["payment_id"])) == UpsertResult(0, 0, 0)


def test_raw_payloads_are_kept_once_per_object_in_their_latest_version(engine: Engine) -> None:
    def raw(version: int, status: str) -> dict[str, Any]:
        payload = {"id": "ch_1", "object": "charge", "status": status, "amount": 4990}
        key = {"provider": "stripe", "object_type": "charge", "object_id": "ch_1"}
        return {**key, "payload": payload, "source_version": version}

    assert load(engine, raw_objects, [raw(1, "pending"), raw(2, "succeeded")]).inserted == 1
    assert load(engine, raw_objects, [raw(2, "succeeded")]) == UpsertResult(0, 0, 1)

    with engine.connect() as conn:
        payload = conn.execute(select(raw_objects.c.payload)).scalar_one()
    assert payload == '{"amount":4990,"id":"ch_1","object":"charge","status":"succeeded"}'
