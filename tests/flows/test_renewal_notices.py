"""End to end: a generated shop synced from the sandbox, then the real ``renewal-notices``
flow, on SQLite and PostgreSQL, sending through the sandbox's SendGrid.

What finance and the customers must be able to rely on:

- the notices queued are exactly the domain's decisions on the shop's own objects (the
  L215-1 notice of a contract inside its window, the finance item for one whose window
  closed unnoticed, upcoming renewals, trial endings), each sent once, to the right
  person (customers at their address, finance at its own), with nothing personal in the
  run's artifacts;
- running the night again, or the next nights, sends nothing twice;
- a dry run plans exactly what the real run then sends, and sends nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from sqlalchemy import select

import flows.renewal_notices
from domain.notices import NoticePolicy, NoticeReport, plan_renewal_notices
from flows.renewal_notices import renewal_notices
from tests.domain.notices.build import outbox as box
from tests.domain.notices.shop import renewal_frames
from tests.flows.conftest import AS_OF, Live
from tests.warehouse.conftest import create_database, drop_database
from warehouse import tables
from warehouse.engine import make_engine
from warehouse.migrate import upgrade
from warehouse.notice_tables import notice_exceptions
from warehouse.outbox_tables import notifications
from warehouse.state import read_run

FINANCE = "finance@example.com"  # Settings.finance_email's default


@pytest.fixture
def night(synced: Live, monkeypatch: pytest.MonkeyPatch) -> Live:
    """The shop synced for AS_OF; the flow reads the sandbox's clock (end of AS_OF)."""
    monkeypatch.setattr(flows.renewal_notices, "utc_now", synced.sandbox.app.state.clock.now)
    return synced


def run(**kwargs: Any) -> NoticeReport:
    state = renewal_notices(return_state=True, **kwargs)
    assert state.is_completed(), state.message
    report = state.result()
    assert isinstance(report, NoticeReport)
    return report


def outbox(live: Live) -> dict[str, dict[str, Any]]:
    with live.engine.connect() as conn:
        return {r.dedupe_key: dict(r._mapping) for r in conn.execute(select(notifications))}


def mails(live: Live) -> list[dict[str, Any]]:
    """The mail/send bodies the sandbox's SendGrid accepted, in order."""
    got = requests.get(live.url + "/__sandbox/sendgrid/messages", timeout=5).json()
    return [m["body"] for m in got]


def emails(live: Live) -> dict[str, str]:
    c = tables.customers
    with live.engine.connect() as conn:
        return {r.customer_id: r.email for r in conn.execute(select(c.c.customer_id, c.c.email))}


def test_first_night_sends_each_decision_once_to_its_reader(night: Live) -> None:
    expected = plan_renewal_notices(renewal_frames(night.store), AS_OF, NoticePolicy())
    kinds = Counter((n.kind, n.audience) for n in expected.notices)
    # the generated shop has one of each (else this test would prove nothing)
    assert kinds[("tacit_renewal", "customer")] >= 1
    assert kinds[("tacit_renewal", "finance")] >= 1
    assert kinds[("upcoming_renewal", "customer")] >= 1
    assert kinds[("trial_ending", "customer")] >= 1

    report = run(as_of=AS_OF)

    rows = outbox(night)
    assert sorted(rows) == sorted(n.dedupe_key for n in expected.notices)
    assert {r["status"] for r in rows.values()} == {"sent"}
    assert report.new == len(rows)
    assert report.delivery == {"sent": len(rows)}
    sent = {m["custom_args"]["notification_id"]: m for m in mails(night)}
    assert sorted(sent) == sorted(r["notification_id"] for r in rows.values())
    addresses = emails(night)
    for row in rows.values():
        to = sent[row["notification_id"]]["personalizations"][0]["to"][0]["email"]
        assert to == (FINANCE if row["audience"] == "finance" else addresses[row["customer_id"]])

    tacit = next(
        n for n in expected.notices if n.kind == "tacit_renewal" and n.audience == "customer"
    )
    mail = sent[rows[tacit.dedupe_key]["notification_id"]]
    deadline = date.fromisoformat(tacit.context["deadline_on"])
    assert str(deadline.year) in mail["subject"]
    html = next(c["value"] for c in mail["content"] if c["type"] == "text/html")
    assert "border:2px solid" in html

    with night.engine.connect() as conn:
        register = [dict(r._mapping) for r in conn.execute(select(notice_exceptions))]
        recorded = read_run(conn, report.run_id)
    late = [n for n in expected.notices if n.audience == "finance"]
    assert sorted(r["exception_id"] for r in register) == sorted(
        rows[n.dedupe_key]["notification_id"] for n in late
    )
    assert {(r["kind"], r["status"], r["first_seen_on"]) for r in register} == {
        ("tacit_renewal_unnoticed", "open", AS_OF)
    }
    assert recorded is not None
    assert (recorded.status, recorded.flow, recorded.counts["new"]) == (
        "completed",
        "renewal-notices",
        len(rows),
    )

    # nothing personal in what operators see
    with get_client(sync_client=True) as client:
        run_id = report.run_id
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    assert {a.key for a in artifacts} >= {"renewal-notices-summary", "renewal-notices-tonight"}
    assert not any("@" in str(a.data) for a in artifacts)

    # the same night again: nothing new, nothing sent
    again = run(as_of=AS_OF)
    assert (again.new, again.already) == (0, len(rows))
    assert outbox(night) == rows
    assert len(mails(night)) == len(rows)


