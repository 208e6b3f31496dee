"""The Stripe API emulator (``/v1/...``), as ``stripe`` 16.1 (API 2026-10-28.endive) sees it.

Reads (lists with Stripe's cursors, filters and ``expand[]``; retrieves) live
in :mod:`stripe_reads`; the write calls the pipeline makes (invoice pay,
subscription update and cancel, mark uncollectible) in :mod:`stripe_pay` and
:mod:`stripe_writes`. This module authenticates, routes, answers errors with
Stripe's own bodies and headers, and honours ``Idempotency-Key``: the same key
with the same parameters replays the first answer (``Idempotent-Replayed:
true``); with other parameters it is Stripe's 400 ``idempotency_error``.

What the SDK relies on, and this keeps: every answer has a ``Request-Id``
header; a 429 says ``Stripe-Rate-Limited-Reason`` and no ``Stripe-Should-Retry``
(so ``StripeClient(max_network_retries=n)`` does not retry it, as with the real
service); a 5xx is an ``api_error`` (which the SDK does retry).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.app import State, json_response
from sandbox.providers.stripe_events import WriteContext
from sandbox.providers.stripe_pay import pay_invoice
from sandbox.providers.stripe_reads import expand, expand_list, list_objects, retrieve
from sandbox.providers.stripe_wire import (
    API_VERSION,
    RESOURCES,
    StripeError,
    invalid_request,
    parse_params,
    request_id,
)
from sandbox.providers.stripe_writes import (
    cancel_subscription,
    mark_uncollectible,
    update_subscription,
)

_KEY_FORM = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9_]{1,250}$")
_KEY_PREFIX = re.compile(r"^(?:sk|rk|pk)_(?:test|live)_")
_NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
    "https://stripe.com/docs/api#authentication for details, or we can help at "
    "https://support.stripe.com/."
)

Write = Callable[[WriteContext, str, dict[str, Any]], dict[str, Any]]
# (method, resource, action) -> handler; action "" is the object itself.
WRITES: dict[tuple[str, str, str], Write] = {
    ("POST", "invoices", "pay"): pay_invoice,
    ("POST", "invoices", "mark_uncollectible"): mark_uncollectible,
    ("POST", "subscriptions", ""): update_subscription,
    ("DELETE", "subscriptions", ""): cancel_subscription,
}


def mask_key(key: str) -> str:
    """How Stripe shows a rejected key: its prefix and last four characters only."""
    match = _KEY_PREFIX.match(key)
    prefix = match.group(0) if match else ""
    rest = key[len(prefix) :]
    if len(rest) <= 4:
        return prefix + "*" * len(rest)
    return prefix + "*" * (len(rest) - 4) + rest[-4:]


@dataclass(frozen=True)
class _Stored:
    """A completed idempotent request: what it asked and what it was answered."""

    method: str
    path: str
    params: str
    status: int
    body: str
    request_id: str


class StripeAPI:
    """Stripe's ``/v1`` API over the sandbox store."""

    name = "stripe"

    def __init__(self, state: State) -> None:
        self.state = state
        self._idempotent: dict[str, _Stored] = {}

    # -- Provider protocol -------------------------------------------------------------

    def authenticate(self, request: Request) -> Response | None:
        header = request.headers.get("Authorization", "")
        key = ""
        if header.startswith("Bearer "):
            key = header[len("Bearer ") :].strip()
        elif request.authorization is not None and request.authorization.type == "basic":
            key = request.authorization.username or ""
        if not key:
            return self._respond(
                401, {"error": {"message": _NO_KEY, "type": "invalid_request_error"}}
            )
        if not _KEY_FORM.match(key):
            body = {
                "error": {
                    "message": f"Invalid API Key provided: {mask_key(key)}",
                    "type": "invalid_request_error",
                }
            }
            return self._respond(401, body)
        return None

    def error(self, status: int, retry_after_s: float | None = None) -> Response:
        if status == 429:
            body = {
                "error": {
                    "code": "rate_limit",
                    "doc_url": "https://stripe.com/docs/error-codes/rate-limit",
                    "message": "Request rate limit exceeded. Learn more about rate limits here "
                    "https://stripe.com/docs/rate-limits.",
                    "type": "invalid_request_error",
                }
            }
            return self._respond(429, body, {"Stripe-Rate-Limited-Reason": "global-rate"})
        if status >= 500:
            body = {"error": {"message": "An unknown error occurred", "type": "api_error"}}
            return self._respond(status, body)
        body = {"error": {"message": "Invalid request.", "type": "invalid_request_error"}}
        return self._respond(status, body)

    def handle(self, request: Request) -> Response:
        req_id = request_id()
        method = request.method
        pairs = list(request.args.items(multi=True))
        if method != "GET":
            pairs += list(request.form.items(multi=True))
        params = parse_params(pairs)
        parts = request.path.strip("/").split("/")[1:]  # after "v1"
        try:
            if method == "GET":
                return self._respond(200, self._read(parts, params, request.path), req_id=req_id)
            if method in ("POST", "DELETE"):
                return self._write(request, parts, params, req_id)
            raise self._unrecognized(request)
        except StripeError as exc:
            return self._respond(exc.status, {"error": exc.error}, exc.headers, req_id=req_id)

    # -- routing -----------------------------------------------------------------------

    @staticmethod
    def _unrecognized(request: Request) -> StripeError:
        return invalid_request(
            f"Unrecognized request URL ({request.method}: {request.path}). Please see "
            "https://stripe.com/docs or we can help at https://support.stripe.com/.",
            status=404,
        )

    def _read(self, parts: list[str], params: dict[str, Any], path: str) -> dict[str, Any]:
        store = self.state.store
        now = self.state.clock.epoch()
        if len(parts) == 1 and parts[0] in RESOURCES:
            return list_objects(store, parts[0], params, "/v1/" + parts[0], now)
        if len(parts) == 2 and parts[0] in RESOURCES and parts[1]:
            return retrieve(store, parts[0], parts[1], params, now)
        raise invalid_request(
            f"Unrecognized request URL (GET: {path}). Please see https://stripe.com/docs or "
            "we can help at https://support.stripe.com/.",
            status=404,
        )

    def _write(
        self, request: Request, parts: list[str], params: dict[str, Any], req_id: str
    ) -> Response:
        if len(parts) not in (2, 3):
            raise self._unrecognized(request)
        resource, obj_id = parts[0], parts[1]
        action = parts[2] if len(parts) == 3 else ""
        handler = WRITES.get((request.method, resource, action))
        if handler is None or not obj_id:
            raise self._unrecognized(request)
        key = request.headers.get("Idempotency-Key")
        fingerprint = json.dumps(params, sort_keys=True)
        with self.state.lock:
            if key:
                replay = self._replay(key, request, fingerprint)
                if replay is not None:
                    return replay
            ctx = WriteContext(
                store=self.state.store,
                now=self.state.clock.epoch(),
                seed=self.state.seed,
                request_id=req_id,
                idempotency_key=key,
            )
            try:
                obj = handler(ctx, obj_id, params)
                for path in expand_list(params):
                    expand(self.state.store, obj, path.split("."), path)
                status, body = 200, {**obj}
            except StripeError as exc:
                if exc.status != 402:  # a request that failed validation is not remembered
                    raise
                status, body = exc.status, {"error": exc.error}
            text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
            if key:
                self._idempotent[key] = _Stored(
                    request.method, request.path, fingerprint, status, text, req_id
                )
        headers = {"Idempotency-Key": key} if key else {}
        return self._respond(status, json.loads(text), headers, req_id=req_id)

    def _replay(self, key: str, request: Request, fingerprint: str) -> Response | None:
        stored = self._idempotent.get(key)
        if stored is None:
            return None
        if (stored.method, stored.path) != (request.method, request.path):
            raise invalid_request(
                "Keys for idempotent requests can only be used for the same endpoint they were "
                f"first used for ('{request.path}' vs '{stored.path}'). Try using a key other "
                f"than '{key}' if you meant to execute a different request."
            )
        if stored.params != fingerprint:
            error = {
                "message": "Keys for idempotent requests can only be used with the same "
                f"parameters they were first used with. Try using a key other than '{key}' if "
                "you meant to execute a different request.",
                "type": "idempotency_error",
            }
            raise StripeError(400, error)
        headers = {
            "Idempotency-Key": key,
            "Idempotent-Replayed": "true",
            "Original-Request": stored.request_id,
        }
        return self._respond(stored.status, json.loads(stored.body), headers)

    # -- responses ---------------------------------------------------------------------

    @staticmethod
    def _respond(
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        *,
        req_id: str | None = None,
    ) -> Response:
        all_headers = {
            "Request-Id": req_id or request_id(),
            "Stripe-Version": API_VERSION,
            **(headers or {}),
        }
        if status == 401:
            all_headers["Www-Authenticate"] = 'Basic realm="Stripe"'
        return json_response(body, status=status, headers=all_headers)
