"""The shared token bucket keeps any number of threads under the provider's rate."""

from __future__ import annotations

import threading

from connectors.ratelimit import (
    STRIPE_LIVE_RATE,
    STRIPE_TEST_RATE,
    RateLimiter,
    shared_limiter,
    stripe_rate,
)
from tests.connectors.conftest import FakeTime


def _most_in_one_second(slots: list[float]) -> int:
    """The largest number of slots inside any half-open one-second window."""
    slots = sorted(slots)
    best, start = 0, 0
    for end, slot in enumerate(slots):
        while slot - slots[start] >= 1.0 - 1e-9:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_eight_threads_stay_under_25_requests_a_second_on_a_fake_clock() -> None:
    clock = FakeTime(1000.0)
    bucket = RateLimiter(rate=25, clock=clock.time, sleep=clock.sleep)
    slots: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            slot = bucket.acquire()
            with lock:
                slots.append(slot)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(slots) == 400
    assert _most_in_one_second(slots) <= 25
    # ... and the bucket does not leave the budget unused: 400 slots in 16 s.
    assert max(slots) - min(slots) <= 400 / 25


def test_burst_lets_the_first_requests_go_at_once_then_paces() -> None:
    clock = FakeTime(0.0)
    bucket = RateLimiter(rate=10, burst=3, clock=clock.time, sleep=clock.sleep)
    slots = [bucket.acquire() for _ in range(5)]
    assert slots[:3] == [0.0, 0.0, 0.0]
    assert slots[3:] == [0.1, 0.2]


def test_hold_after_a_429_delays_every_thread() -> None:
    clock = FakeTime(0.0)
    bucket = RateLimiter(rate=100, clock=clock.time, sleep=clock.sleep)
    bucket.acquire()
    bucket.hold(2.5)
    assert bucket.acquire() == 2.5


def test_observe_waits_for_the_reset_once_the_budget_is_spent() -> None:
    clock = FakeTime(0.0)
    bucket = RateLimiter(rate=1000 / 60, clock=clock.time, sleep=clock.sleep)
    bucket.observe(remaining=12, reset_after=40)
    assert bucket.acquire() == 0.0
    bucket.observe(remaining=0, reset_after=40)
    assert bucket.acquire() >= 40


def test_one_bucket_per_account_shared_by_every_client() -> None:
    a = shared_limiter("stripe", "http://x/", "sk_test_A", 25)
    assert shared_limiter("stripe", "http://x", "sk_test_A", 25) is a
    assert shared_limiter("stripe", "http://x", "sk_test_B", 25) is not a
    assert shared_limiter("gocardless", "http://x", "sk_test_A", 25) is not a
    assert "sk_test_A" not in repr(a)


def test_stripe_rate_depends_on_the_key_mode() -> None:
    assert stripe_rate("sk_test_123") == STRIPE_TEST_RATE == 25
    assert stripe_rate("rk_live_123") == STRIPE_LIVE_RATE == 100
