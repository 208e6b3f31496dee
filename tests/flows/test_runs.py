"""A flow's own record: ``recorded_run`` writes its ``pipeline_runs`` row as running, then
as completed with its counts or as failed with the start of the error, on both
databases; and it is bookkeeping, not a step: it adds no task run to the flow run an
operator opens in the Prefect UI."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from typing import Any

import pytest
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.events.worker import EventsWorker
from sqlalchemy import select

from echeancier.settings import Settings
from flows.runs import MESSAGE_CHARS, recorded_run
from warehouse import tables
from warehouse.engine import make_engine

AS_OF = date(2026, 6, 30)
STARTED = datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
ENDED = datetime(2026, 6, 30, 22, 5, tzinfo=UTC)


def _rows(url: str) -> list[dict[str, Any]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(tables.pipeline_runs)).mappings().all()
    engine.dispose()
    out = []
    for row in rows:  # counts and control totals are stored as JSON text
        plain = dict(row)
        for name in ("counts", "control_totals"):
            plain[name] = json.loads(plain[name]) if plain[name] else {}
        out.append(plain)
    return out


def _settings(url: str, tmp_path: Any) -> Settings:
    return Settings(DATABASE_URL=url, ECHEANCIER_REPORTS=str(tmp_path))  # type: ignore[call-arg]


def test_a_run_is_running_inside_the_block_then_completed_with_its_counts(
    prefect_server: None, warehouse_url: str, tmp_path: Any
) -> None:
    settings = _settings(warehouse_url, tmp_path)
    with recorded_run(settings, "demo", AS_OF, STARTED, lambda: ENDED) as run:
        [inside] = _rows(warehouse_url)
        run.done(counts={"new": 3}, control_totals={"stripe": {"count": 2}})
    assert (inside["status"], inside["finished_at"]) == ("running", None)
    [row] = _rows(warehouse_url)
    assert row["run_id"] == run.run_id == inside["run_id"]
    assert (row["flow"], row["as_of"], row["status"]) == ("demo", AS_OF, "completed")
    assert row["finished_at"].replace(tzinfo=UTC) == ENDED
    assert row["counts"] == {"new": 3}
    assert row["control_totals"] == {"stripe": {"count": 2}}


def test_a_failure_is_recorded_with_the_start_of_its_message_and_raised(
    prefect_server: None, warehouse_url: str, tmp_path: Any
) -> None:
    settings = _settings(warehouse_url, tmp_path)
    raised = pytest.raises(ValueError, match=r"^x+$")
    with raised, recorded_run(settings, "demo", AS_OF, STARTED, lambda: ENDED, dry_run=True):
        raise ValueError("x" * (MESSAGE_CHARS * 2))
    [row] = _rows(warehouse_url)
    assert (row["status"], row["dry_run"]) == ("failed", True)
    assert row["message"] == "x" * MESSAGE_CHARS


def test_recording_adds_no_task_run_to_the_flow_run(
    prefect_server: None, warehouse_url: str, tmp_path: Any
) -> None:
    settings = _settings(warehouse_url, tmp_path)

    @task(name="the-step", cache_policy=NO_CACHE)
    def step() -> int:
        return 1

    @flow(name="recorded-demo")
    def demo() -> str:
        with recorded_run(settings, "demo", AS_OF, STARTED, lambda: ENDED) as run:
            run.done(counts={"new": step()})
        return run.run_id

    state = demo(return_state=True)
    assert state.is_completed(), state.message
    flow_run_id = state.state_details.flow_run_id
    EventsWorker.drain_all()  # task runs reach the server as events, after the flow
    names: list[str] = []
    with get_client(sync_client=True) as client:
        for _ in range(100):
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )
            names = sorted(run.name.rsplit("-", 1)[0] for run in runs)
            if "the-step" in names:
                break
            time.sleep(0.1)
    assert names == ["the-step"]  # the flow's one step, and nothing for its record
    [row] = _rows(warehouse_url)
    assert (row["run_id"], row["status"], row["counts"]) == (
        state.result(),
        "completed",
        {"new": 1},
    )
