"""The sandbox's own clock, like Stripe's test clocks.

A generated shop's history ends at the end of its as-of date; the sandbox's
"now" starts there and moves on with real time, so objects the pipeline
creates (a retried payment, a paused subscription) come after the history.
Tests move it with ``POST /__sandbox/clock {"advance_seconds": 86400}``.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._base = (start or datetime.now(UTC)).astimezone(UTC)
        self._mono = time.monotonic()

    def now(self) -> datetime:
        with self._lock:
            return self._base + timedelta(seconds=time.monotonic() - self._mono)

    def epoch(self) -> int:
        return int(self.now().timestamp())

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._base += timedelta(seconds=seconds)

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("the sandbox clock takes an aware datetime")
        with self._lock:
            self._base = moment.astimezone(UTC)
            self._mono = time.monotonic()
