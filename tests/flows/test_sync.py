"""End to end: the real ``sync`` flow against a live sandbox, on SQLite and PostgreSQL.

One scenario per backend walks the nights a shop goes through: the first full listing
(every table equals the sandbox), a night with no change (nothing written), a night of
changes made through the providers' write endpoints and events (exactly those picked
up, cursors advanced, an event listed late behind the cursor read in the overlap), a
quiet night re-reading that overlap (nothing written), a replay of older events
(nothing rolled back), and a Stripe cursor past the 30-day retention (a re-list that
changes nothing). Faults: injected 429s and 5xx change nothing; a 403 fails the run
naming the stream.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

import connectors.stripe.connector
import tasks.sync_stripe
from connectors.factory import from_settings
from domain.sync_plan import SyncReport
from domain.sync_streams import by_object_type
from echeancier.settings import load_settings
from flows.sync import sync
from sandbox.providers.stripe_events import WriteContext
from tests.flows.conftest import AS_OF, Live, sandbox_totals, warehouse_totals
from warehouse import tables
from warehouse.state import read_run, read_sync_state, write_sync_state

DAY = 86_400
FACT_TABLES = ("customers", "subscriptions", "invoices", "invoice_payments", "payments", "refunds")


def run_sync(live: Live) -> tuple[SyncReport, float]:
    started = time.perf_counter()
    state = sync(as_of=AS_OF, return_state=True)
    seconds = time.perf_counter() - started
    assert state.is_completed(), state.message
    report = state.result()
    assert isinstance(report, SyncReport)
    return report, seconds


def assert_matches_sandbox(live: Live) -> None:
    assert warehouse_totals(live.engine) == sandbox_totals(live.store)
    with live.engine.connect() as conn:
        assert conn.execute(select(tables.quarantine)).all() == []


def written(report: SyncReport) -> dict[str, tuple[int, int]]:
    return {
        name: (t.inserted, t.updated)
        for name, t in report.streams.items()
        if t.inserted or t.updated
    }


def synced_after(live: Live, moment: datetime) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    with live.engine.connect() as conn:
        for name in (*FACT_TABLES, "shipments"):
            table = tables.metadata.tables[name]
            key = next(iter(table.primary_key.columns))
            ids = conn.execute(select(key).where(table.c.synced_at > moment)).scalars()
            out[name] = set(ids)
    return out


ENRICHMENTS = {"fee", "net", "balance_transaction_id"}
BOOKKEEPING = {"source_version", "row_hash", "synced_at"}


def snapshot_rows(live: Live) -> dict[str, dict[Any, dict[str, Any]]]:
    """Business columns of every row of the fact tables, by key."""
    out: dict[str, dict[Any, dict[str, Any]]] = {}
    with live.engine.connect() as conn:
        for name in FACT_TABLES:
            table = tables.metadata.tables[name]
            keys = [c.name for c in table.primary_key.columns]
            out[name] = {
                tuple(r._mapping[k] for k in keys): {
                    c: v for c, v in r._mapping.items() if c not in BOOKKEEPING
                }
                for r in conn.execute(select(table))
            }
    return out


def row(live: Live, name: str, object_id: str) -> dict[str, Any]:
    table = tables.metadata.tables[name]
    key = next(iter(table.primary_key.columns))
    with live.engine.connect() as conn:
        return dict(conn.execute(select(table).where(key == object_id)).one()._mapping)


def first(live: Live, provider: str, resource: str, **where: Any) -> dict[str, Any]:
    for obj in live.store.iter_all(provider, resource):
        if all(obj.get(k) == v for k, v in where.items()):
            return obj
    raise AssertionError(f"no {provider} {resource} with {where}")


def latest_synced(live: Live) -> datetime:
    with live.engine.connect() as conn:
        return max(
            max(conn.execute(select(tables.metadata.tables[n].c.synced_at)).scalars().all())
            for n in FACT_TABLES
        )


# -- the nights ---------------------------------------------------------------------------


def make_changes(live: Live) -> dict[str, str]:
    """Change the shop through the write endpoints and through the store plus its events."""
    connectors = from_settings(load_settings())
    invoice = next(
        i
        for i in live.store.iter_all("stripe", "invoices")
        if i.get("status") in ("open", "uncollectible")
    )
    connectors.stripe.pay_invoice(invoice["id"], "test-pay-1")
    failed = first(live, "gocardless", "payments", status="failed")
    retried = connectors.gocardless.retry_payment(failed["id"], "test-retry-1")
    subscription = first(live, "stripe", "subscriptions", status="active")
    connectors.stripe.cancel_subscription(subscription["id"], "test-cancel-1")
    now = live.now_epoch()
    ctx = WriteContext(store=live.store, now=now, seed=7, request_id="req_test")
    charge = next(
        c
        for c in live.store.iter_all("stripe", "charges")
        if c.get("status") == "succeeded" and not c.get("amount_refunded") and not c.get("disputed")
    )
    refund = {
        "id": "re_testlate0000000000000001",
        "object": "refund",
        "amount": charge["amount"],
        "charge": charge["id"],
        "payment_intent": charge.get("payment_intent"),
        "created": now,
        "currency": charge["currency"],
        "status": "succeeded",
        "reason": "requested_by_customer",
    }
    ctx.save("refunds", refund)
    ctx.emit("refund.created", refund)
    refunded = {**charge, "amount_refunded": charge["amount"], "refunded": True}
    ctx.save("charges", refunded)
    ctx.emit("charge.refunded", refunded, before=charge)
    late = first(live, "gocardless", "payments", status="paid_out")
    live.store.replace("gocardless", "payments", {**late, "status": "failed"})
    stamp = datetime.fromtimestamp(now, UTC)
    live.store.add(
        "gocardless",
        "events",
        {
            "id": "EVTESTLATE0001",
            "created_at": stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "resource_type": "payments",
            "action": "failed",
            "links": {"payment": late["id"]},
            "details": {"origin": "bank", "cause": "late_failure_settled", "scheme": "sepa_core"},
            "metadata": {},
        },
    )
    parcel = next(
        t for t in live.store.iter_all("aftership", "trackings") if t.get("tag") != "Delivered"
    )
    when = stamp.isoformat()
    delivered = {
        **parcel,
        "tag": "Delivered",
        "subtag": "Delivered_001",
        "shipment_delivery_date": when,
        "updated_at": when,
    }
    live.store.replace("aftership", "trackings", delivered)
    return {
        "invoice": invoice["id"],
        "subscription": subscription["id"],
        "charge": charge["id"],
        "refund": refund["id"],
        "late": late["id"],
        "parcel": parcel["id"],
        "retried": failed["id"] if retried.status == "retried" else "",
    }


def add_late_event(live: Live) -> str:
    """A customer whose creation event Stripe lists only now although it is dated a minute
    before the stored cursor's event: behind the cursor, where only the overlap looks."""
    with live.engine.connect() as conn:
        cursor = read_sync_state(conn, "stripe", "events")
    assert cursor is not None
    assert cursor.watermark is not None
    when = int(cursor.watermark.timestamp()) - 60
    customer = {
        **first(live, "stripe", "customers"),
        "id": "cus_testlate000000000001",
        "created": when,
        "email": "late.customer@example.com",
    }
    ctx = WriteContext(store=live.store, now=when, seed=7, request_id="req_test_late")
    ctx.save("customers", customer)
    ctx.emit("customer.created", customer)
    return str(customer["id"])


