"""How nightly launches the flows downstream of the gate, the one way, safe under Retry.

Under a deployment (the nightly run came from the ``nightly`` deployment), a downstream
flow runs as its own deployment's flow run, on a worker, with its own artifacts, logs and
Retry button; it is created with an idempotency key derived from the business date,
``nightly:2026-06-30:dunning``. Prefect answers a second creation with the same key by
returning the run it already made, so:

- a retried nightly whose dunning run completed gets that run (and its report) back: no
  second dunning run, nothing sent twice;
- a retried nightly whose dunning run failed or crashed retries *that* run (same run id,
  its ``run_count`` goes up, exactly what the UI's Retry does), then waits for it.

Run locally (``echeancier run nightly``, a test, no deployment) the downstream flow is
called in-process as a subflow. Its result is persisted only when the parent can be
retried in this process (under a deployment whose downstream deployment is missing, or a
parent flow with ``retries``), so that the retried parent reuses a completed subflow
rather than running it again (Prefect 3.9 reruns a subflow on a parent retry only when it
did not complete or left no result). A plain local run has nobody to retry it: pickling
each report to disk there was a cost for nothing.

A dry run gets its own key (``nightly:2026-06-30:dunning:dry-run``): a dry run tonight
must never stand in for tomorrow morning's real run of the same date.

Either way :func:`launch` returns the downstream flow's return value (its report) and
raises :class:`DownstreamFailed` when the run did not complete, so the nightly run fails
and names the flow that did.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from typing import Any
from uuid import UUID

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.context import FlowRunContext
from prefect.deployments import run_deployment
from prefect.exceptions import MissingResult, ObjectNotFound
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
    temporary_settings,
)
from prefect.states import Scheduled

from deployments import catalog

POLL_SECONDS = 2.0
WAIT_SECONDS = 6 * 3600.0  # a downstream flow still running after this is a failure


class DownstreamFailed(RuntimeError):
    """A launched flow run ended Failed, Crashed or Cancelled."""


def idempotency_key(name: str, business_date: date, *, dry_run: bool = False) -> str:
    """``nightly:{date}:{flow}``, plus ``:dry-run`` for a dry run."""
    key = f"nightly:{business_date.isoformat()}:{name}"
    return f"{key}:dry-run" if dry_run else key


def downstream() -> list[str]:
    """The flows nightly launches that exist in this checkout, in catalogue order."""
    return [d.name for d in catalog.available() if d.launched_by_nightly]


def parameters(name: str, business_date: date, *, dry_run: bool = False) -> dict[str, Any]:
    """The standard parameters of a downstream flow: ``as_of``, and ``dry_run`` when the
    flow has one (a report flow has nothing to dry-run)."""
    accepted = inspect.signature(catalog.load_flow(catalog.get(name)).fn).parameters
    out: dict[str, Any] = {"as_of": business_date}
    if "dry_run" in accepted:
        out["dry_run"] = dry_run
    return out


def launch(name: str, parameters: Mapping[str, Any], *, business_date: date) -> Any:
    """Run downstream flow ``name`` for ``business_date`` and return its report."""
    entry = catalog.get(name)
    if _deployment_id() is not None:
        key = idempotency_key(name, business_date, dry_run=bool(parameters.get("dry_run")))
        try:
            return _through_deployment(entry, dict(parameters), key)
        except ObjectNotFound:
            get_run_logger().warning(
                "no deployment %s on the server (make deploy): running %s in-process",
                entry.full_name,
                name,
            )
    flow = catalog.load_flow(entry)
    if _retriable_here():
        flow = flow.with_options(persist_result=True)
    return flow(**parameters)


@contextmanager
def no_heartbeats_without_a_server() -> Iterator[None]:
    """Flow runs started inside send no heartbeat when no Prefect server is configured.

    Heartbeats let an automation on a server mark a run whose process died as
    ``Crashed`` (docs/deployments.md); under a deployment or any ``PREFECT_API_URL``
    nothing changes here. Without one, the runs go to an ephemeral server that lives and
    dies with this process: nothing can watch for a missing heartbeat, and each flow run
    paid for it at its end (Prefect joins the heartbeat thread, which sleeps in 1 s
    steps: ~0.5 s per flow run, seven subflow runs a night; issue 10's profile).
    """
    if PREFECT_API_URL.value():
        yield
        return
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def _deployment_id() -> UUID | None:
    """The deployment of the calling flow run, from its context: ``prefect.runtime``'s
    ``deployment.id`` asks the API for the flow run when it has none (0.4 s a launch on
    a busy machine, for an answer the context already holds)."""
    context = FlowRunContext.get()
    run = context.flow_run if context is not None else None
    return run.deployment_id if run is not None else None


def _retriable_here() -> bool:
    """Whether the calling flow run can be retried in this process: an operator's Retry
    (deployment runs only) or the flow's own ``retries``."""
    context = FlowRunContext.get()
    if context is None:
        return False
    if context.flow_run is not None and context.flow_run.deployment_id is not None:
        return True
    return context.flow is not None and context.flow.retries > 0


def _through_deployment(entry: catalog.Deployment, parameters: dict[str, Any], key: str) -> Any:
    logger = get_run_logger()
    run = run_deployment(
        entry.full_name, parameters=parameters, idempotency_key=key, timeout=0, as_subflow=True
    )
    with get_client(sync_client=True) as client:
        state = run.state
        if state is not None and state.is_final() and not state.is_completed():
            logger.info("%s run %s ended %s: retrying it", entry.name, run.name, state.name)
            client.set_flow_run_state(
                run.id, Scheduled(name="AwaitingRetry", message=f"retried by {key}"), force=True
            )
        elif state is not None and state.is_completed():
            logger.info(
                "%s run %s already completed (%s): not launched again", entry.name, run.name, key
            )
        else:
            logger.info("%s run %s launched (%s)", entry.name, run.name, key)
        run = _wait(client, run.id)
    state = run.state
    if state is None or not state.is_completed():
        name = state.name if state else "unknown"
        message = state.message if state else ""
        raise DownstreamFailed(f"{entry.name} run {run.name} ended {name}: {message}")
    try:
        return state.result()
    except MissingResult:  # the flow's result was not persisted (see prefect.yaml's env)
        return run


def _wait(client: Any, run_id: UUID) -> FlowRun:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        run: FlowRun = client.read_flow_run(run_id)
        if run.state is not None and run.state.is_final():
            return run
        if time.monotonic() > deadline:
            raise DownstreamFailed(
                f"run {run.name} still {run.state_name} after {WAIT_SECONDS:.0f} s"
            )
        time.sleep(POLL_SECONDS)
