"""Pure rules of the nightly sync: which mode, which time slices, which versions, what to keep.

- **Mode.** A provider with no stored event cursor is listed in full; so is Stripe when
  its cursor's event is older than Stripe's 30-day event retention (the events API would
  no longer serve it). Example: cursor event created 2026-05-01, run on 2026-06-05 ->
  ``full``; on 2026-05-20 -> ``incremental``.
- **Slices.** A first Stripe listing walks ``created`` in monthly slices over the last 24
  months plus one open slice before them, newest (largest) first, so several threads
  fill the rate limit until the end.
- **Versions.** A listed row's ``source_version`` is the run's start (epoch seconds,
  times 10^6); an event's is ``created * 10^6 + rank * 10^5 + position``, the position
  counting events of the same second in stream order (and carried over between runs),
  so a newer event always wins and an old event delivered late never rolls a row back.
  The rank (:mod:`domain.normalise.progress`) orders one second's snapshots first:
  Stripe does not promise the order of one second's events, and a paid invoice must
  not be followed by its open self.
- **Overlap.** Stripe does not promise that an event is listed the moment it is created,
  so a night also reads again the events created in the few minutes before its cursor's.
  A re-read event gets its second and rank at position 0 (:func:`reread_versions`): never
  above the version it was first given, so what was applied changes nothing, while an
  event listed late, never seen, still wins over anything from an older second.
- **Carry forward.** Objects from events lack what lists expand (a charge event's
  balance transaction is an id: fee and net unknown; a subscription event has no card
  expiry). :func:`carry_forward` keeps the stored value of such columns where the new
  row has none, so an update never erases known fee, net or card data.

No I/O, no clock, no prefect: the flow passes ``now`` in.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

STRIPE_EVENT_RETENTION = timedelta(days=30)
SLICE_MONTHS = 24
SLICE_PARTS = 1  # ranges per month in a listing (listing_slices: why 1)
MICROS = 1_000_000
RANK_STEP = 100_000  # a second holds ten ranks of 100 000 positions
MAX_POSITION = RANK_STEP - 1


def choose_mode(
    cursor: str | None,
    watermark: datetime | None,
    now: datetime,
    retention: timedelta | None = None,
) -> str:
    """``full`` without a cursor (or with one past ``retention``), else ``incremental``."""
    if cursor is None and watermark is None:
        return "full"
    if retention is not None and (watermark is None or now - watermark >= retention):
        return "full"
    return "incremental"


def month_starts(now: datetime, months: int) -> list[datetime]:
    """The first instant (UTC) of each of the last ``months`` months, oldest first, and now."""
    year, month = now.year, now.month
    starts = []
    for back in range(months - 1, -1, -1):
        total = year * 12 + (month - 1) - back
        starts.append(datetime(total // 12, total % 12 + 1, 1, tzinfo=UTC))
    return [*starts, now]


def created_slices(now: datetime, months: int = SLICE_MONTHS) -> list[tuple[int, int | None]]:
    """``[start, end)`` epoch-second ranges covering all time, the newest one left open.

    One range from epoch 0 to the oldest month, one per month, and the current month
    without an upper bound: ``created_slices(2026-06-30T22:00Z, 2)`` -> ``[(0, 2026-05-01),
    (2026-05-01, 2026-06-01), (2026-06-01, None)]``. Left open because the provider's
    clock is not ours: an object the provider stamped a little after our ``now`` must
    still be listed (the events after the noted cursor replay it harmlessly).
    """
    bounds: list[int | None] = [int(m.timestamp()) for m in month_starts(now, months)[:-1]]
    edges = [0, *bounds, None]
    return [(a, b) for a, b in itertools.pairwise(edges) if a is not None and (b is None or b > a)]


def listing_slices(
    now: datetime, months: int = SLICE_MONTHS, parts: int = SLICE_PARTS
) -> list[tuple[int, int | None]]:
    """:func:`created_slices` newest first, each month cut into ``parts`` ranges.

    Why newest first: a slice is one sequential cursor walk, and a shop grows, so its
    last months hold the most objects (the medium shop's newest month of charges is 101
    pages, its oldest a few). Walked oldest first, the big slices started last and, at
    ~0.4 s a page, kept the listing's tail on two or three walks, 5-10 req/s of the 25
    allowed. Newest first, the longest walks start at once (longest job first). Cutting
    months (``parts`` > 1) shortens the tail further but costs one partly filled page per
    extra range (thirds: +7 % requests on the medium shop), hence 1 by default.
    Example: ``listing_slices(2026-06-30T22:00Z, 1, 2)`` -> ``[(2026-06-15T23:00, None),
    (2026-06-01, 2026-06-15T23:00), (0, 2026-06-01)]`` (as epoch seconds).
    """
    out: list[tuple[int, int | None]] = []
    for a, b in created_slices(now, months):
        if a == 0:  # everything before the months: one range, usually near empty
            out.append((a, b))
            continue
        end = int(now.timestamp()) if b is None else b
        bounds = [a + (end - a) * k // parts for k in range(parts + 1)]
        cuts: list[tuple[int, int | None]] = list(itertools.pairwise(bounds))
        if b is None:  # the newest month stays open (see created_slices)
            cuts[-1] = (cuts[-1][0], None)
        out.extend(cut for cut in cuts if cut[1] is None or cut[1] > cut[0])
    return out[::-1]


def list_version(started: datetime) -> int:
    """The ``source_version`` of rows listed during a run that started at ``started``.

    Whole seconds: an event of the same second (``created * 10^6 + position``) then ties
    or wins, as it should, since the listing may have read the object before it.
    """
    return int(started.timestamp()) * MICROS


@dataclass(frozen=True)
class EventClock:
    """Where the event versions stand: the last event's second and its position in it."""

    second: int = 0
    position: int = -1

    def to_json(self) -> dict[str, int]:
        return {"second": self.second, "position": self.position}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> EventClock:
        if not data:
            return cls()
        return cls(int(data.get("second", 0)), int(data.get("position", -1)))


