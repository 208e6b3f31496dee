"""flows.chain run locally: the downstream flow is a subflow, and a retried parent reuses
it once it completed (the deployment path, with idempotency keys, runs on a real server
and worker in tests/deployments/test_server.py); a plain local run keeps no subflow
result and, without a Prefect server, sends no heartbeat (issue 10: nobody reads them)."""

from __future__ import annotations

from datetime import date

import pytest
from prefect import flow
from prefect.runtime import flow_run
from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from sqlalchemy import select

from domain.reconcile import ReconReport
from flows import chain
from tests.flows.conftest import AS_OF, Live
from warehouse import tables


def _runs(live: Live) -> list[tuple[str, str]]:
    t = tables.pipeline_runs
    with live.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(t.c.flow, t.c.status)).all()]


def test_a_retried_parent_reuses_the_completed_downstream_run(live: Live) -> None:
    attempts: list[int] = []

    @flow(retries=1)
    def parent() -> ReconReport:
        report = chain.launch("reconcile", {"as_of": AS_OF}, business_date=AS_OF)
        attempts.append(flow_run.run_count)
        if len(attempts) == 1:
            raise RuntimeError("a later step failed on the first attempt")
        return report

    state = parent(return_state=True)
    assert state.is_completed(), state.message
    assert attempts == [1, 2]
    assert isinstance(state.result(), ReconReport)
    assert state.result().as_of == AS_OF.isoformat()
    # reconcile ran once: the retry got its persisted report back
    assert _runs(live) == [("reconcile", "completed")]


def test_keys_name_the_business_date_and_keep_dry_runs_apart() -> None:
    day = date(2026, 6, 30)
    assert chain.idempotency_key("dunning", day) == "nightly:2026-06-30:dunning"
    assert (
        chain.idempotency_key("dunning", day, dry_run=True) == "nightly:2026-06-30:dunning:dry-run"
    )


def test_standard_parameters_follow_each_flow_signature() -> None:
    day = date(2026, 6, 30)
    assert chain.parameters("reconcile", day, dry_run=True) == {"as_of": day}
    assert chain.parameters("nightly", day, dry_run=True) == {"as_of": day, "dry_run": True}


@pytest.mark.usefixtures("prefect_server")
def test_a_subflow_result_is_kept_only_where_a_retry_could_reuse_it() -> None:
    @flow
    def plain() -> bool:
        return chain._retriable_here()

    @flow(retries=1)
    def retried() -> bool:
        return chain._retriable_here()

    assert plain() is False  # a local run without retries: nothing would read it back
    assert retried() is True


def test_heartbeats_stop_only_where_no_server_could_watch_them() -> None:
    configured = PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value()
    assert configured is not None
    server = {PREFECT_API_URL: "http://127.0.0.1:4200/api"}
    with temporary_settings(updates=server), chain.no_heartbeats_without_a_server():
        assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() == configured
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        with chain.no_heartbeats_without_a_server():
            assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() is None
        assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() == configured
