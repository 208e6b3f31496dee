"""End to end: a generated shop synced from the sandbox, then the real ``shipment-notices``
flow night after night, on SQLite and PostgreSQL, sending through the sandbox's SendGrid.

- every night queues exactly the domain's decisions for that night on the shop's own
  parcels (late parcels, the withdrawal-window reminder, the overdue refund), each once;
- the overdue refund goes to finance, never to the customer, and stays in
  ``notice_exceptions`` until a refund appears;
- a parcel delivered after its delay notice was queued, but before it left, withdraws it
  (a dry run only counts it).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import insert, select

import flows.shipment_notices
from domain.notices import NoticePolicy, NoticeReport, plan_shipment_notices
from flows.shipment_notices import shipment_notices
from flows.sync import sync
from tests.domain.notices.shop import shipment_frames
from tests.flows.conftest import AS_OF, Live
from warehouse import tables
from warehouse.notice_tables import notice_exceptions
from warehouse.outbox_tables import notifications

FINANCE = "finance@example.com"
NIGHTS = 13  # 30 June .. 12 July: reminders, late parcels, then an overdue refund


@pytest.fixture
def night(synced: Live, monkeypatch: pytest.MonkeyPatch) -> Live:
    """The shop synced for AS_OF; the flow reads the sandbox's clock."""
    monkeypatch.setattr(flows.shipment_notices, "utc_now", synced.sandbox.app.state.clock.now)
    return synced


def run(**kwargs: Any) -> NoticeReport:
    state = shipment_notices(return_state=True, **kwargs)
    assert state.is_completed(), state.message
    report = state.result()
    assert isinstance(report, NoticeReport)
    return report


def outbox(live: Live) -> dict[str, dict[str, Any]]:
    with live.engine.connect() as conn:
        return {r.dedupe_key: dict(r._mapping) for r in conn.execute(select(notifications))}


def mails(live: Live) -> list[dict[str, Any]]:
    got = requests.get(live.url + "/__sandbox/sendgrid/messages", timeout=5).json()
    return [m["body"] for m in got]


def register(live: Live) -> list[dict[str, Any]]:
    with live.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(notice_exceptions))]


def test_night_after_night_each_parcel_notice_once_and_refunds_for_finance(night: Live) -> None:
    frames = shipment_frames(night.store)
    decided: dict[str, date] = {}
    for offset in range(NIGHTS):
        day = AS_OF + timedelta(days=offset)
        for notice in plan_shipment_notices(frames, day, NoticePolicy()).notices:
            decided.setdefault(notice.dedupe_key, day)
        report = run(as_of=day)
        rows = outbox(night)
        assert set(rows) == set(decided), day
        assert report.new == sum(1 for d in decided.values() if d == day)
    kinds = Counter(key.split(":")[0] for key in decided)
    assert kinds["shipment_delay"] >= 1
    assert kinds["return_window"] >= 1
    assert kinds["refund_overdue"] >= 1

    rows = outbox(night)
    assert {k: r["planned_for"] for k, r in rows.items()} == decided
    overdue = [r for r in rows.values() if r["kind"] == "refund_overdue"]
    assert {r["audience"] for r in overdue} == {"finance"}
    sent = {m["custom_args"]["notification_id"]: m for m in mails(night)}
    for row in overdue:
        to = sent[row["notification_id"]]["personalizations"][0]["to"]
        assert to == [{"email": FINANCE}]
    # customer notices decided after the sandbox's clock (end of 30 June) wait for their
    # morning; none is about a refund
    for row in rows.values():
        if row["audience"] == "customer":
            assert row["status"] == ("sent" if row["planned_for"] == AS_OF else "queued")
    refund_mails = [m for m in sent.values() if m["categories"] == ["refund_overdue"]]
    assert refund_mails
    assert all(m["personalizations"][0]["to"] == [{"email": FINANCE}] for m in refund_mails)
    assert {r["kind"] for r in register(night)} == {"refund_overdue"}
    assert {r["status"] for r in register(night)} == {"open"}

    again = run(as_of=AS_OF + timedelta(days=NIGHTS - 1))
    assert again.new == 0
    assert outbox(night) == rows


def test_delivery_withdraws_a_waiting_delay_notice_and_a_refund_closes_the_item(
    night: Live,
) -> None:
    frames = shipment_frames(night.store)
    late_day = next(
        AS_OF + timedelta(days=offset)
        for offset in range(NIGHTS)
        if any(
            n.kind == "shipment_delay"
            for n in plan_shipment_notices(
                frames, AS_OF + timedelta(days=offset), NoticePolicy()
            ).notices
        )
    )
    first = run(as_of=late_day)
    (delay,) = [r for r in first.tonight if r["kind"] == "shipment_delay"][:1]
    assert outbox(night)[delay["dedupe_key"]]["status"] == "queued"  # its morning is ahead

    # AfterShip reports the parcel delivered; the next sync brings it in
    parcel = dict(night.store.get("aftership", "trackings", delay["tracking_id"]) or {})
    arrived = night.summary.clock_start + timedelta(hours=1)
    parcel.update(
        tag="Delivered",
        subtag="Delivered_001",
        shipment_delivery_date=arrived.isoformat(),
        updated_at=arrived.isoformat(),
        active=False,
    )
    night.store.replace("aftership", "trackings", parcel)
    night.advance(86_400)
    assert sync(as_of=late_day + timedelta(days=1), return_state=True).is_completed()

    dry = run(as_of=late_day + timedelta(days=1), dry_run=True)
    assert dry.withdrawn == {"delivered": 1}
    assert outbox(night)[delay["dedupe_key"]]["status"] == "queued"  # a dry run only counts

    real = run(as_of=late_day + timedelta(days=1))
    assert real.withdrawn == {"delivered": 1}
    row = outbox(night)[delay["dedupe_key"]]
    assert (row["status"], row["cancelled_reason"]) == ("cancelled", "delivered")
    sent = {m["custom_args"]["notification_id"] for m in mails(night)}
    assert row["notification_id"] not in sent

    # the overdue refund: listed, then refunded
    due_day = AS_OF + timedelta(days=NIGHTS - 1)
    run(as_of=due_day)
    (item,) = register(night)
    assert item["status"] == "open"
    with night.engine.begin() as conn:  # the refund as the next sync would store it
        conn.execute(
            insert(tables.refunds).values(
                refund_id="re_late_1",
                provider="stripe",
                order_id=item["order_id"],
                amount=item["amount"],
                currency=item["currency"],
                status="succeeded",
                created_at=datetime(2026, 7, 13, 9, tzinfo=UTC),
                source_version=1,
                row_hash="0" * 32,
                synced_at=datetime(2026, 7, 13, 9, tzinfo=UTC),
            )
        )
    closed = run(as_of=due_day + timedelta(days=1))
    (item,) = register(night)
    assert (item["status"], item["closed_on"], item["outcome"]) == (
        "closed",
        due_day + timedelta(days=1),
        "refunded",
    )
    assert closed.exceptions == {"opened": 0, "still_open": 0, "closed": 1}
