"""The real thing, once per module: a Prefect server and a process worker started by the
test, the deployments applied by ``python -m deployments deploy`` (what ``make deploy``
runs), a generated shop served by the sandbox, a SQLite warehouse.

The worker's flow runs are separate processes: nothing of this test process is patched
into them. They read the sandbox and the warehouse through the environment, exactly as
on a real host, and run on the machine's clock, which the sandbox's clock follows too.
The shop is the dunning tests' (150 customers, history to ``AS_OF``): the nightly run
for ``AS_OF`` has reminders to send and payments to retry.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from deployments.local import Stack
from sandbox.clock import Clock
from sandbox.generate import generate
from sandbox.server import RunningSandbox, start
from sandbox.store import Store
from warehouse.migrate import upgrade

CUSTOMERS = 40
SEED = 7
AS_OF = date(2026, 6, 30)


@dataclass
class Webhook:
    """A stand-in for Slack/PagerDuty: records what the notification block posts."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    hits: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hits.append(json.loads(body or b"{}"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield Webhook(f"http://127.0.0.1:{server.server_port}/hook", hits)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def e2e_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """The shop's history ends on ``AS_OF``; the sandbox's clock is the machine's."""
    store = Store.open(tmp_path_factory.mktemp("e2e-shop") / "shop.db")
    generate(store, "small", SEED, AS_OF, customers=CUSTOMERS)
    with start(store, clock=Clock(datetime.now(UTC)), seed=SEED) as running:
        yield running
    store.close()


@dataclass
class Sandbox:
    """The sandbox as an operator sees it, over HTTP."""

    url: str

    def get(self, path: str) -> Any:
        answer = requests.get(f"{self.url}/__sandbox/{path}", timeout=10)
        answer.raise_for_status()
        return answer.json()

    def fault(self, spec: dict[str, Any] | None) -> None:
        if spec is None:
            requests.delete(f"{self.url}/__sandbox/faults", timeout=10).raise_for_status()
        else:
            requests.post(f"{self.url}/__sandbox/faults", json=spec, timeout=10).raise_for_status()


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, e2e_sandbox: RunningSandbox, webhook: Webhook
) -> Iterator[tuple[Stack, str]]:
    """Server, deployments (with the failure notification to ``webhook``), one worker;
    yields the stack and the warehouse URL its runs write to."""
    base = tmp_path_factory.mktemp("e2e-prefect")
    warehouse = f"sqlite:///{base / 'warehouse.db'}"
    upgrade(warehouse)
    with Stack.start(base / "home") as running:
        # The worker boots (and creates the process pool) while the deployments apply.
        running.start_worker(
            {
                **e2e_sandbox.env(),
                "DATABASE_URL": warehouse,
                "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(base / "results"),
                "ECHEANCIER_REPORTS": str(base / "reports"),
            }
        )
        running.deploy("--notify-webhook", webhook.url)
        yield running, warehouse
