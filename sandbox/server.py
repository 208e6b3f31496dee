"""Run the sandbox: in a background thread (tests) or in the foreground (CLI).

Example::

    with start(store) as running:
        os.environ.update(running.env())
        stripe.StripeClient("sk_test_x", base_addresses={"api": running.url})
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sandbox import schema  # noqa: F401  (registers every resource's index)
from sandbox.app import Sandbox, State
from sandbox.clock import Clock
from sandbox.store import Store

# Keys of each provider's own form, for demos and tests (the sandbox accepts any such key).
SANDBOX_KEYS = {
    "STRIPE_API_KEY": "sk_test_echeancier_sandbox",
    "GOCARDLESS_ACCESS_TOKEN": "sandbox_echeancier_token",
    "AFTERSHIP_API_KEY": "asat_echeancier_sandbox",
    "SENDGRID_API_KEY": "SG.echeancier.sandbox",
}


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: ``/__sandbox/requests`` has the log."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error":
            super().log(type, message, *args)


def build_app(store: Store, *, clock: Clock | None = None, seed: int = 0) -> Sandbox:
    from sandbox.providers.aftership import AfterShipAPI
    from sandbox.providers.gocardless import GoCardlessAPI
    from sandbox.providers.sendgrid import SendGridAPI
    from sandbox.providers.stripe import StripeAPI

    state = State(store=store, clock=clock or Clock(), seed=seed)
    return Sandbox(
        state,
        {
            "stripe": StripeAPI(state),
            "gocardless": GoCardlessAPI(state),
            "aftership": AfterShipAPI(state),
            "sendgrid": SendGridAPI(state),
        },
    )


@dataclass
class RunningSandbox:
    app: Sandbox
    server: BaseWSGIServer
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"

    def env(self, *, with_keys: bool = True) -> dict[str, str]:
        """The environment variables that point the official SDKs here (DESIGN §3.2)."""
        urls = {
            "STRIPE_API_BASE": self.url,
            "GOCARDLESS_BASE_URL": self.url,
            "AFTERSHIP_TRACKING_SDK_DOMAIN": self.url,
            "SENDGRID_HOST": self.url,
        }
        return {**urls, **SANDBOX_KEYS} if with_keys else urls

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=10)


def serve(
    store: Store,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Clock | None = None,
    seed: int = 0,
) -> RunningSandbox:
    """Bind the server (port 0: any free port); the caller runs ``serve_forever``."""
    app = build_app(store, clock=clock, seed=seed)
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    return RunningSandbox(app=app, server=server)


@contextmanager
def start(
    store: Store, *, clock: Clock | None = None, seed: int = 0, start_at: datetime | None = None
) -> Iterator[RunningSandbox]:
    """Serve in a daemon thread for the duration of the block."""
    running = serve(store, clock=clock or Clock(start_at), seed=seed)
    # A short poll keeps ``stop`` (shutdown) from waiting half a second per test.
    running.thread = threading.Thread(
        target=running.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    running.thread.start()
    try:
        yield running
    finally:
        running.stop()
