"""`echeancier sandbox serve` as a user runs it: a separate process, export lines, the SDKs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import stripe

BIN = Path(sys.executable).parent / "echeancier"


def ctrl_c_back() -> None:
    """In the child before it runs: Ctrl-C (SIGINT) back to its default. A suite started
    as a background job (``make test &``, ``nohup … &``) ignores SIGINT, a child inherits
    that, and Python then never turns it into KeyboardInterrupt: ``serve`` would never
    stop (seen: four tests of this file timing out in a rehearsal run so started)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    (tmp_path / "stripe").mkdir()
    customers = [
        {"id": f"cus_CLI{i:03d}", "object": "customer", "created": 1_780_000_000 + i}
        for i in range(3)
    ]
    (tmp_path / "stripe" / "customers.json").write_text(json.dumps(customers))
    return tmp_path


@pytest.fixture
def served(scenario: Path) -> Iterator[dict[str, str]]:
    proc = subprocess.Popen(
        [str(BIN), "sandbox", "serve", "--data", str(scenario), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=ctrl_c_back,
    )
    exports: dict[str, str] = {}
    try:
        assert proc.stdout is not None
        while len(exports) < 8:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"serve exited early: {proc.stderr.read() if proc.stderr else ''}")
            assert line.startswith("export "), line
            name, value = line.removeprefix("export ").strip().split("=", 1)
            exports[name] = value
        yield exports
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def test_serve_prints_one_export_line_per_provider_variable(served: dict[str, str]) -> None:
    urls = {
        "STRIPE_API_BASE",
        "GOCARDLESS_BASE_URL",
        "AFTERSHIP_TRACKING_SDK_DOMAIN",
        "SENDGRID_HOST",
    }
    assert urls <= set(served)
    assert len({served[name] for name in urls}) == 1  # one port serves all four


def test_the_official_sdk_reads_the_loaded_scenario(served: dict[str, str]) -> None:
    client = stripe.StripeClient(
        served["STRIPE_API_KEY"], base_addresses={"api": served["STRIPE_API_BASE"]}
    )
    ids = [c.id for c in client.v1.customers.list().auto_paging_iter()]
    assert ids == ["cus_CLI002", "cus_CLI001", "cus_CLI000"]


def test_serve_refuses_both_data_and_generate(scenario: Path) -> None:
    result = subprocess.run(
        [str(BIN), "sandbox", "serve", "--data", str(scenario), "--generate", "small"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "exactly one of --data" in result.stderr


def _serve(*args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start ``sandbox serve`` with ``args``; its process and export lines."""
    proc = subprocess.Popen(
        [str(BIN), "sandbox", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=ctrl_c_back,
    )
    exports: dict[str, str] = {}
    assert proc.stdout is not None
    while len(exports) < 8:
        line = proc.stdout.readline()
        if not line:
            proc.wait(timeout=10)
            pytest.fail(f"serve exited early: {proc.stderr.read() if proc.stderr else ''}")
        name, value = line.removeprefix("export ").strip().split("=", 1)
        exports[name] = value
    return proc, exports


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=10)


def test_clock_sets_the_sandbox_clock(scenario: Path) -> None:
    proc, exports = _serve("--data", str(scenario), "--clock", "2026-07-01T22:00:00Z")
    try:
        now = httpx.get(f"{exports['STRIPE_API_BASE']}/__sandbox/clock").json()["now"]
    finally:
        _stop(proc)
    moment = datetime.fromisoformat(now)
    assert timedelta(0) <= moment - datetime(2026, 7, 1, 22, tzinfo=UTC) < timedelta(minutes=1)


def test_state_serves_a_store_file_in_place(tmp_path: Path) -> None:
    """A store edited while the sandbox is stopped is served as it now stands."""
    from sandbox import schema  # noqa: F401  (registers the resources' indexes)
    from sandbox.store import Store

    path = tmp_path / "state.db"
    for night, customer in enumerate(["cus_NIGHT1", "cus_NIGHT2"]):
        store = Store.open(path)
        store.add("stripe", "customers", {"id": customer, "object": "customer", "created": night})
        store.close()
        proc, exports = _serve("--state", str(path), "--clock", "2026-07-02T00:00:00")
        try:
            client = stripe.StripeClient(
                exports["STRIPE_API_KEY"], base_addresses={"api": exports["STRIPE_API_BASE"]}
            )
            ids = [c.id for c in client.v1.customers.list().auto_paging_iter()]
        finally:
            _stop(proc)
        assert ids == ["cus_NIGHT2", "cus_NIGHT1"][1 - night :]


def test_state_refuses_a_missing_file(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BIN), "sandbox", "serve", "--state", str(tmp_path / "none.db")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "no sandbox store" in result.stderr
