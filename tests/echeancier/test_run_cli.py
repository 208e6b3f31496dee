"""`echeancier run nightly` as an operator runs it: a separate process, real exit codes.

The shop's history ends today (in Paris), so the run's own clock and the sandbox's agree
as they would in production; a 40-customer shop keeps each run to seconds. The two
nights report to a Prefect server, as on a host where ``make server`` runs (the session's
test server: starting a throwaway one per run cost 20-40 s each on 2 busy cores); the
failing run has no server configured and starts its own, as ``make demo`` does.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from echeancier import run_cli
from echeancier.sandbox_cli import today_in
from sandbox.clock import Clock
from sandbox.generate import generate
from sandbox.server import RunningSandbox, start
from sandbox.store import Store
from tests.flows.conftest import prefect_server  # noqa: F401  (the session's Prefect server)

BIN = Path(sys.executable).parent / "echeancier"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    store = Store.open(tmp_path_factory.mktemp("shop") / "shop.db")
    summary = generate(store, "small", 11, today_in(), customers=40)
    with start(store, clock=Clock(summary.clock_start), seed=11) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def env(running: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("prefect-home")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    return {
        **environment,
        **running.env(),
        "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('warehouse') / 'w.db'}",
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "ECHEANCIER_REPORTS": str(tmp_path_factory.mktemp("reports")),
    }


@pytest.fixture(scope="module")
def served_env(env: dict[str, str], request: pytest.FixtureRequest) -> dict[str, str]:
    """``env`` pointing at the session's Prefect server."""
    from prefect.settings import PREFECT_API_URL

    request.getfixturevalue("prefect_server")
    return {**env, "PREFECT_API_URL": str(PREFECT_API_URL.value())}


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), "run", "nightly", *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_nightly_exits_zero_prints_the_summary_and_later_nights_change_nothing_new(
    served_env: dict[str, str],
) -> None:
    first = _run(served_env)
    assert first.returncode == 0, first.stderr
    assert "stripe/payments" in first.stdout
    assert "streams agree with the provider" in first.stdout
    assert "differing" not in first.stdout
    assert "dunning " in first.stdout  # the chain went on to act
    # The second night syncs back only what the first night's own provider writes did
    # (a payment retry is a new charge at Stripe) and decides nothing new for the day.
    second = _run(served_env)
    assert second.returncode == 0, second.stderr
    assert "actions_new 0" in second.stdout
    assert "notices_new 0" in second.stdout


def test_a_forbidden_stream_fails_the_run_with_the_reason_on_stderr(
    env: dict[str, str], running: RunningSandbox, tmp_path: Path
) -> None:
    fresh = {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    fault = {"provider": "stripe", "status": 403, "count": 1000, "path": "/v1/charges"}
    requests.post(f"{running.url}/__sandbox/faults", json=fault, timeout=10).raise_for_status()
    try:
        result = _run(fresh)
    finally:
        requests.delete(f"{running.url}/__sandbox/faults", timeout=10).raise_for_status()
    assert result.returncode == 1
    assert "stripe charges: HTTP 403" in result.stderr
    assert env["STRIPE_API_KEY"] not in result.stderr + result.stdout
    # The run's own server is gone; what it recorded stays in PREFECT_HOME for `prefect
    # server start` to show: the failed runs and their task runs (the event feed is off
    # for a server that lives for one command: prefect_defaults)
    with sqlite3.connect(Path(env["PREFECT_HOME"]) / "prefect.db") as db:
        states = {
            name: state
            for name, state in db.execute(
                "SELECT f.name, r.state_type FROM flow_run r JOIN flow f ON f.id = r.flow_id"
            )
        }
        task_runs = db.execute("SELECT count(*) FROM task_run").fetchone()[0]
        events = db.execute("SELECT count(*) FROM events").fetchone()[0]
    assert states == {"nightly": "FAILED", "sync": "FAILED"}
    assert task_runs > 0
    assert events == 0


def test_the_ephemeral_server_keeps_no_event_feed_unless_the_operator_asks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED"
    # a copy of the environment: prefect_defaults' other settings stay out of this process
    monkeypatch.setattr(os, "environ", {k: v for k, v in os.environ.items() if k != name})
    run_cli.prefect_defaults()
    assert os.environ[name] == "false"
    os.environ[name] = "true"  # an operator who wants the feed
    run_cli.prefect_defaults()
    assert os.environ[name] == "true"
