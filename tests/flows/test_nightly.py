"""The nightly chain on a generated shop: sync -> quality gate -> reconciliation -> dunning
-> summary; a dry-run night that plans and sends nothing; and a gate failure that stops
the chain before anything downstream runs."""

from __future__ import annotations

import sqlite3

import pytest
import requests
from prefect.artifacts import Artifact
from sqlalchemy import select

import flows.nightly
from domain.summary import NightlyReport
from flows.nightly import nightly
from tests.flows.conftest import AS_OF, Live
from warehouse import tables
from warehouse.outbox_tables import dunning_actions


@pytest.fixture(autouse=True)
def _sandbox_clock(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flows.nightly, "utc_now", live.sandbox.app.state.clock.now)


def _runs(live: Live) -> list[tuple[str, str]]:
    t = tables.pipeline_runs
    with live.engine.connect() as conn:
        rows = conn.execute(select(t.c.flow, t.c.status).order_by(t.c.started_at)).all()
    return [(flow, status) for flow, status in rows]


def test_nightly_syncs_checks_reconciles_and_publishes(live: Live) -> None:
    state = nightly(as_of=AS_OF, return_state=True)
    assert state.is_completed(), state.message
    report = state.result()
    assert isinstance(report, NightlyReport)
    assert report.gate.passed
    assert report.sync.written > 0
    planted = sum(len(v) for v in live.summary.anomalies.values())
    assert report.reconcile.found >= planted > 0
    assert [flow for flow, _ in _runs(live)] == [
        "sync",
        "reconcile",
        "dunning",
        "renewal-notices",
        "shipment-notices",
        "tax-report",
        "kpis",
    ]
    assert {status for _, status in _runs(live)} == {"completed"}
    summary = Artifact.get("nightly-summary")
    assert summary is not None
    assert "## Quality gate" in str(summary.data)
    assert "## Reconciliation" in str(summary.data)
    assert "## dunning" in str(summary.data)


def test_a_dry_run_night_plans_the_dunning_and_sends_nothing(live: Live) -> None:
    state = nightly(as_of=AS_OF, dry_run=True, return_state=True)

    assert state.is_completed(), state.message
    dunning = state.result().downstream["dunning"]
    assert dunning.dry_run
    assert dunning.planned  # the 40-customer shop has an overdue invoice on AS_OF
    mails = requests.get(live.url + "/__sandbox/sendgrid/messages", timeout=5).json()
    calls = requests.get(live.url + "/__sandbox/requests", timeout=5).json()
    assert mails == []
    assert [c for c in calls if c["method"] != "GET"] == []
    with live.engine.connect() as conn:
        statuses = {r.status for r in conn.execute(select(dunning_actions.c.status))}
    assert statuses == {"planned"}


def test_a_table_level_failure_stops_the_chain_before_reconciliation(live: Live) -> None:
    # The provider loses every Stripe customer: their payments now point nowhere.
    db = sqlite3.connect(live.store.path)
    with db:
        db.execute("DELETE FROM stripe__customers")
    db.close()
    state = nightly(as_of=AS_OF, return_state=True)
    assert state.is_failed()
    with pytest.raises(Exception, match=r"payments\.customer_id"):
        state.result()
    assert [flow for flow, _ in _runs(live)] == ["sync"]