def test_later_nights_add_only_what_became_due_and_close_the_missed_renewal(
    night: Live,
) -> None:
    frames = renewal_frames(night.store)
    first = plan_renewal_notices(frames, AS_OF, NoticePolicy())
    late = next(n for n in first.notices if n.audience == "finance")
    renewal = date.fromisoformat(late.context["renewal_on"])
    nights = [AS_OF, AS_OF + timedelta(days=1), renewal - timedelta(days=7)]
    nights += [renewal - timedelta(days=7), renewal]  # the same night twice, then renewal
    decided: set[str] = set()
    for day in nights:
        given = {  # what the domain sees of the tacit notices already in the outbox
            k: r["status"]
            for k, r in outbox(night).items()
            if r["kind"] == "tacit_renewal" and r["audience"] == "customer"
        }
        due = plan_renewal_notices(replace(frames, outbox=box(given)), day, NoticePolicy())
        run(as_of=day)
        decided |= {n.dedupe_key for n in due.notices}
        assert set(outbox(night)) == decided, day

    rows = outbox(night).values()
    # the sandbox's clock stays at the end of 30 June: a customer notice decided for a
    # later day waits for 09:00 (Paris) that day; a finance item leaves at once
    for row in rows:
        due = row["planned_for"] == AS_OF or row["audience"] == "finance"
        assert row["status"] == ("sent" if due else "queued"), row["dedupe_key"]
    assert any(r["status"] == "queued" for r in rows)  # the 7-day stage of that renewal
    sent = [m["custom_args"]["notification_id"] for m in mails(night)]
    assert sorted(sent) == sorted(r["notification_id"] for r in rows if r["status"] == "sent")

    with night.engine.connect() as conn:
        (row,) = [dict(r._mapping) for r in conn.execute(select(notice_exceptions))]
    assert (row["first_seen_on"], row["last_seen_on"]) == (AS_OF, renewal - timedelta(days=7))
    assert (row["status"], row["closed_on"], row["outcome"]) == (
        "closed",
        renewal,
        "renewed_without_notice",
    )


def test_the_dry_run_plans_exactly_what_the_real_run_then_sends(night: Live) -> None:
    dry = run(as_of=AS_OF, dry_run=True)

    planned = outbox(night)
    assert planned
    assert {r["status"] for r in planned.values()} == {"planned"}
    assert mails(night) == []
    with night.engine.connect() as conn:
        assert conn.execute(select(sa.func.count()).select_from(notice_exceptions)).scalar() == 0
    assert {r["status"] for r in dry.tonight} == {"planned"}

    real = run(as_of=AS_OF)

    after = outbox(night)
    assert sorted(after) == sorted(planned)
    assert {r["status"] for r in after.values()} == {"sent"}
    assert real.new == len(planned)  # promoted from planned
    assert len(mails(night)) == len(planned)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0007_recovers_notice_periods_of_subscriptions_synced_before_it(
    backend: str, tmp_path: Any, request: pytest.FixtureRequest
) -> None:
    """A warehouse synced at 0006 has no notice_days: upgrading reads them back from the
    raw copies of the subscriptions (the deadline shown to consumers depends on them)."""
    if backend == "sqlite":
        url, server = f"sqlite:///{tmp_path / 'w.db'}", None
    else:
        server = request.getfixturevalue("postgres_server")
        url = create_database(server, "echeancier_notices_0007")
    try:
        upgrade(url, "0006")
        engine = make_engine(url)
        stamp = {"source_version": 1, "row_hash": "0" * 32, "synced_at": "2026-06-30 22:00:00+00"}
        with engine.begin() as conn:
            for sid, meta in (
                (
                    "sub_1",
                    '{"tacit_renewal": "true", "notice_days": "30", "contract": "maintenance"}',
                ),
                ("SB2", '{"notice_days": "oops"}'),
            ):
                conn.execute(
                    sa.text(
                        "INSERT INTO subscriptions (subscription_id, provider, customer_id, status,"
                        " currency, cancel_at_period_end, tacit_renewal, source_version, row_hash,"
                        " synced_at) VALUES (:sid, 'stripe', 'cus_1', 'active', 'EUR', false,"
                        " true, :source_version, :row_hash, :synced_at)"
                    ),
                    {"sid": sid, **stamp},
                )
                conn.execute(
                    sa.text(
                        "INSERT INTO raw_objects (provider, object_type, object_id, payload,"
                        " source_version, row_hash, synced_at) VALUES ('stripe', 'subscription',"
                        " :sid, :payload, :source_version, :row_hash, :synced_at)"
                    ),
                    {"sid": sid, "payload": f'{{"id": "{sid}", "metadata": {meta}}}', **stamp},
                )
        engine.dispose()

        upgrade(url)

        engine = make_engine(url)
        with engine.connect() as conn:
            got = conn.execute(
                sa.text(
                    "SELECT subscription_id, notice_days, contract FROM subscriptions "
                    "ORDER BY subscription_id"
                )
            ).all()
        engine.dispose()
        assert [tuple(r) for r in got] == [("SB2", None, None), ("sub_1", 30, "maintenance")]
    finally:
        if server is not None:
            drop_database(server, url)
