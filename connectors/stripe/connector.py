"""Stripe reads: every list as a generator of pages of plain dicts, within the rate limit.

Each connector builds its own ``stripe.StripeClient`` (never ``stripe.api_key``:
two accounts in one process must not share global state) with the SDK's own
retries off, so :class:`~connectors.retry.RetryPolicy` is the one retry layer.
Lists go through ``StripeClient.raw_request`` and the answer's JSON is parsed
once into plain dicts: no ``StripeObject`` (untyped at runtime, slow to build)
leaves this package.

Incremental sync follows ``/v1/events`` forward from the last event id stored
(:meth:`StripeConnector.events_since`): ``ending_before=<id>`` gives the 100
events just newer than the id, newest first; each page is yielded oldest first
and the next request uses the newest id seen. Example: events evt_1…evt_250,
stored id evt_10 -> pages evt_11…evt_110, evt_111…evt_210, evt_211…evt_250.
Stripe serves 30 days of events only; an older stored id is answered with a
400 ``resource_missing`` naming ``ending_before``, raised here as
:class:`~connectors.errors.EventCursorExpired` so the sync re-lists instead.
:meth:`StripeConnector.events_before` reads back the few minutes before the stored id,
where an event Stripe listed late lands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from itertools import pairwise
from typing import Any, TypeVar

import orjson
import stripe

from connectors.errors import ConnectorError, EventCursorExpired
from connectors.parallel import merge_walks, ordered_walks
from connectors.ratelimit import RateLimiter, shared_limiter, stripe_rate
from connectors.retry import RetryPolicy
from connectors.stripe.endpoints import PAGE_SIZE, endpoint
from connectors.stripe.failures import classify
from connectors.stripe.writes import StripeWrites

PROVIDER = "stripe"
DEFAULT_TIMEOUT_S = 60.0
# Threads walking one stream's slices (and a payout batch's lines). The token bucket, not
# this, keeps the account under its limit; this must only keep enough requests in flight:
# at 25 req/s and ~250-350 ms a page as the client sees it (100 ms of latency, rendering,
# a busy machine), 8-9. With 4, a stream walked alone (the end of a full listing,
# payouts' lines) could not go past ~10-13 req/s.
WALKERS = 8
# Creation-time ranges a night's event walk is cut into (:meth:`events_since_sliced`): at
# ~165 ms a page one walk asks ~6 pages a second, so 6 of them reach the 25 req/s limit.
EVENT_SLICES = 6
T = TypeVar("T")
Page = list[dict[str, Any]]
Moment = int | float | datetime


def epoch(moment: Moment) -> int:
    """Stripe's times are integer epoch seconds."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("a naive datetime is ambiguous; pass an aware one")
        return int(moment.timestamp())
    return int(moment)


