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
  second are answered 429 exactly as the provider does;
- ``{"provider": "sendgrid", "stall_after_ms": 60000, "count": 1, "after": 2}``: let 2
  matching requests through, then carry out the next one (a mail accepted, a payment
  retried, a page read) and hold its answer for up to 60 s. ``GET /__sandbox/faults``
  lists the requests being held under ``stalled``, so a crash test can wait until the
  pipeline is exactly there (the provider acted, the pipeline has not heard) and kill
  it; ``DELETE /__sandbox/faults`` releases every held answer at once.

``path`` (a prefix) narrows a fault to some endpoints, and a stall's ``method``
(``"POST"``) to the writes among them. ``DELETE /__sandbox/faults`` clears everything.
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
    stall_after_ms: int = 0
    after: int = 0  # matching requests let through before the fault starts to bite
    path: str = ""
    method: str = ""  # e.g. "POST": a write, not the reads of the same path

    def matches(self, provider: str, path: str, method: str = "") -> bool:
        return (
            self.provider in (provider, "*")
            and path.startswith(self.path)
            and self.method in ("", method.upper())
        )


@dataclass
class Decision:
    """What the fault layer decided for one request."""

    latency_s: float = 0.0
    status: int | None = None
    drop: bool = False
    lose_answer: bool = False
    stall_after_s: float = 0.0
    retry_after_s: float | None = None


@dataclass
class Held:
    """A request carried out whose answer the sandbox is holding back."""

    provider: str
    method: str
    path: str
    released: threading.Event = field(default_factory=threading.Event)


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
        self._held: list[Held] = []

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
            if "stall_after_ms" in spec:
                self._faults.append(
                    Fault(
                        provider=provider,
                        count=None if spec.get("count", 1) is None else int(spec.get("count", 1)),
                        stall_after_ms=int(spec["stall_after_ms"]),
                        after=int(spec.get("after", 0)),
                        path=str(spec.get("path", "")),
                        method=str(spec.get("method", "")).upper(),
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
        """Remove every fault and rate limit, and release every held answer."""
        with self._lock:
            self._faults.clear()
            self._buckets.clear()
            for held in self._held:
                held.released.set()

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "faults": [vars(f).copy() for f in self._faults],
                "rate_limits": {name: b.rate for name, b in self._buckets.items()},
                "stalled": [
                    {"provider": h.provider, "method": h.method, "path": h.path} for h in self._held
                ],
            }

    def stall(self, provider: str, method: str, path: str, seconds: float) -> None:
        """Hold the current request's answer for ``seconds`` or until :meth:`clear`."""
        held = Held(provider, method, path)
        with self._lock:
            self._held.append(held)
        try:
            held.released.wait(seconds)
        finally:
            with self._lock:
                self._held.remove(held)

    def decide(self, provider: str, path: str, method: str = "") -> Decision:
        decision = Decision()
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(provider, path, method):
                    continue
                decision.latency_s += fault.latency_ms / 1000
                if fault.stall_after_ms:
                    self._stall(decision, fault)
                    continue
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

    def _stall(self, decision: Decision, fault: Fault) -> None:
        """Count ``fault`` down for this request (caller holds the lock)."""
        if decision.stall_after_s:
            return
        if fault.after > 0:
            fault.after -= 1
            return
        decision.stall_after_s = fault.stall_after_ms / 1000
        if fault.count is not None:
            fault.count -= 1
            if fault.count <= 0:
                self._faults.remove(fault)
