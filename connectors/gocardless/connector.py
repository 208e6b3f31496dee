"""GoCardless reads and the payment retry, over ``gocardless_pro.Client``.

Three SDK habits are worked around here (``reference/provider-apis.md`` §3):

- ``.all()`` drops each page's ``meta`` and ``linked``; pages are read with
  ``.list()`` and ``after`` instead, and the raw body is kept;
- a nested filter dict is encoded as ``created_at=gte``; filters are sent flat
  (``{"created_at[gte]": "2026-05-01T00:00:00.000Z"}``);
- a 429 is raised without its headers; the API client is the SDK's own with one
  hook that keeps the status and headers of a failed answer, so a 429 waits for
  ``RateLimit-Reset`` (GoCardless sends no ``Retry-After``).

Events are walked forward with ``before``: ``before=EV10`` gives the events
just newer than EV10, newest first, and ``meta.cursors.before`` says where the
next (newer) page starts. Example: 1200 events after EV10 -> 3 requests, pages
of 500, 500, 200, each yielded oldest first with its ``linked`` resources.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import gocardless_pro
from gocardless_pro import errors, services
from gocardless_pro.api_client import ApiClient

from connectors.errors import redact
from connectors.gocardless.endpoints import EVENT_INCLUDES, PAGE_SIZE, endpoint
from connectors.gocardless.failures import classify
from connectors.ratelimit import GOCARDLESS_RATE, RateLimiter, shared_limiter
from connectors.retry import RetryPolicy, lower_headers, remaining_budget

PROVIDER = "gocardless"
DEFAULT_TIMEOUT_S = 60.0
Page = list[dict[str, Any]]
T = TypeVar("T")


def iso(moment: datetime | str) -> str:
    """GoCardless's time format: ``2026-05-01T09:00:00.000Z``."""
    if isinstance(moment, str):
        return moment
    if moment.tzinfo is None:
        raise ValueError("a naive datetime is ambiguous; pass an aware one")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class _HeaderKeepingApiClient(ApiClient):  # type: ignore[misc]
    """The SDK's API client, but a failed answer's status and headers ride on the exception."""

    def _handle_errors(self, response: Any) -> None:
        try:
            super()._handle_errors(response)
        except errors.GoCardlessProError as exc:
            exc.http_status = response.status_code  # type: ignore[attr-defined]
            exc.http_headers = lower_headers(response.headers)  # type: ignore[attr-defined]
            raise


@dataclass(frozen=True)
class EventPage:
    """Events oldest first, the resources they ``include`` (by plural name), the new cursor."""

    events: Page
    linked: dict[str, Page] = field(default_factory=dict)

    @property
    def cursor(self) -> str | None:
        return str(self.events[-1]["id"]) if self.events else None


@dataclass(frozen=True)
class RetryOutcome:
    """What ``POST /payments/{id}/actions/retry`` came to; a refusal is not an error."""

    status: Literal["retried", "refused"]
    payment_id: str
    payment: dict[str, Any] | None = None
    reason: str | None = None
    message: str | None = None


