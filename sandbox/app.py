"""One WSGI application serving the four providers' APIs on one port.

The providers' real paths do not collide, so one port serves them all:
``/v1/...`` is Stripe, ``/v3/...`` SendGrid, ``/tracking/...`` AfterShip and
everything else (``/payments``, ``/events``…) GoCardless. ``/__sandbox/...``
is the inspection and fault-injection API, outside every provider's paths.

Each request goes: fault plan (latency, injected status, dropped connection,
rate limit) -> the provider's own authentication -> the provider's handler,
and is recorded in the request log; then its answer may be held (a stall) or lost.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn, Protocol

import orjson
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from sandbox.clock import Clock
from sandbox.faults import FaultPlan
from sandbox.store import Store


def dumps(body: Any) -> bytes:
    """Compact UTF-8 JSON, as ``json.dumps(separators=(",", ":"), ensure_ascii=False)``.

    orjson writes it several times faster: serialising list pages was a third of the
    sandbox's CPU in the sync benchmark, CPU that the real providers do not take from the
    machine. What orjson refuses (an integer beyond 64 bits, a non-string key) goes
    through ``json``.
    """
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status=status, headers=headers or {}, mimetype="application/json")


@dataclass
class State:
    """What every provider emulator shares: the object store, the clock, the mail log."""

    store: Store
    clock: Clock
    seed: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)
    mail: list[dict[str, Any]] = field(default_factory=list)


class Provider(Protocol):
    """A provider emulator: its own auth, its own error bodies, its own routes."""

    name: str

    def authenticate(self, request: Request) -> Response | None:
        """``None`` when the key is of the provider's form, else the provider's 401."""

    def handle(self, request: Request) -> Response:
        """Answer one authenticated request."""

    def error(self, status: int, retry_after_s: float | None = None) -> Response:
        """The provider's own body and headers for an injected 429 or 5xx."""


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: str
    status: int
    provider: str
    time: str
    duration_ms: float


class Sandbox:
    """The WSGI app. ``providers`` maps a provider name to its emulator."""

    def __init__(self, state: State, providers: dict[str, Provider]) -> None:
        self.state = state
        self.providers = providers
        self.faults = FaultPlan(seed=state.seed)
        self._log: list[LoggedRequest] = []
        self._log_lock = threading.Lock()

    @staticmethod
    def route(path: str) -> str:
        if path.startswith("/v1/"):
            return "stripe"
        if path.startswith("/v3/"):
            return "sendgrid"
        if path.startswith("/tracking/"):
            return "aftership"
        return "gocardless"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        path = request.path
        if path.startswith("/__sandbox/"):
            return self._control(request)(environ, start_response)
        provider_name = self.route(path)
        started = time.perf_counter()
        decision = self.faults.decide(provider_name, path, request.method)
        if decision.latency_s:
            time.sleep(decision.latency_s)
        if decision.drop:
            self._record(request, provider_name, 0, started)
            _drop(environ)  # raises: the server's quiet path for a dropped connection
        provider = self.providers[provider_name]
        if decision.status is not None:
            response = provider.error(decision.status, decision.retry_after_s)
        else:
            response = provider.authenticate(request) or self._handle(provider, request)
        self._record(request, provider_name, response.status_code, started)
        if decision.stall_after_s:  # done; the answer waits (a crash test kills the client)
            self.faults.stall(provider_name, request.method, path, decision.stall_after_s)
        if decision.lose_answer:  # done, but the client never hears of it
            _drop(environ)
        return response(environ, start_response)

    def _handle(self, provider: Provider, request: Request) -> Response:
        try:
            return provider.handle(request)
        except HTTPException as exc:  # e.g. a malformed form body
            return provider.error(exc.code or 400)

    def _record(self, request: Request, provider: str, status: int, started: float) -> None:
        entry = LoggedRequest(
            method=request.method,
            path=request.path,
            query=request.query_string.decode("latin-1"),
            status=status,
            provider=provider,
            time=datetime.now(UTC).isoformat(),
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        with self._log_lock:
            self._log.append(entry)

    def requests(self) -> list[LoggedRequest]:
        with self._log_lock:
            return list(self._log)

    # -- /__sandbox/ -------------------------------------------------------------------

    def _control(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path == "/__sandbox/sendgrid/messages" and method == "GET":
            with self.state.lock:
                return json_response(list(self.state.mail))
        if path == "/__sandbox/requests":
            if method == "DELETE":
                with self._log_lock:
                    self._log.clear()
                return json_response({"cleared": True})
            provider = request.args.get("provider")
            rows = [vars(r) for r in self.requests() if provider in (None, r.provider)]
            return json_response(rows)
        if path == "/__sandbox/faults":
            if method == "POST":
                try:
                    spec = json.loads(request.get_data() or b"{}")
                    specs = spec if isinstance(spec, list) else [spec]
                    for one in specs:
                        self.faults.add(one)
                except (ValueError, TypeError, KeyError) as exc:
                    return json_response({"error": str(exc)}, status=400)
                return json_response(self.faults.describe())
            if method == "DELETE":
                self.faults.clear()
                return json_response(self.faults.describe())
            return json_response(self.faults.describe())
        if path == "/__sandbox/clock":
            if method == "POST":
                body = json.loads(request.get_data() or b"{}")
                if "advance_seconds" in body:
                    self.state.clock.advance(float(body["advance_seconds"]))
                if "now" in body:
                    self.state.clock.set(datetime.fromisoformat(body["now"]))
            return json_response({"now": self.state.clock.now().isoformat()})
        if path == "/__sandbox/health":
            return json_response({"ok": True, "now": self.state.clock.now().isoformat()})
        if path == "/__sandbox/counts":
            counts = {
                f"{p}/{r}": self.state.store.count(p, r) for p, r in self.state.store.tables()
            }
            return json_response(counts)
        return json_response({"error": f"no sandbox route {method} {path}"}, status=404)


def _drop(environ: dict[str, Any]) -> NoReturn:
    """Close the client's connection without answering (a dropped connection).

    Raises ``ConnectionAbortedError``, which the server takes as a client gone away and
    passes over quietly (returning nothing would have it log a traceback per drop).
    """
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
    raise ConnectionAbortedError("connection dropped by the sandbox's fault plan")
