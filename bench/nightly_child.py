"""One nightly run in its own process, under Prefect or as plain function calls; one JSON line.

    DATABASE_URL=… STRIPE_API_BASE=… python bench/nightly_child.py prefect 2026-07-01
    DATABASE_URL=… STRIPE_API_BASE=… python bench/nightly_child.py direct 2026-07-01
    DATABASE_URL=… STRIPE_API_BASE=… python bench/nightly_child.py direct 2026-07-01 send-outbox

``prefect``: ``nightly(as_of=…)`` as ``echeancier run nightly`` runs it (an ephemeral
Prefect server of its own), then the task runs and flow runs the server recorded.

``direct``: the same code with Prefect taken out of the way, to measure what Prefect
adds: every ``@flow`` in ``flows.*`` replaced by its ``.fn``, every ``@task`` in
``flows.*``/``tasks.*`` by its ``.fn`` (``.submit`` runs it in a thread pool, unbounded
as Prefect's default task runner is, after its ``wait_for``), ``prefect.futures.wait``
by ``concurrent.futures.wait``, ``flows.chain``'s launch of the downstream flows by a
plain call of their functions, and what needs a run context (``get_run_logger``, the
artifacts, ``emit_event``) by a plain logger and no-ops. The task calls are counted.

``send-outbox`` after the date: the daytime sender instead of the night (direct mode), as
the deployment that delivers by day what the night queued (bench/whole_night.py's setup).

In both modes the flows' ``utc_now`` seams read the sandbox's clock, as
bench/pipeline_child.py does (a generated shop lives at its own date).
"""

from __future__ import annotations

import importlib
import json
import logging
import pkgutil
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from datetime import date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CALLS: Counter[str] = Counter()
NO_OP_NAMES = (
    "create_markdown_artifact",
    "create_table_artifact",
    "create_link_artifact",
    "emit_event",
)


def modules() -> list[ModuleType]:
    import flows
    import tasks

    found = []
    for package in (flows, tasks):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            found.append(importlib.import_module(info.name))
    return found


class DirectTask:
    """A ``@task`` without Prefect: a call is the function; ``submit`` a thread."""

    pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="direct-task")

    def __init__(self, task: Any) -> None:
        self.fn: Callable[..., Any] = task.fn
        self.name: str = task.name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        CALLS[self.name] += 1
        return self.fn(*unwrapped(args), **unwrapped(kwargs))

    def submit(self, *args: Any, wait_for: Any = None, **kwargs: Any) -> Future[Any]:
        CALLS[self.name] += 1

        def run() -> Any:
            for future in wait_for or []:
                future.result()
            return self.fn(*unwrapped(args), **unwrapped(kwargs))

        return self.pool.submit(run)


def unwrapped(values: Any) -> Any:
    """Arguments without Prefect's annotations (``quote(plan)`` → ``plan``), as Prefect
    hands them to the task's function."""
    from prefect.utilities.annotations import BaseAnnotation

    def bare(value: Any) -> Any:
        return value.unwrap() if isinstance(value, BaseAnnotation) else value

    if isinstance(values, dict):
        return {name: bare(value) for name, value in values.items()}
    return [bare(value) for value in values]


def go_direct(found: list[ModuleType]) -> None:
    from prefect import Flow
    from prefect.tasks import Task

    for module in found:
        for name, value in list(vars(module).items()):
            if isinstance(value, Flow):
                setattr(module, name, value.fn)
            elif isinstance(value, Task):
                setattr(module, name, DirectTask(value))
            elif isinstance(value, dict) and any(isinstance(v, Task) for v in value.values()):
                for key, member in list(value.items()):  # tables of tasks (FULL_PULLS)
                    if isinstance(member, Task):
                        value[key] = DirectTask(member)
            elif name == "get_run_logger":
                setattr(module, name, lambda m=module.__name__: logging.getLogger(m))
            elif name in NO_OP_NAMES:
                setattr(module, name, lambda *a, **k: None)
            elif name == "wait" and module.__name__ == "flows.sync":
                setattr(module, name, lambda futures, **k: wait_futures(futures))
    import flows.nightly

    flows.nightly.launch = direct_launch  # type: ignore[attr-defined]
    flows.nightly.parameters = direct_parameters  # type: ignore[attr-defined]