def expected_writes(live: Live, since: int) -> dict[str, set[str]]:
    """Per table, the objects the new events (and the parcel) name."""
    routes = by_object_type("stripe")
    out: dict[str, set[str]] = {name: set() for name in (*FACT_TABLES, "shipments")}
    for event in live.store.iter_all("stripe", "events"):
        obj = event["data"]["object"]
        if event["created"] >= since and obj.get("object") in routes:
            for output in routes[obj["object"]].outputs:
                if output.table in out:
                    out[output.table].add(obj["id"])
    for event in live.store.iter_all("gocardless", "events"):
        stamp = datetime.fromisoformat(event["created_at"].replace("Z", "+00:00"))
        if stamp.timestamp() >= since and event["resource_type"] == "payments":
            out["payments"].add(event["links"]["payment"])
    return out


def test_nights_full_quiet_changes_replay_and_expired_cursor(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (a) first night: a full listing; every table equals the sandbox.
    full, full_seconds = run_sync(live)
    assert full.modes == {"stripe": "full", "gocardless": "full", "aftership": "full"}
    assert_matches_sandbox(live)
    assert all(t.get("matches", True) for t in full.control_totals.values()), full.control_totals
    with live.engine.connect() as conn:
        run = read_run(conn, full.run_id)
        after_full = read_sync_state(conn, "stripe", "events")
        after_full_gc = read_sync_state(conn, "gocardless", "events:payments")
    assert run is not None
    assert run.status == "completed"
    assert run.control_totals
    assert after_full is not None
    assert after_full.cursor is not None
    assert after_full_gc is not None
    linked = row(live, "payments", first(live, "stripe", "charges", status="succeeded")["id"])
    assert linked["invoice_id"] is not None or linked["order_id"] is not None

    # (c) a night with no change writes nothing.
    quiet, quiet_seconds = run_sync(live)
    assert quiet.modes == {
        "stripe": "incremental",
        "gocardless": "incremental",
        "aftership": "incremental",
    }
    assert written(quiet) == {}

    # (b) changes through the write endpoints and events: exactly those are picked up.
    live.advance(DAY)
    since = live.now_epoch()
    before = latest_synced(live)
    changed = make_changes(live)
    late = add_late_event(live)
    live.advance(60)
    _night, night_seconds = run_sync(live)
    assert_matches_sandbox(live)
    writes = synced_after(live, before)
    expected = expected_writes(live, since)
    expected["shipments"].add(changed["parcel"])
    expected["customers"].add(late)
    for name, ids in writes.items():
        allowed = expected.get(name, set())
        assert ids <= allowed, (name, ids - allowed)
    assert late in writes["customers"]  # listed late, behind the cursor: read in the overlap
    assert changed["subscription"] in writes["subscriptions"]
    assert changed["invoice"] in writes["invoices"]
    assert changed["refund"] in writes["refunds"]
    assert {changed["charge"], changed["late"]} <= writes["payments"]
    assert writes["shipments"] == {changed["parcel"]}
    assert row(live, "subscriptions", changed["subscription"])["status"] == "canceled"
    sandbox_invoice = first(live, "stripe", "invoices", id=changed["invoice"])
    assert row(live, "invoices", changed["invoice"])["status"] == sandbox_invoice["status"]
    assert row(live, "payments", changed["charge"])["status"] == "refunded"
    assert row(live, "payments", changed["charge"])["fee"] is not None  # carried forward
    assert row(live, "payments", changed["late"])["status"] == "failed"
    if changed["retried"]:
        assert row(live, "payments", changed["retried"])["status"] == "pending"
        assert changed["retried"] in writes["payments"]
    assert row(live, "shipments", changed["parcel"])["status"] == "delivered"
    with live.engine.connect() as conn:
        moved = read_sync_state(conn, "stripe", "events")
        gc_moved = read_sync_state(conn, "gocardless", "events:payments")
    assert moved is not None
    assert moved.cursor != after_full.cursor
    assert gc_moved is not None
    assert gc_moved.cursor != after_full_gc.cursor

    # (d) the next quiet night reads the overlap again (the events of (b) sit just behind
    # its cursor) and writes nothing: no row inserted, updated or even stamped.
    live.advance(60)
    before_quiet = latest_synced(live)
    again, _ = run_sync(live)
    assert written(again) == {}
    assert again.streams["stripe/raw_objects"].pulled > 0  # the overlap was read
    assert all(not ids for ids in synced_after(live, before_quiet).values())

    # (f) older events delivered again after newer ones roll nothing back: the cursors go
    # back to the first night and every event is replayed, one event per batch, so each
    # object's older snapshots arrive after its newest one is stored.
    batch, page = tasks.sync_stripe.EVENTS_PER_BATCH, connectors.stripe.connector.PAGE_SIZE
    monkeypatch.setattr(tasks.sync_stripe, "EVENTS_PER_BATCH", 1)
    monkeypatch.setattr(connectors.stripe.connector, "PAGE_SIZE", 1)
    with live.engine.connect() as conn:
        snapshot = {n: conn.execute(select(tables.metadata.tables[n])).all() for n in FACT_TABLES}
    with live.engine.begin() as conn:
        write_sync_state(conn, replace(after_full, updated_at=None))
        write_sync_state(conn, replace(after_full_gc, updated_at=None))
    replay, _ = run_sync(live)
    assert written(replay) == {}
    assert sum(t.stale for t in replay.streams.values()) > 0
    monkeypatch.setattr(tasks.sync_stripe, "EVENTS_PER_BATCH", batch)
    monkeypatch.setattr(connectors.stripe.connector, "PAGE_SIZE", page)
    with live.engine.connect() as conn:
        for name in FACT_TABLES:
            assert conn.execute(select(tables.metadata.tables[name])).all() == snapshot[name]

    # (g) a Stripe cursor older than 30 days: a full re-list, which changes nothing. The
    # stored watermark is made to look fresh, so it is Stripe's own answer (the cursor
    # event is gone) that sends the sync back to the lists; the age check on the
    # watermark alone is covered by tests/flows/test_sync_modes.py.
    live.advance(31 * DAY)
    with live.engine.begin() as conn:
        stale_cursor = read_sync_state(conn, "stripe", "events")
        assert stale_cursor is not None
        now = datetime.fromtimestamp(live.now_epoch(), UTC)
        write_sync_state(conn, replace(stale_cursor, watermark=now, updated_at=None))
    httpx.delete(f"{live.url}/__sandbox/requests")
    before_relist = snapshot_rows(live)
    expired, _ = run_sync(live)
    assert expired.modes["stripe"] == "full"
    paths = {r["path"] for r in httpx.get(f"{live.url}/__sandbox/requests").json()}
    assert "/v1/charges" in paths
    with live.engine.connect() as conn:
        fresh = read_sync_state(conn, "stripe", "events")
    assert fresh is not None
    assert fresh.cursor != stale_cursor.cursor
    stripe_writes = {k for k in written(expired) if k.startswith("stripe/")}
    assert stripe_writes <= {"stripe/payments", "stripe/raw_objects"}
    # What the re-list may change: enrichments an event-sourced row could not know (the
    # fee and net of a charge created since the first night), nothing else.
    for name, rows in snapshot_rows(live).items():
        for key, values in rows.items():
            old = before_relist[name][key]
            changed = {c for c in values if values[c] != old[c]}
            assert changed <= ENRICHMENTS, (name, key, changed)
            assert all(old[c] is None for c in changed), (name, key, changed)
    assert_matches_sandbox(live)
    print(
        f"\nsync timings: full {full_seconds:.2f}s, quiet {quiet_seconds:.2f}s,"
        f" changes {night_seconds:.2f}s"
    )


def test_injected_429s_and_5xx_change_nothing(live: Live) -> None:
    faults = [
        {"provider": "stripe", "status": 429, "count": 2},
        {"provider": "stripe", "status": 503, "count": 1, "path": "/v1/charges"},
        {"provider": "stripe", "status": 500, "count": 1, "path": "/v1/balance_transactions"},
        {"provider": "gocardless", "status": 429, "count": 1},
        {"provider": "gocardless", "status": 502, "count": 1, "path": "/payout_items"},
        {"provider": "aftership", "status": 503, "count": 1},
        {"provider": "aftership", "status": 429, "count": 1},
    ]
    httpx.post(f"{live.url}/__sandbox/faults", json=faults).raise_for_status()
    run_sync(live)
    httpx.delete(f"{live.url}/__sandbox/faults")
    statuses = {r["status"] for r in httpx.get(f"{live.url}/__sandbox/requests").json()}
    assert {429, 503, 500, 502} <= statuses
    assert_matches_sandbox(live)


def test_a_403_fails_the_run_naming_the_stream(live: Live) -> None:
    fault = {"provider": "stripe", "status": 403, "count": 1000, "path": "/v1/charges"}
    httpx.post(f"{live.url}/__sandbox/faults", json=fault).raise_for_status()
    state = sync(as_of=AS_OF, return_state=True)
    assert state.is_failed()
    assert "stripe charges: HTTP 403" in str(state.message)
    with live.engine.connect() as conn:
        runs = conn.execute(select(tables.pipeline_runs)).all()
        cursor = read_sync_state(conn, "stripe", "events")
    assert [(r.status, "charges" in (r.message or "")) for r in runs] == [("failed", True)]
    assert cursor is None  # the next night lists again: nothing was skipped
