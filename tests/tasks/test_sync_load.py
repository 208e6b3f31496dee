"""The batch loader on SQLite and PostgreSQL: newest wins, enrichments survive, bad rows wait."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from domain.sync_streams import stream
from tasks.sync_load import load_objects, read_raw
from warehouse import tables

SEEN = datetime(2026, 7, 1, tzinfo=UTC)
CHARGES = stream("stripe", "charges")


def charge(**changes: Any) -> dict[str, Any]:
    base = {
        "id": "ch_1",
        "object": "charge",
        "amount": 4990,
        "amount_refunded": 0,
        "currency": "eur",
        "status": "succeeded",
        "captured": True,
        "disputed": False,
        "created": 1782800000,
        "customer": "cus_1",
        "payment_intent": "pi_1",
        "balance_transaction": {
            "id": "txn_1",
            "object": "balance_transaction",
            "fee": 100,
            "net": 4890,
        },
    }
    return {**base, **changes}


def load(engine: Engine, objects: list[dict[str, Any]], version: int) -> dict[str, Any]:
    with engine.begin() as conn:
        return load_objects(
            conn,
            CHARGES,
            objects,
            [version] * len(objects),
            tz="Europe/Paris",
            seen_at=SEEN,
            run_id="run-1",
        )


def payment(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(select(tables.payments)).one()._mapping)


def test_an_older_event_after_a_newer_one_rolls_nothing_back(engine: Engine) -> None:
    load(engine, [charge(amount_refunded=4990, refunded=True)], 200_000_000)
    tallies = load(engine, [charge()], 100_000_000)
    assert tallies["stripe/payments"].stale == 1
    assert tallies["stripe/payments"].updated == 0
    assert payment(engine)["status"] == "refunded"


def test_an_event_without_the_expanded_balance_transaction_keeps_fee_and_net(
    engine: Engine,
) -> None:
    load(engine, [charge()], 100_000_000)
    event_snapshot = charge(amount_refunded=1000, balance_transaction="txn_1")
    tallies = load(engine, [event_snapshot], 200_000_000)
    assert tallies["stripe/payments"].updated == 1
    row = payment(engine)
    assert (row["status"], row["fee"], row["net"]) == ("partially_refunded", 100, 4890)
    with engine.connect() as conn:
        raw = read_raw(conn, "stripe", "charge")
    assert raw["ch_1"]["balance_transaction"] == "txn_1"  # the latest JSON, as received


def test_a_bad_record_is_quarantined_and_the_rest_go_on(engine: Engine) -> None:
    tallies = load(engine, [charge(), charge(id="ch_2", amount="12.5")], 100_000_000)
    assert (tallies["stripe/payments"].inserted, tallies["stripe/payments"].quarantined) == (1, 1)
    again = load(engine, [charge()], 100_000_000)
    assert again["stripe/payments"].inserted == again["stripe/payments"].updated == 0
    with engine.connect() as conn:
        rejected = conn.execute(select(tables.quarantine)).all()
    assert [(r.object_id, r.run_id) for r in rejected] == [("ch_2", "run-1")]
    assert "amount" in rejected[0].reason