def direct_launch(name: str, parameters: dict[str, Any], *, business_date: date) -> Any:
    """``flows.chain.launch`` without Prefect: the downstream flow's function, in-process."""
    from deployments import catalog

    return catalog.load_flow(catalog.get(name))(**parameters)


def direct_parameters(name: str, business_date: date, *, dry_run: bool = False) -> dict[str, Any]:
    """``flows.chain.parameters`` for a flow already replaced by its function."""
    import inspect

    from deployments import catalog

    accepted = inspect.signature(catalog.load_flow(catalog.get(name))).parameters
    out: dict[str, Any] = {"as_of": business_date}
    if "dry_run" in accepted:
        out["dry_run"] = dry_run
    return out


def count_runs() -> dict[str, int]:
    """Task and flow runs the Prefect server recorded (polled until the count settles:
    task-run states reach the server in batches, after the flow has returned)."""
    from prefect.client.orchestration import get_client

    last: dict[str, int] = {}
    with get_client(sync_client=True) as client:
        for _ in range(30):
            now = {
                "task_runs": int(client._client.post("/task_runs/count", json={}).json()),
                "flow_runs": int(client._client.post("/flow_runs/count", json={}).json()),
            }
            if now == last:
                break
            last = now
            time.sleep(2)
    return last


def server_cpu_seconds() -> float | None:
    """CPU (user + system) of the ephemeral Prefect server this process started, read from
    /proc: the server's share of the night's two cores is not in this process's CPU."""
    from prefect.server.api.server import SubprocessASGIServer

    from bench.harness import process_cpu_seconds

    servers = [s for s in SubprocessASGIServer._instances.values() if s.server_process]
    return process_cpu_seconds(servers[0].server_process.pid) if servers else None


def main() -> None:
    import httpx

    from echeancier.run_cli import prefect_defaults
    from echeancier.settings import load_settings

    prefect_defaults()
    mode, as_of = sys.argv[1], date.fromisoformat(sys.argv[2])
    sandbox = load_settings().stripe_api_base

    def sandbox_now() -> datetime:
        answer = httpx.get(f"{sandbox}/__sandbox/clock", timeout=30).json()
        return datetime.fromisoformat(answer["now"])

    found = modules()
    for module in found:
        if module.__name__.startswith("flows.") and hasattr(module, "utc_now"):
            module.utc_now = sandbox_now  # type: ignore[attr-defined]
    import flows.nightly

    nightly = flows.nightly.nightly
    if mode == "direct":
        go_direct(found)
    if len(sys.argv) > 3 and sys.argv[3] == "send-outbox":  # the daytime sender, direct only
        import flows.send_outbox

        report = flows.send_outbox.send_outbox(as_of=as_of)
        print(json.dumps({"flow": "send-outbox", "report": str(report)[:2000]}), flush=True)
        return
    if mode == "prefect":  # the ephemeral server starts here, not in the timed night (a
        # deployment's worker talks to a server that is already up)
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            client.hello()
    server_cpu = server_cpu_seconds() if mode == "prefect" else None
    started, cpu = time.perf_counter(), time.process_time()
    if mode == "direct":
        nightly.fn(as_of=as_of)
    else:
        from flows.chain import no_heartbeats_without_a_server

        with no_heartbeats_without_a_server():  # as echeancier run nightly does
            state = nightly(as_of=as_of, return_state=True)
        if not state.is_completed():
            state.result()
            raise SystemExit(f"nightly ended {state.name}: {state.message}")
    seconds = time.perf_counter() - started
    server_after = server_cpu_seconds() if mode == "prefect" else None
    out: dict[str, Any] = {
        "mode": mode,
        "seconds": seconds,
        # this process's CPU (all its threads) during the night: less at the mercy of the
        # machine's other work than the wall time; the ephemeral server's is not in it
        "cpu_seconds": time.process_time() - cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if server_cpu is not None and server_after is not None:
        out["server_cpu_seconds"] = server_after - server_cpu  # during the night only
    if mode == "direct":
        out["task_calls"] = sum(CALLS.values())
        out["calls"] = dict(CALLS)
    else:
        out.update(count_runs())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
