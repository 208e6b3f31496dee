"""The GoCardless Pro API (``GoCardless-Version: 2015-07-06``) as its SDK sees it.

Routes are GoCardless's bare paths: ``GET /payments``, ``GET /payments/PM…``,
``GET /payout_items?payout=PO…``, ``GET /events?resource_type=payments&include=payment``,
``POST /payments/PM…/actions/retry``. Lists and filters live in
:mod:`sandbox.providers.gocardless_lists`, the retry rules in
:mod:`sandbox.providers.gocardless_retry`, error bodies in
:mod:`sandbox.providers.gocardless_errors`.

Every answer carries GoCardless's rate-limit headers: 1000 requests a minute,
``RateLimit-Remaining`` counting down within the minute and ``RateLimit-Reset``
the HTTP date the window ends (the SDK exposes them as ``client.rate_limit``).
The count is reported, not enforced; ``POST /__sandbox/faults`` with
``rate_limit`` makes the sandbox answer 429 like the real service.

Actions honour ``Idempotency-Key``: the same key on the same path replays the
first successful answer instead of acting twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from werkzeug.wrappers import Request, Response

from sandbox.app import State
from sandbox.providers import gocardless_errors as errors
from sandbox.providers.gocardless_lists import LISTINGS, get_one, list_page
from sandbox.providers.gocardless_retry import retry

API_VERSION = "2015-07-06"
RATE_LIMIT = 1000  # requests per minute


class MinuteWindow:
    """GoCardless's per-minute request budget, on the sandbox clock."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._window: datetime | None = None
        self._count = 0

    def _roll(self, now: datetime) -> datetime:
        start = now.replace(second=0, microsecond=0)
        if start != self._window:
            self._window, self._count = start, 0
        return start

    def hit(self, now: datetime) -> dict[str, str]:
        """Count one request; the headers that report what is left."""
        with self._lock:
            start = self._roll(now)
            self._count += 1
            return self._headers(start, self.limit - self._count)

    def exhausted(self, now: datetime) -> dict[str, str]:
        """The headers of a 429: nothing left until the window resets."""
        with self._lock:
            return self._headers(self._roll(now), 0)

    def _headers(self, start: datetime, remaining: int) -> dict[str, str]:
        reset = (start + timedelta(minutes=1)).astimezone(UTC)
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(max(0, remaining)),
            "RateLimit-Reset": format_datetime(reset, usegmt=True),
        }


class GoCardlessAPI:
    """The ``Provider`` for GoCardless: its auth, its routes, its error bodies."""

    name = "gocardless"

    def __init__(self, state: State) -> None:
        self.state = state
        self.window = MinuteWindow(RATE_LIMIT)
        self._idempotent: dict[tuple[str, str], Response] = {}

    # -- Provider protocol --------------------------------------------------------------

    def authenticate(self, request: Request) -> Response | None:
        header = request.headers.get("Authorization")
        problem: Response | None = None
        if header is None:
            problem = errors.unauthorized(
                "missing_authorization_header", "Authorization header must be provided"
            )
        elif not header.startswith("Bearer "):
            problem = errors.unauthorized(
                "invalid_authorization_header",
                "Authorization header must be in the format 'Bearer <access token>'",
            )
        elif not header.removeprefix("Bearer ").strip():
            problem = errors.unauthorized("access_token_not_found", "Access token not found")
        elif request.headers.get("GoCardless-Version") is None:
            problem = errors.reasoned(
                400,
                "invalid_api_usage",
                "missing_version_header",
                "GoCardless-Version header must be provided",
            )
        elif request.headers.get("GoCardless-Version") != API_VERSION:
            problem = errors.reasoned(
                400, "invalid_api_usage", "version_not_found", "Version not found"
            )
        if problem is not None:
            return self._finish(problem)
        return None

    def handle(self, request: Request) -> Response:
        return self._finish(self._route(request))

    def error(self, status: int, retry_after_s: float | None = None) -> Response:
        response = errors.for_status(status)
        now = self.state.clock.now()
        if status == 429:  # GoCardless sends no Retry-After: clients wait for RateLimit-Reset
            response.headers.update(self.window.exhausted(now))
            return response
        response.headers.update(self.window.hit(now))
        return response

    # -- routing ------------------------------------------------------------------------

    def _finish(self, response: Response) -> Response:
        response.headers.update(self.window.hit(self.state.clock.now()))
        return response

    def _route(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        if request.method == "GET" and len(parts) == 1 and parts[0] in LISTINGS:
            return list_page(self.state.store, parts[0], request.args)
        if request.method == "GET" and len(parts) == 2 and parts[0] in LISTINGS:
            if not LISTINGS[parts[0]].gettable:
                return errors.path_not_found()
            return get_one(self.state.store, parts[0], parts[1])
        if (
            request.method == "POST"
            and len(parts) == 4
            and parts[0] == "payments"
            and parts[2:] == ["actions", "retry"]
        ):
            return self._idempotently(request, lambda: retry(self.state, request, parts[1]))
        if request.method != "GET" and len(parts) in (1, 2) and parts[0] in LISTINGS:
            return errors.reasoned(
                405, "invalid_api_usage", "method_not_allowed", "Method not allowed"
            )
        return errors.path_not_found()

    def _idempotently(self, request: Request, act: Callable[[], Response]) -> Response:
        """Replay the first successful answer to a repeated ``Idempotency-Key``."""
        key = request.headers.get("Idempotency-Key")
        with self.state.lock:
            if key is not None and (request.path, key) in self._idempotent:
                first = self._idempotent[(request.path, key)]
                return Response(
                    first.get_data(), status=first.status_code, mimetype="application/json"
                )
            response = act()
            if key is not None and response.status_code < 300:
                self._idempotent[(request.path, key)] = response
            return response