class GoCardlessConnector:
    """One GoCardless organisation's access token."""

    provider = PROVIDER

    def __init__(
        self,
        access_token: str,
        base_url: str = "https://api.gocardless.com",
        *,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        if not access_token:
            raise ValueError("a GoCardless access token is required")
        self._token = access_token
        self.base_url = base_url.rstrip("/")
        self._retry = retry or RetryPolicy()
        self._limiter = limiter or shared_limiter(
            PROVIDER, self.base_url, access_token, GOCARDLESS_RATE
        )
        self._client = gocardless_pro.Client(
            access_token=access_token, base_url=self.base_url, timeout=timeout
        )
        self._client._api_client = _HeaderKeepingApiClient(self.base_url, access_token, timeout)

    def __repr__(self) -> str:  # never the token
        return f"GoCardlessConnector(base_url={self.base_url!r})"

    # -- plumbing ------------------------------------------------------------------------

    def _service(self, name: str) -> Any:
        """A service with the SDK's retries off (one attempt; ours are in ``_call``)."""
        return getattr(services, name)(self._client._api_client, 1, 0.0, False)

    def _call(self, stream: str, call: Callable[[], T]) -> T:
        return self._retry.run(
            call,
            classify,
            provider=PROVIDER,
            stream=stream,
            limiter=self._limiter,
            secrets=(self._token,),
        )

    def _observe(self, headers: Mapping[str, Any]) -> None:
        remaining, reset = remaining_budget(lower_headers(headers), self._retry.clock())
        self._limiter.observe(remaining, reset)

    def _page(self, resource: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """One list request; the raw body (records, ``meta``, ``linked``)."""
        service = self._service(endpoint(resource).service)

        def call() -> dict[str, Any]:
            page = service.list(params=dict(params))
            self._observe(page.api_response.headers)
            return page.api_response.body  # type: ignore[no-any-return]

        return self._call(resource, call)

    # -- lists ---------------------------------------------------------------------------

    def list_pages(
        self,
        resource: str,
        *,
        created_at_gte: datetime | str | None = None,
        created_at_lt: datetime | str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Iterator[Page]:
        """Every object of ``resource`` (newest first), pages of up to 500."""
        spec = endpoint(resource)
        query: dict[str, Any] = {**(params or {}), "limit": PAGE_SIZE}
        missing = [name for name in spec.required if not query.get(name)]
        if missing:
            raise ValueError(f"GoCardless {resource} are listed per {', '.join(missing)}")
        if created_at_gte is not None:
            query["created_at[gte]"] = iso(created_at_gte)
        if created_at_lt is not None:
            query["created_at[lt]"] = iso(created_at_lt)
        after: str | None = None
        while True:
            body = self._page(resource, {**query, **({"after": after} if after else {})})
            records: Page = body.get(resource) or []
            if records:
                yield records
            after = ((body.get("meta") or {}).get("cursors") or {}).get("after")
            if not after or not records:
                return

    def payout_items(self, payout_id: str) -> Iterator[Page]:
        """The items (payments, refunds, fees, their VAT) of one payout."""
        return self.list_pages("payout_items", params={"payout": payout_id})

    # -- events --------------------------------------------------------------------------

    def events_since(
        self,
        after_event_id: str | None = None,
        *,
        created_at_gte: datetime | str | None = None,
        include: str | None = None,
        resource_type: str | None = None,
        action: str | None = None,
    ) -> Iterator[EventPage]:
        """Events newer than ``after_event_id`` (or created at/after ``created_at_gte``).

        Oldest first, each page with the ``linked`` resources of ``include``; the
        last page's :attr:`EventPage.cursor` is the id to store for the next run.
        """
        if (after_event_id is None) == (created_at_gte is None):
            raise ValueError("give exactly one of after_event_id and created_at_gte")
        filters: dict[str, Any] = {}
        if include is not None:
            required = EVENT_INCLUDES.get(include)
            if required is None:
                raise ValueError(f"include must be one of {', '.join(EVENT_INCLUDES)}")
            if resource_type not in (None, required):
                raise ValueError(f"include={include} needs resource_type={required}")
            filters |= {"include": include, "resource_type": required}
        elif resource_type is not None:
            filters["resource_type"] = resource_type
        if action is not None:
            filters["action"] = action
        if after_event_id is None:
            assert created_at_gte is not None
            probe_query = {**filters, "limit": 1, "created_at[lt]": iso(created_at_gte)}
            probe_query.pop("include", None)
            older = self._page("events", probe_query).get("events") or []
            if not older:
                yield from self._events_from_start(filters, iso(created_at_gte))
                return
            after_event_id = str(older[0]["id"])
        yield from self._events_forward(filters, after_event_id)

    def newest_event(self, resource_type: str) -> dict[str, Any] | None:
        """The newest event about ``resource_type`` (``limit=1``), or ``None``.

        Noted before a full listing, as the start of that resource type's event cursor.
        """
        body = self._page("events", {"resource_type": resource_type, "limit": 1})
        events = body.get("events") or []
        return dict(events[0]) if events else None

    def _events_forward(self, filters: dict[str, Any], after_event_id: str) -> Iterator[EventPage]:
        before: str | None = after_event_id
        while before:
            body = self._page("events", {**filters, "limit": PAGE_SIZE, "before": before})
            events: Page = body.get("events") or []
            if not events:
                return
            yield EventPage(events=events[::-1], linked=dict(body.get("linked") or {}))
            before = ((body.get("meta") or {}).get("cursors") or {}).get("before")

    def _events_from_start(self, filters: dict[str, Any], since: str) -> Iterator[EventPage]:
        """No event before ``since``: read the (short) rest newest first, yield it reversed."""
        pages: list[EventPage] = []
        after: str | None = None
        while True:
            query = {**filters, "limit": PAGE_SIZE, "created_at[gte]": since}
            body = self._page("events", {**query, **({"after": after} if after else {})})
            events: Page = body.get("events") or []
            if events:
                pages.append(EventPage(events[::-1], dict(body.get("linked") or {})))
            after = ((body.get("meta") or {}).get("cursors") or {}).get("after")
            if not after or not events:
                break
        yield from reversed(pages)

    # -- writes --------------------------------------------------------------------------

    def retry_payment(
        self,
        payment_id: str,
        idempotency_key: str,
        *,
        charge_date: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> RetryOutcome:
        """Ask GoCardless to collect a failed payment again (at most 3 times, active mandate).

        A refusal (``invalid_state``: not failed, mandate inactive, retried 3 times)
        is returned with its reason; the dunning ladder moves on to the next step.
        """
        if not idempotency_key:
            raise ValueError("an idempotency key is required")
        params: dict[str, Any] = {}
        if charge_date is not None:
            params["charge_date"] = charge_date
        if metadata:
            params["metadata"] = dict(metadata)
        service = self._service("PaymentsService")

        def call() -> RetryOutcome:
            try:
                payment = service.retry(
                    payment_id, params=params, headers={"Idempotency-Key": idempotency_key}
                )
            except errors.InvalidStateError as exc:
                reason = (exc.errors or [{}])[0].get("reason") or exc.type
                message = redact(str(exc.message or ""), (self._token,)) or None
                return RetryOutcome("refused", payment_id, reason=reason, message=message)
            self._observe(payment.api_response.headers)
            body = payment.api_response.body.get("payments")
            return RetryOutcome("retried", payment_id, payment=body)

        return self._call("payments.retry", call)