def event_versions(
    seconds: Sequence[int], clock: EventClock, ranks: Sequence[int] | None = None
) -> tuple[list[int], EventClock]:
    """One version per event (oldest first), continuing ``clock``; and the new clock.

    Example: clock (100, 2) and events at 100, 100, 101 -> versions 100_000003,
    100_000004, 101_000000. With ``ranks`` 3, 1, 0 (a paid invoice, then its open
    self): 100_300003, 100_100004, 101_000000 -- the paid snapshot stays the newest.
    """
    versions = []
    second, position = clock.second, clock.position
    for n, created in enumerate(seconds):
        if created == second:
            position = min(position + 1, MAX_POSITION)
        else:
            second, position = created, 0
        rank = ranks[n] if ranks is not None else 0
        versions.append(created * MICROS + rank * RANK_STEP + position)
    return versions, EventClock(second, position)


def reread_versions(seconds: Sequence[int], ranks: Sequence[int]) -> list[int]:
    """Versions of events read again from before the cursor: position 0 in their second.

    Example: an event at second 100, rank 1, first loaded as 100_100003, re-read as
    100_100000: older than the row it wrote, so refused; one listed late and never
    loaded, at 100 with rank 0, gets 100_000000 and wins over a row from second 99.
    """
    return [
        created * MICROS + rank * RANK_STEP for created, rank in zip(seconds, ranks, strict=True)
    ]


def overlap_start(watermark: datetime, overlap: timedelta) -> datetime:
    """The first instant the overlap reads again: ``overlap`` before the cursor's event."""
    return watermark - max(overlap, timedelta(0))


def carry_forward(
    new_rows: pd.DataFrame,
    stored_rows: pd.DataFrame,
    columns: Iterable[str],
    *,
    key: str | Sequence[str],
) -> pd.DataFrame:
    """``new_rows`` with each missing value of ``columns`` taken from the stored row.

    Example: new charge row ``fee=<NA>`` (from an event), stored ``fee=100`` -> 100;
    new ``fee=120`` stays 120; no stored row -> stays missing. Returns a new frame.
    """
    wanted = [c for c in columns if c in new_rows.columns and c in stored_rows.columns]
    if new_rows.empty or stored_rows.empty or not wanted:
        return new_rows
    keys = [key] if isinstance(key, str) else list(key)
    stored = stored_rows.drop_duplicates(keys, keep="last").set_index(keys)
    index = pd.MultiIndex.from_frame(new_rows[keys]) if len(keys) > 1 else new_rows[keys[0]]
    out = new_rows.copy()
    for column in wanted:
        known = stored[column].reindex(index)
        known.index = out.index
        missing = out[column].isna()
        if missing.any():
            filled = out[column].astype(object).where(~missing, known.astype(object))
            out[column] = _like(filled, new_rows[column])
    return out


def _like(values: pd.Series, template: pd.Series) -> pd.Series:
    """``values`` back in ``template``'s dtype (pandas' nullable types keep missing as NA)."""
    try:
        return values.astype(template.dtype)
    except (TypeError, ValueError):
        return values


@dataclass
class Tally:
    """What one stream (one table of one provider) did in a run.

    ``received``/``received_amount``: distinct objects the provider returned and the sum
    of their amounts (the control total's provider side).
    """

    pulled: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    quarantined: int = 0
    received: int = 0
    received_amount: int = 0

    def add(self, other: Tally) -> Tally:
        return Tally(*(a + b for a, b in zip(_values(self), _values(other), strict=True)))


def _values(tally: Tally) -> tuple[int, ...]:
    return (
        tally.pulled,
        tally.inserted,
        tally.updated,
        tally.unchanged,
        tally.stale,
        tally.quarantined,
        tally.received,
        tally.received_amount,
    )


def merge_tallies(parts: Iterable[Mapping[str, Tally]]) -> dict[str, Tally]:
    """Sum per-stream tallies from several tasks (``{"stripe/payments": Tally}``)."""
    out: dict[str, Tally] = {}
    for part in parts:
        for name, tally in part.items():
            out[name] = out.get(name, Tally()).add(tally)
    return dict(sorted(out.items()))


@dataclass
class SyncReport:
    """What ``sync`` returns and records: per provider its mode and cursors, per stream its
    counts, and the control totals (provider side vs warehouse side)."""

    run_id: str
    as_of: str
    modes: dict[str, str]
    streams: dict[str, Tally]
    cursors: dict[str, dict[str, Any]]
    control_totals: dict[str, dict[str, Any]]
    seconds: float = 0.0

    @property
    def written(self) -> int:
        return sum(t.inserted + t.updated for t in self.streams.values())