def time_slices(start: int, end: int, slices: int) -> list[tuple[int, int]]:
    """``[start, end)`` cut into at most ``slices`` disjoint, contiguous ``[a, b)`` ranges."""
    if end <= start:
        return []
    count = max(1, min(slices, end - start))
    bounds = [start + (end - start) * i // count for i in range(count + 1)]
    return list(pairwise(bounds))


class StripeConnector(StripeWrites):
    """One Stripe account: reads (here) and the writes of :class:`StripeWrites`."""

    provider = PROVIDER

    def __init__(
        self,
        api_key: str,
        base_url: str = "https://api.stripe.com",
        *,
        max_workers: int = WALKERS,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        if not api_key:
            raise ValueError("a Stripe API key is required")
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.max_workers = max_workers
        self._retry = retry or RetryPolicy()
        self._limiter = limiter or shared_limiter(
            PROVIDER, self.base_url, api_key, stripe_rate(api_key)
        )
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": self.base_url},
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    def __repr__(self) -> str:  # never the key
        return f"StripeConnector(base_url={self.base_url!r})"

    # -- plumbing ------------------------------------------------------------------------

    def _call(self, stream: str, call: Callable[[], T]) -> T:
        return self._retry.run(
            call,
            classify,
            provider=PROVIDER,
            stream=stream,
            limiter=self._limiter,
            secrets=(self._api_key,),
        )

    def _get(self, stream: str, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """GET through the SDK's own requestor (auth, version headers, encoding of
        ``expand[]`` and ``created[gte]``), the answer decoded once with orjson.

        Why not ``raw_request``'s ``StripeResponse.data``: the SDK decodes every body with
        ``json.loads(..., object_pairs_hook=OrderedDict)``, a Python call per JSON object;
        during a full listing that was over half of the fetching process's CPU, and the
        fetchers, not the rate limit, set the pace (docs/benchmarks.md). An answer that is
        not a success goes back to the SDK, which raises its own error for ``classify``.
        """
        requestor = self._client._requestor

        def call() -> dict[str, Any]:
            body, status, headers = requestor.request_raw(
                "get",
                path,
                params=dict(params),
                options={},
                base_address="api",
                api_mode="V1",
                usage=["raw_request"],
            )
            if 200 <= status < 300:
                return orjson.loads(body)  # type: ignore[no-any-return]
            response = requestor._interpret_response(body, status, headers, "V1")
            raise ConnectorError(  # the SDK raises first; a 1xx/3xx would land here
                PROVIDER, stream, f"unexpected HTTP {response.code} on GET {path}"
            )

        return self._call(stream, call)

    # -- lists ---------------------------------------------------------------------------

    def list_pages(
        self,
        resource: str,
        *,
        created_gte: Moment | None = None,
        created_lt: Moment | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Iterator[Page]:
        """Every object of ``resource`` (newest first), a page of up to 100 at a time."""
        spec = endpoint(resource)
        query: dict[str, Any] = {**spec.params, **(params or {}), "limit": PAGE_SIZE}
        expand = [*spec.expand, *query.pop("expand", [])]
        if expand:
            query["expand"] = list(dict.fromkeys(expand))
        created = dict(query.pop("created", None) or {})
        if created_gte is not None:
            created["gte"] = epoch(created_gte)
        if created_lt is not None:
            created["lt"] = epoch(created_lt)
        if created:
            query["created"] = created
        after: str | None = None
        while True:
            cursor = {"starting_after": after} if after else {}
            body = self._get(resource, spec.path, {**query, **cursor})
            data: Page = body.get("data") or []
            if data:
                yield data
            if not body.get("has_more") or not data:
                return
            after = str(data[-1]["id"])

    def list_sliced(
        self,
        resource: str,
        start: Moment,
        end: Moment,
        slices: int,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> Iterator[Page]:
        """Every object created in ``[start, end)``, ``slices`` time ranges walked in parallel.

        Pages arrive in no particular order; each object comes exactly once (the
        ranges are disjoint). Use more slices than ``max_workers`` so that a busy
        range does not leave the other threads idle.
        """
        walks = [
            partial(self.list_pages, resource, created_gte=a, created_lt=b, params=params)
            for a, b in time_slices(epoch(start), epoch(end), slices)
        ]
        yield from merge_walks(walks, max_workers=self.max_workers)

    def balance_transactions(self, payout_id: str) -> Iterator[Page]:
        """The balance transactions paid out in ``payout_id``, each with its source expanded."""
        return self.list_pages("balance_transactions", params={"payout": payout_id})

    # -- events --------------------------------------------------------------------------

    def events_since(
        self,
        last_event_id: str,
        *,
        types: Sequence[str] | None = None,
        created_lt: Moment | None = None,
    ) -> Iterator[Page]:
        """Events newer than ``last_event_id``, oldest first; the last id seen is the new
        cursor. ``created_lt``: only those created before it (one range of
        :meth:`events_since_sliced`)."""
        extra: dict[str, Any] = {"types": list(types)} if types else {}
        if created_lt is not None:
            extra["created"] = {"lt": epoch(created_lt)}
        before = last_event_id
        while True:
            body = self._events_page(before, {"ending_before": before, **extra})
            data: Page = body.get("data") or []
            if not data:
                return
            yield data[::-1]
            if not body.get("has_more"):
                return
            before = str(data[0]["id"])

    def events_since_sliced(
        self,
        last_event_id: str,
        since: Moment,
        *,
        slices: int = EVENT_SLICES,
        types: Sequence[str] | None = None,
    ) -> Iterator[Page]:
        """What :meth:`events_since` gives, in its order, with the time from ``since``
        (when ``last_event_id`` was created) to the newest event cut into ``slices``
        creation-time ranges fetched at once.

        The first range is the cursor's walk up to the second range's start (the cursor,
        not a time, says where it begins: an event of the cursor's second listed before it
        is not new); each later range is listed newest first with ``created[gte]`` and
        ``created[lt]`` and handed over reversed; the last has no end, so an event
        created while the walk runs is not missed. Stripe lists events newest first by
        creation, so the ranges put end to end give the one walk's order. Example: cursor
        at 10:00, newest event at 21:59, 3 slices: the walk from the cursor to 14:00, then
        14:00-18:00, then 18:00 onwards, the three fetched together. One request more than
        the walk (the newest event, which bounds the ranges).
        """
        newest = self.newest_event()
        until = int(newest["created"]) + 1 if newest else epoch(since)
        ranges = time_slices(epoch(since), until, slices)
        if len(ranges) < 2:
            return self.events_since(last_event_id, types=types)
        starts = [start for start, _ in ranges[1:]]
        walks: list[Callable[[], Iterator[Page]]] = [
            partial(self.events_since, last_event_id, types=types, created_lt=starts[0])
        ]
        for start, end in zip(starts, [*starts[1:], None], strict=True):
            walks.append(partial(self._events_created_between, start, end, types))
        return ordered_walks(walks)

    def _events_created_between(
        self, start: int, end: int | None, types: Sequence[str] | None
    ) -> Iterator[Page]:
        """Events created in ``[start, end)`` (no end: up to now), oldest first."""
        extra: dict[str, Any] = {"types": list(types)} if types else {}
        pages = list(self.list_pages("events", created_gte=start, created_lt=end, params=extra))
        return iter([page[::-1] for page in reversed(pages)])

    def events_before(
        self, last_event_id: str, since: Moment, *, types: Sequence[str] | None = None
    ) -> Iterator[Page]:
        """Events listed before ``last_event_id`` and created at or after ``since``, oldest
        first: the overlap an incremental walk reads again.

        Why: Stripe does not promise that an event is listed the moment it is created.
        One created just before the cursor's event but listed after the cursor was
        stored sits behind the cursor, where ``ending_before`` never looks. The pages
        are read newest first (``starting_after``, ``created[gte]``), then yielded
        reversed. A cursor Stripe no longer serves raises
        :class:`~connectors.errors.EventCursorExpired` here too, before anything is read.
        """
        extra: dict[str, Any] = {"types": list(types)} if types else {}
        query = {"created": {"gte": epoch(since)}, **extra}
        pages: list[Page] = []
        after = last_event_id
        while True:
            body = self._events_page(last_event_id, {"starting_after": after, **query})
            data: Page = body.get("data") or []
            if data:
                pages.append(data)
            if not body.get("has_more") or not data:
                break
            after = str(data[-1]["id"])
        for page in reversed(pages):
            yield page[::-1]

    def _events_page(self, cursor: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """One page of ``/v1/events`` around ``cursor``; a cursor past Stripe's 30 days of
        events is :class:`~connectors.errors.EventCursorExpired`."""
        try:
            return self._get("events", "/v1/events", {"limit": PAGE_SIZE, **params})
        except ConnectorError as exc:
            if exc.status in (400, 404) and exc.code == "resource_missing":
                raise EventCursorExpired(
                    PROVIDER,
                    "events",
                    f"event {cursor} is no longer served (older than Stripe's 30 days);"
                    " re-list the resources and start a new event cursor",
                    status=exc.status,
                    code=exc.code,
                ) from None
            raise

    def newest_event(self) -> dict[str, Any] | None:
        """The newest event (``GET /v1/events?limit=1``), or ``None`` when there is none.

        A first full sync notes it before listing, so the next run follows the events
        from there: what changed during the listing is replayed, never lost.
        """
        body = self._get("events", "/v1/events", {"limit": 1})
        data = body.get("data") or []
        return dict(data[0]) if data else None

    def events_created_since(
        self, since: Moment, *, types: Sequence[str] | None = None
    ) -> Iterator[Page]:
        """Events created at or after ``since`` (first run: no stored id yet), oldest first.

        One request finds the newest event before ``since``; the walk then goes
        forward from it as :meth:`events_since` does. When no retained event is
        older than ``since``, the (then short) list is read newest first and
        yielded reversed.
        """
        extra: dict[str, Any] = {"types": list(types)} if types else {}
        probe = self._get(
            "events", "/v1/events", {"limit": 1, "created": {"lt": epoch(since)}, **extra}
        )
        older = probe.get("data") or []
        if older:
            yield from self.events_since(str(older[0]["id"]), types=types)
            return
        pages = list(self.list_pages("events", created_gte=since, params=extra))
        for page in reversed(pages):
            yield page[::-1]
