"""Backoff on 429, 5xx, timeouts and dropped connections, honouring the provider's word.

The SDKs do not do this for us (``reference/provider-apis.md``): Stripe does not
retry a 429 without ``Stripe-Should-Retry`` and ``StripeClient`` retries nothing
by default, GoCardless never retries a 429, AfterShip waits 3 s between 5xx
retries, SendGrid never retries. So every connector turns the SDKs' own retries
off and runs each request through :meth:`RetryPolicy.run`: one retry layer, one
place that counts requests against the rate limit.

The wait before attempt ``n + 1`` is what the provider asked for when it said
(``Retry-After`` in seconds or as an HTTP date; ``RateLimit-Reset`` /
``X-RateLimit-Reset`` / ``as-ratelimit-reset`` as seconds to wait, an epoch
time or an HTTP date), capped at ``max_wait``; otherwise exponential backoff,
``base * 2**(n-1)`` capped at ``max_backoff``, with "equal jitter" (between half
and all of it: threads that failed together do not retry together, and none
retries at once). Example with the defaults: a 503 then another: sleeps of
``U(0.25, 0.5)`` then ``U(0.5, 1.0)`` seconds; a 429 with ``Retry-After: 3``: a
sleep of exactly 3 s.

``sleep``, ``random`` and ``clock`` (wall time, to read absolute reset times)
are injected, so tests assert the waits without waiting.
"""

from __future__ import annotations

import logging
import random as _random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import TypeVar

from connectors.errors import ConnectorError
from connectors.ratelimit import RateLimiter

T = TypeVar("T")
log = logging.getLogger("connectors.retry")

# Header names, lower case, in order of preference.
WAIT_HEADERS = ("retry-after", "ratelimit-reset", "x-ratelimit-reset", "as-ratelimit-reset")
_EPOCH_THRESHOLD = 1_000_000_000  # a number above this is an epoch time, not a delay


@dataclass(frozen=True)
class Failure:
    """How a connector classified one failed attempt.

    ``retryable``: a 429, a 5xx, a timeout or a dropped connection. ``headers``:
    the answer's headers, lower-cased, when there was an answer.
    """

    message: str
    retryable: bool
    status: int | None = None
    code: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def lower_headers(headers: Mapping[str, object] | None) -> dict[str, str]:
    """Headers as a plain ``{lower name: value}`` (SDKs give case-insensitive or list maps)."""
    out: dict[str, str] = {}
    for name, value in (headers or {}).items():
        if isinstance(value, list | tuple):
            value = value[0] if value else ""
        out[str(name).lower()] = str(value)
    return out


def header_wait(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds the provider asked us to wait, or ``None`` when it did not say (or said 0)."""
    for name in WAIT_HEADERS:
        raw = headers.get(name)
        if raw is None or not raw.strip():
            continue
        wait = _parse_wait(raw.strip(), now)
        if wait is not None and wait > 0:
            return wait
    return None


def _parse_wait(raw: str, now: float) -> float | None:
    try:
        number = float(raw)
    except ValueError:
        try:
            moment = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp() - now
    return number - now if number > _EPOCH_THRESHOLD else number


def remaining_budget(headers: Mapping[str, str], now: float) -> tuple[int | None, float | None]:
    """``(remaining, seconds to reset)`` from ``RateLimit-*`` or ``X-RateLimit-*`` headers."""
    for prefix in ("ratelimit-", "x-ratelimit-", "as-ratelimit-"):
        raw = headers.get(prefix + "remaining")
        if raw is None:
            continue
        try:
            remaining = int(float(raw))
        except ValueError:
            return None, None
        reset_raw = headers.get(prefix + "reset")
        reset = _parse_wait(reset_raw.strip(), now) if reset_raw else None
        return remaining, reset
    return None, None


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, how long between them, and the clocks to do it with."""

    max_attempts: int = 6
    base_backoff: float = 0.5
    max_backoff: float = 30.0
    max_wait: float = 120.0
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = _random.random
    clock: Callable[[], float] = time.time

    def wait(self, attempt: int, failure: Failure) -> float:
        """Seconds to sleep after failed attempt number ``attempt`` (1-based)."""
        asked = header_wait(failure.headers, self.clock())
        if asked is not None:
            return min(asked, self.max_wait)
        ceiling = min(self.max_backoff, self.base_backoff * 2 ** (attempt - 1))
        return ceiling * (0.5 + 0.5 * self.random())

    def run(
        self,
        call: Callable[[], T],
        classify: Callable[[Exception], Failure | None],
        *,
        provider: str,
        stream: str,
        limiter: RateLimiter | None = None,
        secrets: tuple[str, ...] = (),
    ) -> T:
        """``call()`` until it succeeds, a failure is final, or the attempts run out.

        ``classify`` turns an SDK exception into a :class:`Failure` (``None``: not a
        provider failure, re-raised as is). A final failure raises
        :class:`ConnectorError`; the SDK's exception is not chained, as its text may
        hold what :func:`~connectors.errors.redact` removes.
        """
        for attempt in range(1, self.max_attempts + 1):
            if limiter is not None:
                limiter.acquire()
            try:
                return call()
            except ConnectorError:
                raise
            except Exception as exc:
                failure = classify(exc)
                if failure is None:
                    raise
            if not failure.retryable or attempt == self.max_attempts:
                raise ConnectorError(
                    provider,
                    stream,
                    failure.message,
                    status=failure.status,
                    code=failure.code,
                    retryable=failure.retryable,
                    secrets=secrets,
                ) from None
            delay = self.wait(attempt, failure)
            if limiter is not None and failure.status == 429:
                limiter.hold(delay)  # every thread of this account backs off, not only us
            log.warning(
                "%s %s: %s, attempt %d/%d, retrying in %.2f s",
                provider,
                stream,
                failure.status or "no answer",
                attempt,
                self.max_attempts,
                delay,
            )
            self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover
