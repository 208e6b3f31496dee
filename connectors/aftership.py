"""AfterShip trackings changed since a time, over the ``tracking`` SDK (``aftership-tracking-sdk``).

AfterShip is the one tracking API with an "updated since" list, so the nightly
pull is ``GET /tracking/2026-07/trackings?updated_at_min=…&limit=200`` walked
by ``cursor`` until ``has_next_page`` is false. Example: 450 trackings updated
since yesterday -> 3 requests (200, 200, 50).

The SDK retries 5xx itself with a 3 s base wait and never a 429; it is built
with ``max_retry=0`` and :class:`~connectors.retry.RetryPolicy` retries instead,
waiting for ``X-RateLimit-Reset`` on a 429. ``domain`` is passed explicitly: the
SDK would otherwise read ``AFTERSHIP_TRACKING_SDK_DOMAIN`` from the environment
itself, behind the settings object's back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import tracking
from tracking import exceptions

from connectors.ratelimit import AFTERSHIP_RATE, RateLimiter, shared_limiter
from connectors.retry import Failure, RetryPolicy, lower_headers, remaining_budget

PROVIDER = "aftership"
PAGE_SIZE = 200  # AfterShip's maximum ``limit``
DEFAULT_TIMEOUT_MS = 30_000
Page = list[dict[str, Any]]
_RETRY_CLASSES = (exceptions.TooManyRequestsError, exceptions.InternalError)


def iso(moment: datetime | str) -> str:
    """AfterShip's time format: ``2026-05-01T09:00:00+00:00``."""
    if isinstance(moment, str):
        return moment
    if moment.tzinfo is None:
        raise ValueError("a naive datetime is ambiguous; pass an aware one")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def classify(exc: Exception) -> Failure | None:
    """A :class:`Failure` for an AfterShip SDK (or ``httpx``) exception, else ``None``."""
    if isinstance(exc, exceptions.TimedOutError | httpx.TransportError):
        return Failure(message="connection failed or timed out", retryable=True)
    if not isinstance(exc, exceptions.ApiException):
        return None
    status = exc.status_code
    retryable = isinstance(exc, _RETRY_CLASSES) or (status is not None and status >= 500)
    code = exc.meta_code if exc.meta_code is not None else exc.code
    return Failure(
        message=str(exc.message or type(exc).__name__),
        retryable=retryable,
        status=status,
        code=str(getattr(code, "value", code)) if code is not None else None,
        headers=lower_headers(exc.response_header if isinstance(exc.response_header, dict) else {}),
    )


class AfterShipConnector:
    """One AfterShip account's tracking API."""

    provider = PROVIDER

    def __init__(
        self,
        api_key: str,
        domain: str = "https://api.aftership.com",
        *,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
    ) -> None:
        if not api_key:
            raise ValueError("an AfterShip API key is required")
        self._api_key = api_key
        self.domain = domain.rstrip("/")
        self._retry = retry or RetryPolicy()
        self._limiter = limiter or shared_limiter(PROVIDER, self.domain, api_key, AFTERSHIP_RATE)
        config = tracking.Configuration(
            api_key=api_key, domain=self.domain, max_retry=0, timeout=timeout_ms
        )
        self._client = tracking.Client(config)

    def __repr__(self) -> str:  # never the key
        return f"AfterShipConnector(domain={self.domain!r})"

    def _call(self, stream: str, call: Callable[[], Any]) -> Any:
        return self._retry.run(
            call,
            classify,
            provider=PROVIDER,
            stream=stream,
            limiter=self._limiter,
            secrets=(self._api_key,),
        )

    def trackings_updated_since(
        self,
        since: datetime | str,
        *,
        until: datetime | str | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Iterator[Page]:
        """Every tracking updated at or after ``since`` (and at or before ``until``)."""
        query: dict[str, Any] = {**(params or {}), "limit": PAGE_SIZE, "updated_at_min": iso(since)}
        if until is not None:
            query["updated_at_max"] = iso(until)
        cursor: str | None = None
        while True:
            kwargs = {**query, **({"cursor": cursor} if cursor else {})}
            response = self._call("trackings", lambda kw=kwargs: self._fetch(kw))
            data = response.data
            trackings = [t.model_dump(by_alias=True, mode="json") for t in data.trackings or []]
            if trackings:
                yield trackings
            pagination = data.pagination
            if pagination is None or not pagination.has_next_page or not pagination.next_cursor:
                return
            cursor = pagination.next_cursor

    def _fetch(self, kwargs: dict[str, Any]) -> Any:
        response = self._client.tracking.get_trackings(**kwargs)
        headers = lower_headers(response.response_header)
        self._limiter.observe(*remaining_budget(headers, self._retry.clock()))
        if response.data is None:
            raise exceptions.UnknownError(
                code=exceptions.ErrorCodeEnum.UNKNOWN_ERROR,
                message="AfterShip answered without data",
                status_code=200,
            )
        return response
