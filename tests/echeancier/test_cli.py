"""`echeancier sandbox serve` as a user runs it: a separate process, export lines, the SDKs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import stripe

BIN = Path(sys.executable).parent / "echeancier"


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
