"""Generate a whole shop into a store, one customer at a time.

Each customer is drawn from its own RNG, seeded by the string
``"echeancier/{seed}/{index}"``, and gets its own id factory, so a customer's
objects never depend on the others'; only per-day payout sums are shared.
Objects go straight into the store's single bulk writer and are forgotten:
memory stays flat whatever the size.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from itertools import islice
from multiprocessing.pool import AsyncResult
from typing import Any, Literal

from sandbox import schema  # noqa: F401  (registers every resource's index)
from sandbox.generate.context import Context, clock_start
from sandbox.generate.gocardless_shop import GoCardlessCustomer
from sandbox.generate.ids import Ids
from sandbox.generate.ledger import Payouts
from sandbox.generate.orders import STRIPE_ONLY, anomaly_for
from sandbox.generate.people import make_person
from sandbox.generate.stripe_shop import StripeCustomer
from sandbox.generate.vat import tax_rates
from sandbox.store import REGISTRY, BulkWriter, Store, make_row

GENERATOR_VERSION = "1"
Size = Literal["small", "medium", "large"]
SIZES: dict[str, int] = {"small": 300, "medium": 20_000, "large": 200_000}


@dataclass
class Summary:
    """What was generated: counts, the deliberate anomalies (with ids), the clock start."""

    size: str
    seed: int
    as_of: date
    clock_start: datetime
    customers: int
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    anomalies: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    notable: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    generator_version: str = GENERATOR_VERSION

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["as_of"] = self.as_of.isoformat()
        out["clock_start"] = self.clock_start.isoformat()
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        data = dict(data)
        data["as_of"] = date.fromisoformat(data["as_of"])
        data["clock_start"] = datetime.fromisoformat(data["clock_start"]).astimezone(UTC)
        return cls(**data)


CHUNK = 200  # customers per unit of work


@dataclass
class _Chunk:
    """What a worker hands back: stored rows per table, tallies and per-day payout sums."""

    rows: dict[tuple[str, str], list[tuple[Any, ...]]]
    counts: Counter[tuple[str, str]]
    anomalies: dict[str, list[dict[str, str]]]
    notable: Counter[str]
    stripe_days: dict[date, int]
    gc_days: dict[date, list[int]]


class _RowWriter:
    """Stands in for the bulk writer in a worker: builds the rows, keeps them in order."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], list[tuple[Any, ...]]] = {}

    def add(self, provider: str, resource: str, obj: Any, *, extra: Any = None) -> None:
        row = make_row(provider, resource, obj, extra)
        self.rows.setdefault((provider, resource), []).append(row)


def _run_chunk(job: tuple[int, date, int, int]) -> _Chunk:
    seed, as_of, first, stop = job
    writer = _RowWriter()
    ctx = Context(seed, as_of, writer)  # type: ignore[arg-type]
    payouts = Payouts(ctx)
    for index in range(first, stop):
        _customer(ctx, payouts, seed, index)
    return _Chunk(
        writer.rows, ctx.counts, ctx.anomalies, ctx.notable, payouts.stripe_days, payouts.gc_days
    )


def generate(
    store: Store,
    size: Size,
    seed: int,
    as_of: date,
    *,
    customers: int | None = None,
    workers: int | None = None,
) -> Summary:
    """Write a deterministic shop of ``size`` into ``store``; ``customers`` overrides the size.

    Customers are generated in chunks of 200, by ``workers`` processes (default: one per
    core, none for small shops); the chunks are written in order, so the store is the
    same whatever the number of workers.
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}: choose one of {', '.join(SIZES)}")
    count = customers if customers is not None else SIZES[size]
    if workers is None:
        workers = 1 if count <= 2 * CHUNK else min(4, os.cpu_count() or 1)
    jobs = [(seed, as_of, a, min(a + CHUNK, count)) for a in range(0, count, CHUNK)]
    started = time.perf_counter()
    with store.bulk(fresh=True) as writer:
        ctx = Context(seed, as_of, writer)
        payouts = Payouts(ctx)
        for rate in tax_rates(seed, ctx.start):
            ctx.emit("stripe", "tax_rates", rate)
        item_numbers: Counter[str] = Counter()
        for chunk in _chunks(jobs, workers):
            _absorb(ctx, payouts, writer, chunk, item_numbers)
        payouts.finish()
    counts: dict[str, dict[str, int]] = {}
    for (provider, resource), n in sorted(ctx.counts.items()):
        counts.setdefault(provider, {})[resource] = n
    return Summary(
        size=size,
        seed=seed,
        as_of=as_of,
        clock_start=clock_start(as_of),
        customers=count,
        counts=counts,
        anomalies={k: ctx.anomalies[k] for k in sorted(ctx.anomalies)},
        notable=dict(sorted(ctx.notable.items())),
        seconds=round(time.perf_counter() - started, 2),
    )


def _chunks(jobs: list[tuple[int, date, int, int]], workers: int) -> Iterator[_Chunk]:
    if workers <= 1:
        yield from map(_run_chunk, jobs)
        return
    # At most two chunks per worker in flight: results wait for the writer in memory, and
    # the workers outrun it, so an unbounded ``imap`` would hold the shop in memory.
    pending: deque[AsyncResult[_Chunk]] = deque()
    queue = iter(jobs)
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for job in islice(queue, 2 * workers):
            pending.append(pool.apply_async(_run_chunk, (job,)))
        while pending:
            result = pending.popleft().get()
            job = next(queue, None)
            if job is not None:
                pending.append(pool.apply_async(_run_chunk, (job,)))
            yield result


def _absorb(
    ctx: Context, payouts: Payouts, writer: BulkWriter, chunk: _Chunk, item_numbers: Counter[str]
) -> None:
    """Write one chunk's rows; number GoCardless payout items across the whole shop."""
    for (provider, resource), rows in chunk.rows.items():
        if (provider, resource) == ("gocardless", "payout_items"):
            renumbered = []
            at = 3 + list(REGISTRY[(provider, resource)].keys).index("payout")
            for row in rows:
                payout = row[at]
                renumbered.append((f"{payout}:{item_numbers[payout]}", *row[1:]))
                item_numbers[payout] += 1
            rows = renumbered
        writer.add_rows(provider, resource, rows)
    ctx.counts.update(chunk.counts)
    ctx.notable.update(chunk.notable)
    for kind, found in chunk.anomalies.items():
        ctx.anomalies.setdefault(kind, []).extend(found)
    for day, net in chunk.stripe_days.items():
        payouts.stripe_days[day] = payouts.stripe_days.get(day, 0) + net
    for day, (amount, fees, n) in chunk.gc_days.items():
        sums = payouts.gc_days.setdefault(day, [0, 0, 0])
        sums[0] += amount
        sums[1] += fees
        sums[2] += n


def _customer(ctx: Context, payouts: Payouts, seed: int, index: int) -> None:
    rng = random.Random(f"echeancier/{seed}/{index}")
    anomaly = anomaly_for(index)
    person = make_person(index, rng, provider="stripe" if anomaly in STRIPE_ONLY else None)
    ids = Ids(seed, f"c{index}")
    if person.provider == "stripe":
        StripeCustomer(ctx, payouts, person, rng, ids, anomaly).run()
    else:
        GoCardlessCustomer(ctx, payouts, person, rng, ids, anomaly).run()
