"""What every part of the generator shares: the time frame, the writer, the tallies.

Times are epoch seconds (UTC). The history covers ~18 months (548 days) up to
the *clock start*: the end of the as-of date in Europe/Paris (as_of 2026-06-30
-> 2026-06-30T22:00:00Z), where the sandbox's own clock then starts. Nothing
generated is created at or after it; what lies after it (a trial's end, the
next retry, an upcoming charge date) is a future the pipeline must plan for.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.store import BulkWriter

PARIS = ZoneInfo("Europe/Paris")
DAY = 86_400
HISTORY_DAYS = 548
STRIPE_EVENT_DAYS = 30  # Stripe lists events 30 days back
GOCARDLESS_EVENT_DAYS = 90  # the horizon the generator emits GoCardless events for


def clock_start(as_of: date) -> datetime:
    """The end of ``as_of`` in Paris, as an aware UTC datetime."""
    return datetime.combine(as_of + timedelta(days=1), time(0), PARIS).astimezone(UTC)


def iso(ts: int) -> str:
    """GoCardless time: ``2026-05-01T10:00:00.000Z``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def iso_paris(ts: int) -> str:
    """AfterShip time: ISO 8601 with the Paris offset."""
    return datetime.fromtimestamp(ts, PARIS).isoformat(timespec="seconds")


def day_of(ts: int) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


def day_start(d: date) -> int:
    """Midnight UTC of ``d`` (Stripe's ``available_on`` / ``arrival_date``)."""
    return int(datetime.combine(d, time(0), UTC).timestamp())


@dataclass
class Context:
    """Per-generation state. Small: tallies and per-day sums, never the objects."""

    seed: int
    as_of: date
    writer: BulkWriter
    start: int = 0
    end: int = 0
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    anomalies: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    notable: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.end = int(clock_start(self.as_of).timestamp())
        self.start = self.end - HISTORY_DAYS * DAY

    @property
    def stripe_events_from(self) -> int:
        return self.end - STRIPE_EVENT_DAYS * DAY

    @property
    def gocardless_events_from(self) -> int:
        return self.end - GOCARDLESS_EVENT_DAYS * DAY

    def emit(
        self, provider: str, resource: str, obj: dict[str, Any], extra: dict[str, Any] | None = None
    ) -> None:
        self.writer.add(provider, resource, obj, extra=extra)
        self.counts[(provider, resource)] += 1

    def anomaly(self, kind: str, **ids: str) -> None:
        self.anomalies.setdefault(kind, []).append(ids)
