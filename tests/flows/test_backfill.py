"""The backfill flow on a synced shop: KPIs for every day of the range in one run, the tax
report once per day as a dry run (nothing sent), progress and records; and a Retry that
resumes at the step that failed."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
import requests
from prefect import flow
from prefect.artifacts import Artifact
from prefect.client.orchestration import get_client
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter
from prefect.events.worker import EventsWorker
from sqlalchemy import create_engine, select

import flows.backfill
from deployments import catalog
from domain.backfill import BackfillReport
from flows.backfill import backfill
from tests.flows.conftest import AS_OF, Live
from warehouse import tables
from warehouse.kpi_tables import kpi_daily
from warehouse.outbox_tables import notifications

FROM = AS_OF - timedelta(days=2)


@pytest.fixture
def live(synced: Live) -> Live:
    """The shop already synced for AS_OF: copies of the session's one sync of it."""
    return synced


def test_backfill_reruns_the_day_based_flows_and_writes_to_no_one(live: Live) -> None:
    state = backfill(date_from=FROM, date_to=AS_OF, return_state=True)
    assert state.is_completed(), state.message
    report = state.result()
    assert isinstance(report, BackfillReport)
    assert report.counts() == {"kpis": 1, "tax_report": 3}
    with live.engine.connect() as conn:
        days = set(conn.execute(select(kpi_daily.c.as_of).distinct()).scalars())
        sent = conn.execute(
            select(notifications.c.status).where(notifications.c.status != "planned")
        ).all()
        runs = conn.execute(select(tables.pipeline_runs.c.flow, tables.pipeline_runs.c.status))
        recorded = sorted(tuple(r) for r in runs)
    assert days == {FROM, FROM + timedelta(days=1), AS_OF}
    assert sent == []  # the tax report's reminders for past days are only planned
    assert requests.get(live.url + "/__sandbox/sendgrid/messages", timeout=5).json() == []
    assert recorded.count(("tax-report", "completed")) == 3
    assert ("backfill", "completed") in recorded
    progress = Artifact.get("backfill-progress")
    assert progress is not None
    assert float(progress.data) == 100.0  # type: ignore[arg-type]


def test_a_retried_backfill_resumes_at_the_step_that_failed(
    prefect_server: None, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[date] = []

    @flow(name="flaky-daily")
    def flaky(as_of: date) -> str:
        calls.append(as_of)
        if as_of == FROM + timedelta(days=1) and calls.count(as_of) == 1:
            raise RuntimeError("the warehouse went away")
        return as_of.isoformat()

    row = catalog.Deployment("flaky_daily", "test", flow="flaky-daily", backfill="daily")
    monkeypatch.setenv("DATABASE_URL", warehouse_url)
    monkeypatch.setattr(catalog, "DEPLOYMENTS", (row,))
    monkeypatch.setattr(catalog, "BY_NAME", {row.name: row})
    monkeypatch.setattr(catalog, "importable", lambda d: True)
    monkeypatch.setattr(catalog, "load_flow", lambda d: flaky)

    state = flows.backfill.backfill.with_options(retries=1)(
        date_from=FROM, date_to=AS_OF, return_state=True
    )
    assert state.is_completed(), state.message
    # day 1 ran once (reused on the retry), day 2 failed then ran again, day 3 once
    assert calls == [FROM, FROM + timedelta(days=1), FROM + timedelta(days=1), AS_OF]
    engine = create_engine(warehouse_url)
    with engine.connect() as conn:
        status = conn.execute(
            select(tables.pipeline_runs.c.status).where(tables.pipeline_runs.c.flow == "backfill")
        ).scalar_one()
    engine.dispose()
    assert status == "completed"
    # and it announced what it did: the completion event carries its counts
    EventsWorker.drain_all()
    event_filter = EventFilter(
        event=EventNameFilter(name=["echeancier.flow.completed"]),
        resource=EventResourceFilter(id=["echeancier.flow.backfill"]),
    )
    with get_client(sync_client=True) as client:
        for _ in range(50):  # the server stores events asynchronously
            page = client.read_events(filter=event_filter, limit=50).events
            events = [e for e in page if e.payload["run_id"] == state.result().run_id]
            if events:
                break
            time.sleep(0.2)
    assert [e.payload["counts"] for e in events] == [{"flaky_daily": 3}]


def test_only_backfillable_flows_are_accepted(prefect_server: None) -> None:
    state = backfill(date_from=FROM, date_to=AS_OF, flows=["dunning"], return_state=True)
    assert state.is_failed()
    with pytest.raises(ValueError, match="cannot backfill dunning: only tax_report, kpis"):
        state.result()
