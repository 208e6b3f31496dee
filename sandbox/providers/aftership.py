"""AfterShip's tracking API at the SDK's pinned version path (``/tracking/2026-07``).

``GET /tracking/2026-07/trackings`` lists trackings newest first, in the
envelope ``{"meta": {"code": 200, "message": "OK", "type": "OK"}, "data":
{"pagination": {"total", "next_cursor", "has_next_page"}, "trackings": [...]}}``
that ``tracking.models.GetTrackingsResponse`` parses. Paging is by an opaque
``cursor`` (the SDK sends back ``next_cursor``), ``limit`` 1–200 (default 100).
Filters: ``updated_at_min/max`` and ``created_at_min/max`` (inclusive ISO
times), ``tag``, ``slug`` and ``order_id`` (comma-separated lists).
Example: 250 trackings, ``limit=200`` -> 200 with ``has_next_page: true`` and a
cursor, then 50 with ``has_next_page: false`` and ``next_cursor: null``.

Errors use AfterShip's meta codes, which the SDK maps to its exceptions: 401
``Unauthorized``, 4004 ``NotFound`` for an unknown tracking id, 429
``TooManyRequests`` with ``X-RateLimit-*`` headers, 500 ``InternalError``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import threading
from datetime import UTC, datetime
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from sandbox.app import State, json_response
from sandbox.render import render_aftership
from sandbox.store import UnknownCursor

PROVIDER = "aftership"
PREFIX = "/tracking/2026-07/trackings"
DEFAULT_LIMIT = 100
MAX_LIMIT = 200
# Requests per second AfterShip allows on each endpoint (its published limits).
LIST_RATE_LIMIT = 6
GET_RATE_LIMIT = 5
_TIME_FILTERS = {
    "created_at_min": ("created", "gte"),
    "created_at_max": ("created", "lte"),
    "updated_at_min": ("updated", "gte"),
    "updated_at_max": ("updated", "lte"),
}
_KEY_FILTERS = ("tag", "slug", "order_id")


def meta_response(
    status: int, code: int, type_: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """An AfterShip error: its ``meta`` (which the SDK reads) and an empty ``data``."""
    body = {"meta": {"code": code, "message": message, "type": type_}, "data": {}}
    return json_response(body, status, headers)


def _bad_value(name: str) -> Response:
    return meta_response(400, 4008, "BadRequest", f"The value of `{name}` is invalid.")


class _Invalid(ValueError):
    """A query parameter AfterShip would reject; ``args[0]`` names it."""


def _encode_cursor(tracking_id: str) -> str:
    raw = json.dumps({"after": tracking_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise _Invalid("cursor") from exc
    return str(value)


def _epoch(name: str, value: str, op: str) -> int:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise _Invalid(name) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = moment.timestamp()
    return math.ceil(seconds) if op == "gte" else math.floor(seconds)


def _parse(args: MultiDict[str, str]) -> dict[str, Any]:
    """Store arguments for a list request (raises ``_Invalid`` naming a bad parameter)."""
    try:
        limit = int(args.get("limit", DEFAULT_LIMIT))
    except ValueError as exc:
        raise _Invalid("limit") from exc
    if not 1 <= limit <= MAX_LIMIT:
        raise _Invalid("limit")
    query: dict[str, Any] = {"limit": limit, "where": {}, "created": {}, "updated": {}}
    for name, value in args.items():
        if name in _TIME_FILTERS:
            column, op = _TIME_FILTERS[name]
            query[column][op] = _epoch(name, value, op)
        elif name in _KEY_FILTERS:
            values = [v.strip() for v in value.split(",") if v.strip()]
            query["where"][name] = values[0] if len(values) == 1 else values
        elif name == "cursor":
            query["after"] = _decode_cursor(value)
        elif name != "limit":
            raise _Invalid(name)
    return query


class SecondWindows:
    """Per-endpoint one-second request counts, reported as ``X-RateLimit-*`` on every answer.

    Counted, not enforced: ``POST /__sandbox/faults`` with ``rate_limit`` makes the
    sandbox answer 429 like the real service.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, int]] = {}  # endpoint -> (second, count)

    def hit(self, endpoint: str, limit: int, second: int) -> dict[str, str]:
        with self._lock:
            start, count = self._counts.get(endpoint, (second, 0))
            count = count + 1 if start == second else 1
            self._counts[endpoint] = (second, count)
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - count)),
            "X-RateLimit-Reset": str(second + 1),
        }


