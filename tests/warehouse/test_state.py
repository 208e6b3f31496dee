"""Stream cursors, the quarantine and flow-run records, on both databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, select

from warehouse.state import (
    PipelineRun,
    SyncState,
    read_run,
    read_sync_state,
    read_sync_states,
    record_run,
    write_sync_state,
)
from warehouse.tables import quarantine as quarantine_table
from warehouse.upsert import QuarantineResult, quarantine, resolve_quarantine

NIGHT = datetime(2026, 6, 30, 22, 0, tzinfo=UTC)


def test_a_stream_state_round_trips_and_is_replaced(engine: Engine) -> None:
    state = SyncState(
        "gocardless",
        "payments",
        cursor="PM0042",
        watermark=NIGHT - timedelta(minutes=5),
        details={"slices_done": ["2026-01", "2026-02"]},
    )
    with engine.begin() as conn:
        assert read_sync_state(conn, "gocardless", "payments") is None
        written = write_sync_state(conn, state, at=NIGHT)
        write_sync_state(conn, SyncState("stripe", "events"), at=NIGHT)

    with engine.connect() as conn:
        assert read_sync_state(conn, "gocardless", "payments") == written
        assert written.updated_at == NIGHT
        assert written.details == {"slices_done": ["2026-01", "2026-02"]}

    later = replace(written, mode="incremental", cursor="PM0099", rows_synced=10**12)
    with engine.begin() as conn:
        write_sync_state(conn, later, at=NIGHT + timedelta(days=1))
    with engine.connect() as conn:
        assert [s.cursor for s in read_sync_states(conn)] == ["PM0099", None]
        assert [s.stream for s in read_sync_states(conn, "stripe")] == ["events"]
        assert read_sync_state(conn, "gocardless", "payments").rows_synced == 10**12  # type: ignore[union-attr]


def test_a_bad_record_is_listed_once_however_often_it_fails(engine: Engine) -> None:
    bad = {
        "provider": "stripe",
        "object_type": "charge",
        "object_id": "ch_bad",
        "reason": "currency missing",
        "payload": {"id": "ch_bad", "amount": 100},
    }
    with engine.begin() as conn:
        first = quarantine(
            conn, [bad, {**bad, "object_id": "ch_worse"}], seen_at=NIGHT, run_id="r1"
        )
    with engine.begin() as conn:
        again = quarantine(
            conn, [{**bad, "reason": "currency 'xx'"}], seen_at=NIGHT + timedelta(days=1)
        )

    assert (first, again) == (QuarantineResult(new=2, seen_again=0), QuarantineResult(0, 1))
    with engine.connect() as conn:
        row = conn.execute(
            select(quarantine_table).where(quarantine_table.c.object_id == "ch_bad")
        ).one()
    assert (row.first_seen_at, row.last_seen_at) == (NIGHT, NIGHT + timedelta(days=1))
    assert (row.reason, row.times_seen, row.resolved_at) == ("currency 'xx'", 2, None)
    assert row.payload == '{"amount":100,"id":"ch_bad"}'


def test_a_resolved_record_that_fails_again_is_reopened(engine: Engine) -> None:
    bad = {"provider": "gocardless", "object_type": "payment", "object_id": "PM1", "reason": "x"}
    with engine.begin() as conn:
        quarantine(conn, [bad], seen_at=NIGHT)
        assert resolve_quarantine(conn, "gocardless", "payment", ["PM1", "PM2"], NIGHT) == 1
        reopened = quarantine(conn, [bad], seen_at=NIGHT + timedelta(days=3))

    assert reopened == QuarantineResult(new=1, seen_again=0)
    with engine.connect() as conn:
        row = conn.execute(select(quarantine_table)).one()
    assert (row.first_seen_at, row.times_seen, row.resolved_at) == (
        NIGHT + timedelta(days=3),
        1,
        None,
    )


def test_a_run_is_recorded_at_start_and_completed_at_the_end(engine: Engine) -> None:
    run = PipelineRun("0b6c…-run", "nightly", date(2026, 6, 30), started_at=NIGHT)
    with engine.begin() as conn:
        record_run(conn, run)
    done = replace(
        run,
        status="completed",
        finished_at=NIGHT + timedelta(minutes=7),
        counts={"stripe.charges": 1200},
        control_totals={"stripe": {"charges": {"count": 1200, "amount": {"EUR": 5_988_000}}}},
    )
    with engine.begin() as conn:
        record_run(conn, done)

    with engine.connect() as conn:
        assert read_run(conn, run.run_id) == done
        assert read_run(conn, "nope") is None
