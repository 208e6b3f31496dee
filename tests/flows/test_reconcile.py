"""End to end: sync a generated shop, then the real ``reconcile`` flow, on SQLite and
PostgreSQL.

The first night finds every anomaly the generator planted and nothing but genuine
cases; the register in the warehouse is what the domain rules give on the same shop
normalised without HTTP; running the same night again changes no row. A second night,
after the sync brings a parcel nobody paid for (a tracking added at AfterShip) and a
refund of the duplicate charge, opens and resolves exactly those, and leaves the
exception finance accepted closed.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from domain.reconcile import Frames, ReconPolicy, ReconReport, find_exceptions
from flows.reconcile import reconcile
from flows.sync import sync
from tests.domain.reconcile.anomalies import assert_only_genuine
from tests.domain.reconcile.shop_frames import shop_frames
from tests.flows.conftest import AS_OF, Live
from warehouse import tables
from warehouse.state import read_run

DAY = 86_400


def run_reconcile(as_of: Any) -> ReconReport:
    state = reconcile(as_of=as_of, return_state=True)
    assert state.is_completed(), state.message
    report = state.result()
    assert isinstance(report, ReconReport)
    return report


def register(live: Live) -> list[dict[str, Any]]:
    t = tables.recon_exceptions
    with live.engine.connect() as conn:
        rows = conn.execute(select(t).order_by(t.c.exception_id)).all()
    return [dict(r._mapping) for r in rows]


@pytest.fixture
def live(synced: Live) -> Live:
    """The shop already synced for AS_OF: copies of the session's one sync of it."""
    return synced


def test_reconcile_nights(live: Live) -> None:
    report = run_reconcile(AS_OF)

    rows = register(live)
    frames = shop_frames(live.store)
    expected = find_exceptions(Frames.of(frames), AS_OF, ReconPolicy())
    assert sorted(r["exception_id"] for r in rows) == sorted(expected["exception_id"])
    assert_only_genuine(expected, frames, live.summary)
    assert {r["status"] for r in rows} == {"open"}
    assert report.found == report.new == len(rows)
    assert report.resolved == report.still_open == 0
    with live.engine.connect() as conn:
        run = read_run(conn, report.run_id)
    assert run is not None
    assert run.status == "completed"
    assert run.counts["found"] == len(rows)
    assert run.control_totals["reconcile"] == report.control_totals
    collected = [t for t in report.control_totals if t["object"] == "payments"]
    assert {t["provider"] for t in collected} == {"stripe", "gocardless"}
    assert sum(t["unmatched"] for t in collected) > 0

    # the same night again: not one row changes
    again = run_reconcile(AS_OF)
    assert register(live) == rows
    assert again.counts() == report.counts()  # still "new": first seen on this as_of
    assert again.control_totals == report.control_totals

    # night 2: a parcel nobody paid for arrives at AfterShip; the duplicate is refunded
    duplicate = live.summary.anomalies["duplicate_charge"][0]["duplicate"]
    parcel = dict(next(iter(live.store.iter_all("aftership", "trackings"))))
    shipped = (live.summary.clock_start - timedelta(days=20)).isoformat()
    now = (live.summary.clock_start + timedelta(hours=2)).isoformat()
    parcel.update(
        id="e" * 32,
        tracking_number="NEW1FR",
        order_id="ORD-NEWUNPAID1",
        shipment_pickup_date=shipped,
        created_at=shipped,
        updated_at=now,
    )
    live.store.add("aftership", "trackings", parcel)
    live.advance(DAY)
    assert sync(as_of=AS_OF + timedelta(days=1), return_state=True).is_completed()
    with live.engine.begin() as conn:  # the refund as the next sync would store it
        p = tables.payments
        conn.execute(update(p).where(p.c.payment_id == duplicate).values(status="refunded"))
        r = tables.recon_exceptions  # finance accepts the payout mismatch (docs' SQL)
        conn.execute(
            update(r)
            .where(r.c.kind == "payout_mismatch")
            .values(status="accepted", accepted_on=AS_OF, accepted_by="finance", note="known")
        )

    night2 = run_reconcile(AS_OF + timedelta(days=1))

    after = {r["exception_id"]: r for r in register(live)}
    opened = [r for r in after.values() if r["first_seen_on"] == AS_OF + timedelta(days=1)]
    resolved = [r for r in after.values() if r["status"] == "resolved"]
    assert [(r["kind"], json.loads(r["object_ids"])) for r in opened] == [
        ("shipped_not_paid", ["ORD-NEWUNPAID1", "e" * 32])
    ]
    assert [r["kind"] for r in resolved] == ["duplicate_payment"]
    assert duplicate in resolved[0]["object_ids"]
    assert (night2.new, night2.resolved, night2.accepted) == (1, 1, 1)
    assert night2.still_open == len(rows) - 2
    (accepted,) = [r for r in after.values() if r["kind"] == "payout_mismatch"]
    assert (accepted["status"], accepted["last_seen_on"]) == ("accepted", AS_OF + timedelta(1))
    assert (accepted["accepted_by"], accepted["note"], accepted["age_days"]) == (
        "finance",
        "known",
        0,
    )
    for row in after.values():
        if row["status"] == "open" and row["first_seen_on"] == AS_OF:
            assert (row["last_seen_on"], row["age_days"]) == (AS_OF + timedelta(days=1), 1)