def _endpoint(path: str) -> tuple[str, int]:
    """Which rate-limited endpoint a path is, and its per-second limit."""
    return ("list", LIST_RATE_LIMIT) if path.rstrip("/") == PREFIX else ("get", GET_RATE_LIMIT)


class AfterShipAPI:
    """The ``Provider`` for AfterShip tracking: ``as-api-key`` auth, lists and gets."""

    name = "aftership"

    def __init__(self, state: State) -> None:
        self.state = state
        self.windows = SecondWindows()

    def authenticate(self, request: Request) -> Response | None:
        if not (request.headers.get("as-api-key") or "").strip():
            response = meta_response(401, 401, "Unauthorized", "The API key is invalid.")
            return self._finish(request, response)
        return None

    def _finish(self, request: Request, response: Response) -> Response:
        endpoint, limit = _endpoint(request.path)
        response.headers.update(self.windows.hit(endpoint, limit, self.state.clock.epoch()))
        return response

    def error(self, status: int, retry_after_s: float | None = None) -> Response:
        if status == 429:
            wait = max(1, math.ceil(retry_after_s or 1))
            headers = {
                "X-RateLimit-Limit": str(LIST_RATE_LIMIT),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(self.state.clock.epoch() + wait),
            }
            return meta_response(
                429,
                429,
                "TooManyRequests",
                "You have exceeded the API call rate limit. The default limit is 10 requests"
                " per second.",
                headers,
            )
        if status == 401:
            return meta_response(401, 401, "Unauthorized", "The API key is invalid.")
        if status == 404:
            return self._no_route()
        if status >= 500:
            return meta_response(
                status, status, "InternalError", "Something went wrong on AfterShip's end."
            )
        return meta_response(status, 400, "BadRequest", "The request is invalid.")

    def handle(self, request: Request) -> Response:
        return self._finish(request, self._route(request))

    def _route(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if request.method != "GET":
            return self._no_route()
        if path == PREFIX:
            return self._list(request.args)
        if path.startswith(PREFIX + "/") and "/" not in path[len(PREFIX) + 1 :]:
            return self._get(path[len(PREFIX) + 1 :])
        return self._no_route()

    @staticmethod
    def _no_route() -> Response:
        return meta_response(
            404,
            404,
            "NotFound",
            "The URI requested is invalid or the resource requested does not exist.",
        )

    @staticmethod
    def _ok(data: dict[str, Any]) -> Response:
        return json_response({"meta": {"code": 200, "message": "OK", "type": "OK"}, "data": data})

    def _get(self, tracking_id: str) -> Response:
        obj = self.state.store.get(PROVIDER, "trackings", tracking_id)
        if obj is None:
            return meta_response(404, 4004, "NotFound", "Tracking does not exist.")
        return self._ok(render_aftership(obj))

    def _list(self, args: MultiDict[str, str]) -> Response:
        store = self.state.store
        try:
            query = _parse(args)
            items, has_more = store.list(
                PROVIDER,
                "trackings",
                where=query["where"],
                created=query["created"],
                updated=query["updated"],
                after=query.get("after"),
                limit=query["limit"],
            )
        except _Invalid as exc:
            return _bad_value(str(exc.args[0]))
        except UnknownCursor:
            return _bad_value("cursor")
        total = store.count_where(
            PROVIDER,
            "trackings",
            where=query["where"],
            created=query["created"],
            updated=query["updated"],
        )
        pagination = {
            "total": total,
            "next_cursor": _encode_cursor(items[-1]["id"]) if has_more and items else None,
            "has_next_page": has_more,
        }
        trackings = [render_aftership(item) for item in items]
        return self._ok({"pagination": pagination, "trackings": trackings})
