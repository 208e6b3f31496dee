"""A token bucket per provider account, shared by every client and thread of the process.

Providers count requests per account, not per client object: eight threads
listing Stripe time slices in parallel share one 25 req/s budget in test mode.
So limiters live in a process-wide registry keyed by provider, base URL and a
digest of the key (never the key itself), and every request of every
connector of that account takes a token from the same bucket first.

The bucket is GCRA ("virtual scheduling"): each request is given the next free
slot, slots ``1/rate`` apart after an initial burst, and sleeps until its slot
outside the lock. With ``rate=25, burst=1`` the slots are 40 ms apart whatever
the number of threads, so no second ever holds more than 25 requests; the wait
is computed under the lock, so the guarantee does not depend on scheduling.

The provider's own view wins when it speaks: GoCardless reports
``RateLimit-Remaining``/``RateLimit-Reset`` on every answer, AfterShip and
SendGrid ``X-RateLimit-*``; :meth:`RateLimiter.observe` holds every thread until
the reset once the remaining budget is spent (another process may share it),
and :meth:`RateLimiter.hold` does the same after a 429.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Published limits, in requests per second (DESIGN §4 "Rate limits").
STRIPE_TEST_RATE = 25.0
STRIPE_LIVE_RATE = 100.0
GOCARDLESS_RATE = 1000 / 60
AFTERSHIP_RATE = 10.0
SENDGRID_RATE = 10.0  # mail/send has no published limit; its 429 headers steer the rest


@dataclass
class RateLimiter:
    """A thread-safe GCRA token bucket with an injectable clock and sleep."""

    rate: float
    burst: int = 1
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _next: float = field(default=float("-inf"), init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    def reserve(self) -> float:
        """Book the next slot; the time (on ``clock``) at which the request may go."""
        with self._lock:
            now = self.clock()
            earliest = now - (self.burst - 1) * self.interval
            slot = max(self._next, earliest)
            self._next = slot + self.interval
            return max(slot, now)

    def acquire(self) -> float:
        """Wait for a slot (sleeping outside the lock); returns the slot's time."""
        slot = self.reserve()
        wait = slot - self.clock()
        if wait > 0:
            self.sleep(wait)
        return slot

    def hold(self, seconds: float) -> None:
        """No request from any thread for ``seconds`` (after a 429, until a reset)."""
        if seconds <= 0:
            return
        with self._lock:
            self._next = max(self._next, self.clock() + seconds)

    def observe(self, remaining: int | None, reset_after: float | None) -> None:
        """Follow the provider's own count: when it is spent, wait for its reset."""
        if remaining is None or reset_after is None or reset_after <= 0:
            return
        if remaining <= 0:
            self.hold(reset_after)


_REGISTRY: dict[tuple[str, str, str], RateLimiter] = {}
_REGISTRY_LOCK = threading.Lock()


def key_digest(api_key: str) -> str:
    """A stable, non-reversible name for an account's key (registry keys may be logged)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


def shared_limiter(
    provider: str, base_url: str, api_key: str, rate: float, *, burst: int = 1
) -> RateLimiter:
    """The process-wide bucket of this provider account, created on first use."""
    key = (provider, base_url.rstrip("/"), key_digest(api_key))
    with _REGISTRY_LOCK:
        limiter = _REGISTRY.get(key)
        if limiter is None:
            limiter = _REGISTRY[key] = RateLimiter(rate=rate, burst=burst)
        return limiter


def stripe_rate(api_key: str) -> float:
    """Stripe allows 25 req/s to test-mode keys and 100 to live ones."""
    return STRIPE_LIVE_RATE if "_live_" in api_key else STRIPE_TEST_RATE
