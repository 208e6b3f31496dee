"""End to end on a real Prefect server and process worker: an operator's night.

The nightly deployment runs; the sandbox breaks AfterShip mid-run (every tracking list
answers 403) so the run fails after Stripe and GoCardless are synced; the failure
automation notifies; the fault is cleared and the operator runs ``prefect flow-run
retry``. The same run completes, resuming from the stored cursors; its reminders go out
and its payment retries are made, and the sandbox saw none of them twice; only the failed
step ran again. Then headless Chromium opens the UI: the deployments are listed and the
run's artifacts are shown.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterParentFlowRunId,
)
from prefect.client.schemas.objects import FlowRun
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import create_engine, select

from deployments import catalog
from deployments.automations import FAILURE_AUTOMATION, ZOMBIE_AUTOMATION
from deployments.local import Stack
from sandbox.server import RunningSandbox
from tests.browser import dump_dom, require_chromium
from tests.deployments.conftest import AS_OF, Sandbox, Webhook
from warehouse import tables

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("prefect-stack")]

RUN_SECONDS = 240.0
# Requests that move money, one path per object: none may be made twice (e-mails all
# share /v3/mail/send: they are compared by body).
WRITES = ("/v1/invoices/", "/actions/retry")


@contextlib.contextmanager
def api(stack: Stack) -> Iterator[SyncPrefectClient]:
    with temporary_settings({PREFECT_API_URL: stack.api_url}), get_client(sync_client=True) as c:
        yield c


def wait_final(stack: Stack, run_id: UUID, after_count: int = 0) -> FlowRun:
    """The run once it is final with ``run_count > after_count``."""
    deadline = time.monotonic() + RUN_SECONDS
    with api(stack) as client:
        while time.monotonic() < deadline:
            run = client.read_flow_run(run_id)
            if run.state and run.state.is_final() and run.run_count > after_count:
                return run
            time.sleep(1)
    log = (stack.home / "worker.log").read_text()[-4000:]
    raise AssertionError(f"run {run_id} not final after {RUN_SECONDS} s; worker log:\n{log}")


@dataclass
class Night:
    run_id: UUID
    first: FlowRun
    retried: FlowRun
    requests_first: list[dict[str, Any]]
    requests_retry: list[dict[str, Any]]
    mail: list[dict[str, Any]]
    children: list[FlowRun]
    warehouse: str


@pytest.fixture(scope="module")
def night(stack: tuple[Stack, str], e2e_sandbox: RunningSandbox) -> Night:
    """Run nightly for ``AS_OF``, break it, retry it; record what the sandbox saw."""
    running, warehouse = stack
    sandbox = Sandbox(e2e_sandbox.url)
    sandbox.fault({"provider": "aftership", "status": 403})
    out = running.prefect(
        "deployment", "run", "nightly/nightly", "--param", f"as_of={AS_OF.isoformat()}"
    ).stdout
    run_id = UUID(out.split("UUID:")[1].split()[0])
    first = wait_final(running, run_id)
    requests_first = sandbox.get("requests")

    sandbox.fault(None)
    running.prefect("flow-run", "retry", str(run_id))
    retried = wait_final(running, run_id, after_count=first.run_count)
    with api(running) as client:
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run_id])
            )
        )
    return Night(
        run_id,
        first,
        retried,
        requests_first,
        sandbox.get("requests")[len(requests_first) :],
        sandbox.get("sendgrid/messages"),
        children,
        warehouse,
    )


def _writes(requests: list[dict[str, Any]]) -> list[str]:
    return [
        f"{r['method']} {r['path']}"
        for r in requests
        if r["method"] == "POST" and any(part in r["path"] for part in WRITES)
    ]


def test_the_deployments_and_automations_are_applied(stack: tuple[Stack, str]) -> None:
    running, _ = stack
    with api(running) as client:
        deployed = {d.name: d for d in client.read_deployments()}
        automations = {a.name for a in client.read_automations()}
    built = {d.deployment_name for d in catalog.available()}
    assert set(deployed) == built
    nightly = deployed["nightly"]
    assert [(s.schedule.cron, s.schedule.timezone) for s in nightly.schedules] == [  # type: ignore[union-attr]
        ("0 2 * * *", "Europe/Paris")
    ]
    assert nightly.global_concurrency_limit is not None
    assert nightly.global_concurrency_limit.limit == 1
    assert {FAILURE_AUTOMATION, ZOMBIE_AUTOMATION} <= automations


def test_a_failed_night_notifies_and_a_retry_completes_it_without_acting_twice(
    night: Night, webhook: Webhook
) -> None:
    assert night.first.state_name == "Failed"
    assert "403" in (night.first.state.message if night.first.state else "")
    # The automation posted to the configured block: the operator knows.
    deadline = time.monotonic() + 60
    while not any("nightly" in hit.get("subject", "") for hit in webhook.received):
        assert time.monotonic() < deadline, f"no failure notification: {webhook.received}"
        time.sleep(1)
    notice = next(hit for hit in webhook.received if "nightly" in hit.get("subject", ""))
    assert "Failed" in notice["subject"]
    assert str(night.run_id) in notice["body"]

    # The operator's Retry: same run, second attempt, completed.
    assert night.retried.id == night.run_id
    assert night.retried.state_name == "Completed"
    assert night.retried.run_count == night.first.run_count + 1
    # It resumed: GoCardless was synced by the failed attempt and its cursors stored, so
    # the retry followed its event stream instead of listing everything again. (Stripe
    # lists again: the shop's last event is months before this machine's clock, past
    # Stripe's 30-day event retention, and the sync re-lists such a cursor by design.)
    gocardless = {
        r["path"]
        for r in night.requests_retry
        if r["provider"] == "gocardless" and r["method"] == "GET" and r["path"].count("/") == 1
    }
    assert gocardless == {"/events"}
    # Nothing acted twice: each payment retry once, each e-mail once.
    writes = _writes(night.requests_first + night.requests_retry)
    assert [w for w, n in Counter(writes).items() if n > 1] == []
    assert night.mail, "the night's dunning sent no reminder: nothing was checked"
    bodies = [json.dumps(m, sort_keys=True) for m in night.mail]
    assert len(bodies) == len(set(bodies))


def test_the_retry_ran_each_step_once_more_only_where_it_had_failed(night: Night) -> None:
    flows = {run.flow_id: [] for run in night.children}
    for run in night.children:
        flows[run.flow_id].append(run.state_name)
    # the sync subflow failed then completed; every other step ran exactly once
    assert sorted(map(sorted, flows.values())) == sorted(
        [["Completed", "Failed"]] + [["Completed"]] * (len(flows) - 1)
    )
    engine = create_engine(night.warehouse)
    t = tables.pipeline_runs
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.flow, t.c.status)).all()
    engine.dispose()
    recorded = Counter((flow, status) for flow, status in rows)
    assert recorded[("sync", "failed")] == 1
    assert recorded[("sync", "completed")] == 1
    assert recorded[("reconcile", "completed")] == 1
    assert recorded[("dunning", "completed")] == 1


def test_launch_under_a_deployment_runs_a_downstream_flow_once_across_retries(
    stack: tuple[Stack, str], night: Night
) -> None:
    from prefect import flow

    from deployments.catalog import POOL
    from deployments.render import ROOT

    running, _ = stack
    with api(running):
        flow.from_source(str(ROOT), "tests/deployments/chained.py:chained").deploy(
            "chained",
            work_pool_name=POOL,
            job_variables={"env": {"PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true"}},
            print_next_steps=False,
        )
    out = running.prefect(
        "deployment", "run", "chained/chained", "--param", f"as_of={AS_OF.isoformat()}"
    ).stdout
    run_id = UUID(out.split("UUID:")[1].split()[0])
    first = wait_final(running, run_id)
    assert first.state_name == "Failed"
    running.prefect("flow-run", "retry", str(run_id))
    retried = wait_final(running, run_id, after_count=first.run_count)
    assert retried.state_name == "Completed"
    with api(running) as client:
        result = client.read_flow_run(run_id).state.result()  # type: ignore[union-attr]
        launched = [
            r
            for r in client.read_flow_runs()
            if r.idempotency_key == f"nightly:{AS_OF.isoformat()}:reconcile"
        ]
    assert result == AS_OF.isoformat()  # the parent got reconcile's report back
    assert [(r.state_name, r.run_count) for r in launched] == [("Completed", 1)]


# -- the Prefect UI in headless Chromium ----------------------------------------------


def page_text(url: str) -> str:
    """The text of a UI page once the single-page app has rendered (15 s of virtual time
    lets it finish its API calls without a real wait), tags stripped."""
    html = dump_dom(url, require_chromium(), budget_ms=15_000)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_ui_shows_the_deployments_and_the_runs_artifacts(
    stack: tuple[Stack, str], night: Night
) -> None:
    running, _ = stack
    with api(running) as client:
        names = sorted(d.name for d in client.read_deployments())
    assert {d.deployment_name for d in catalog.available()} <= set(names)
    listed = page_text(f"{running.ui_url}/deployments")
    assert f"{len(names)} Deployments" in listed, listed[:2000]
    for name in names[:10]:  # the first page, A to Z
        assert f" {name} {name} Ready " in listed, listed[:2000]
    assert "At 02:00 AM every day" in listed  # nightly's schedule
    with api(running) as client:
        made = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[night.run_id]))
        )
    latest = {a.key: a for a in sorted(made, key=lambda a: a.created or 0) if a.key}
    assert {"nightly-summary", "nightly-streams"} <= set(latest)
    summary = page_text(f"{running.ui_url}/artifacts/artifact/{latest['nightly-summary'].id}")
    assert "Quality gate" in summary, summary[:2000]
    assert night.retried.name in summary  # shown with the run it belongs to
    streams = page_text(f"{running.ui_url}/artifacts/artifact/{latest['nightly-streams'].id}")
    # the retry's sync: AfterShip, whose listing failed the first attempt, listed in full
    assert "aftership/shipments full" in streams, streams[:2000]
