"""Injected faults and per-provider rate limits.

Tests and benchmarks drive these through ``POST /__sandbox/faults``:

- ``{"provider": "stripe", "status": 429, "count": 5}``: the next 5 Stripe
  requests get the provider's own 429 (with its own headers);
- ``{"provider": "gocardless", "status": 503, "probability": 0.1}``: about one
  request in ten fails, drawn from a seeded generator so a run is repeatable;
- ``{"provider": "stripe", "latency_ms": 100}``: every request waits 100 ms;
- ``{"provider": "aftership", "drop": 2}``: the next 2 connections are closed
  without an answer;
- ``{"provider": "sendgrid", "lose_answer": 1}``: the next request is carried out (a mail
  accepted, a payment retried) and then its connection is closed before the answer: the
  client cannot tell whether it happened (a timeout after the request left);
- ``{"provider": "stripe", "rate_limit": 25}``: more than 25 requests in any
  second are answered 429 exactly as the provider does.

``path`` (a prefix) narrows a fault to some endpoints. ``DELETE /__sandbox/faults``
clears everything.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

PROVIDERS = ("stripe", "gocardless", "aftership", "sendgrid")


@dataclass
class Fault:
    provider: str
    status: int | None = None
    count: int | None = None  # None: until cleared
    probability: float | None = None
    latency_ms: int = 0
    drop: bool = False
    lose_answer: bool = False
    path: str = ""

    def matches(self, provider: str, path: str) -> bool:
        return self.provider in (provider, "*") and path.startswith(self.path)


@dataclass
class Decision:
    """What the fault layer decided for one request."""

    latency_s: float = 0.0
    status: int | None = None
    drop: bool = False
    lose_answer: bool = False
    retry_after_s: float | None = None


@dataclass
class TokenBucket:
    """At most ``rate`` requests in any one second, refilled continuously."""

    rate: float
    tokens: float = field(init=False)
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.rate

    def take(self) -> float | None:
        """Consume a token; if none is left, the seconds until one will be."""
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.rate


class FaultPlan:
    """The faults in force, consulted once per provider request."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._buckets: dict[str, TokenBucket] = {}
        self._random = random.Random(seed)

    def add(self, spec: dict[str, Any]) -> None:
        provider = str(spec.get("provider", "*"))
        if provider not in (*PROVIDERS, "*"):
            raise ValueError(f"unknown provider {provider!r}")
        with self._lock:
            if "rate_limit" in spec:
                rate = spec["rate_limit"]
                targets = PROVIDERS if provider == "*" else (provider,)
                for name in targets:
                    if rate is None:
                        self._buckets.pop(name, None)
                    else:
                        self._buckets[name] = TokenBucket(float(rate))
            if "lose_answer" in spec:
                self._faults.append(
                    Fault(
                        provider=provider,
                        count=int(spec["lose_answer"]),
                        lose_answer=True,
                        path=str(spec.get("path", "")),
                    )
                )
            if any(k in spec for k in ("status", "latency_ms", "drop")):
                drop = spec.get("drop")
                self._faults.append(
                    Fault(
                        provider=provider,
                        status=int(spec["status"]) if "status" in spec else None,
                        count=(
                            int(drop)
                            if isinstance(drop, int) and not isinstance(drop, bool)
                            else spec.get("count", 1 if "status" in spec or drop else None)
                        ),
                        probability=spec.get("probability"),
                        latency_ms=int(spec.get("latency_ms", 0)),
                        drop=bool(drop),
                        path=str(spec.get("path", "")),
                    )
                )

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._buckets.clear()

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "faults": [vars(f).copy() for f in self._faults],
                "rate_limits": {name: b.rate for name, b in self._buckets.items()},
            }

    def decide(self, provider: str, path: str) -> Decision:
        decision = Decision()
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(provider, path):
                    continue
                decision.latency_s += fault.latency_ms / 1000
                if fault.status is None and not fault.drop and not fault.lose_answer:
                    continue
                if decision.status is not None or decision.drop or decision.lose_answer:
                    continue
                if fault.probability is not None and self._random.random() >= fault.probability:
                    continue
                decision.status = fault.status
                decision.drop = fault.drop
                decision.lose_answer = fault.lose_answer
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
            bucket = self._buckets.get(provider)
            if bucket is not None and decision.status is None and not decision.drop:
                # (a lost answer still counts against the rate limit: the request happened)
                wait = bucket.take()
                if wait is not None:
                    decision.status = 429
                    decision.retry_after_s = wait
        return decision
