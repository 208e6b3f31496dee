"""Connector test helpers: a fake clock for sleeps and buckets, the sandbox's request log."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests

from connectors.ratelimit import RateLimiter
from connectors.retry import RetryPolicy
from sandbox.server import RunningSandbox
from tests.conftest import SANDBOX_NOW


class FakeTime:
    """A clock that moves only when someone sleeps on it; every sleep is recorded."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(0.0, seconds)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime(SANDBOX_NOW.timestamp())


@pytest.fixture
def retry(fake_time: FakeTime) -> RetryPolicy:
    """Retries that sleep on the fake clock (jitter fixed at one half)."""
    return RetryPolicy(sleep=fake_time.sleep, random=lambda: 0.5, clock=fake_time.time)


@pytest.fixture
def limiter(fake_time: FakeTime) -> RateLimiter:
    """A bucket on the same fake clock, so a held 429 costs no wall time."""
    return RateLimiter(rate=25, clock=fake_time.time, sleep=fake_time.sleep)


def logged(sandbox: RunningSandbox, provider: str) -> list[dict[str, Any]]:
    """The sandbox's request log for one provider, each query parsed into a dict."""
    rows = requests.get(
        sandbox.url + "/__sandbox/requests", params={"provider": provider}, timeout=10
    ).json()
    for row in rows:
        row["params"] = dict(parse_qsl(row["query"]))
    return list(rows)


def fault(sandbox: RunningSandbox, **spec: Any) -> None:
    response = requests.post(sandbox.url + "/__sandbox/faults", json=spec, timeout=10)
    response.raise_for_status()


def set_clock(sandbox: RunningSandbox, iso: str) -> None:
    requests.post(sandbox.url + "/__sandbox/clock", json={"now": iso}, timeout=10)
