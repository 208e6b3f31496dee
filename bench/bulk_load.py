"""BENCH SETUP, NOT THE PRODUCT: fill a warehouse with a generated shop without HTTP.

    .venv/bin/python bench/bulk_load.py --size large \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_large

Why: a first full sync of the large shop is ~47,000 Stripe requests, at least 31 minutes
at Stripe's test-mode 25 req/s, before the night a benchmark wants to measure can start.
This puts the warehouse in the state a first full sync leaves, in minutes, so that the
measured night (bench/whole_night.py) is the real ``nightly`` over HTTP on a big shop.

How, and what stays the product's own code:

- objects come from the sandbox's store as its list endpoints render them: Stripe's
  ``render`` and ``expand`` (``expand[]`` as the connector asks: charges' balance
  transactions, subscriptions' payment methods), ``render_gocardless``,
  ``render_aftership`` read back through the AfterShip SDK's ``Tracking`` model as the
  connector does; payouts' lines through the sandbox's own list functions, per payout;
- they are loaded by ``tasks.sync_load.load_batch`` (the writer process's function:
  normalise, carry forward, upsert, raw copies, quarantine), one transaction per batch
  of the sync's size, at the listing's version (``list_version(started)``), in the
  sync's monthly ``created_slices``; streams a normaliser looks up (tax rates, mandates)
  first, as the flow orders them;
- then the sync's own tasks, called as functions: the payments' links
  (``resolve_payment_links``), and the event cursors a first sync notes before listing
  (``note_stripe_cursor``, ``note_gocardless_cursors``, ``save_cursors``) read over HTTP
  from a sandbox serving the same store; AfterShip's watermark is the run's start;
- a check that it matches: the first page of every stream fetched through the real
  connectors over HTTP and loaded again at the same version must change nothing.

The ``pipeline_runs`` row it writes says what it was (flow ``sync``, run id
``bench-bulk-load-…``, its message naming this script).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Objects per load transaction, as the sync's batches (PAGES_PER_BATCH pages of each
# provider's page size): 1000 Stripe, 5000 GoCardless, 2000 AfterShip.
BATCH = {"stripe": 10 * 100, "gocardless": 10 * 500, "aftership": 10 * 200}
FIRST = {("stripe", "tax_rates"), ("gocardless", "mandates")}  # looked up by other streams
RUN_PREFIX = "bench-bulk-load-"


@dataclass(frozen=True)
class Job:
    """One stream's objects created in one of the sync's time slices."""

    provider: str
    resource: str
    created_gte: int
    created_lt: int | None


def log(message: str) -> None:
    print(f"# {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# -- rendering: what the list endpoints would have answered ------------------------------


def _store(path: str) -> Any:
    from sandbox import schema  # noqa: F401  (registers the resources' indexes)
    from sandbox.store import Store

    return Store.open(path)


def _fast_paths() -> None:
    """A shortcut of this process's own, same output: no defensive deep copy in Stripe's
    ``render`` (each sparse object here is a fresh decode no one else holds; the copy
    was 10-15 %). Rendering and loading were ~2 ms an object: the large shop's 6 M
    objects must load in a fraction of the hours that would take. (The store itself
    decodes with orjson now, so its decoder is no longer swapped here.)"""
    from types import SimpleNamespace

    import sandbox.providers.stripe_wire as wire

    wire.copy = SimpleNamespace(deepcopy=lambda value: value)  # type: ignore[assignment]


def stripe_expands(resource: str) -> list[str]:
    """The ``expand[]`` the connector sends for ``resource`` (endpoint's and stream's)."""
    from connectors.stripe.endpoints import endpoint
    from domain.sync_streams import stream

    params = stream("stripe", resource).params
    return list(dict.fromkeys([*endpoint(resource).expand, *params.get("expand", [])]))


def rendered(store: Any, job: Job) -> Iterator[dict[str, Any]]:
    """``job``'s objects in list order, as the provider's list endpoint renders them."""
    from sandbox.providers.stripe_reads import expand
    from sandbox.providers.stripe_wire import render
    from sandbox.render import render_aftership, render_gocardless

    created: dict[str, int] = {"gte": job.created_gte}
    if job.created_lt is not None:
        created["lt"] = job.created_lt
    items, _ = store.list(job.provider, job.resource, created=created, limit=1 << 40)
    if job.provider == "stripe":
        expands = stripe_expands(job.resource)
        for sparse in items:
            obj = render(sparse)
            for path in expands:
                expand(store, obj, path.split(".")[1:], path)
            yield obj
    elif job.provider == "gocardless":
        for sparse in items:
            yield render_gocardless(job.resource, sparse)
    else:
        from tracking.models import Tracking  # the connector reads trackings through it

        for sparse in items:
            model = Tracking.model_validate(render_aftership(sparse))
            yield model.model_dump(by_alias=True, mode="json")


def payout_lines(store: Any, provider: str, payouts: Sequence[Mapping[str, Any]]) -> dict:
    """``{payout id: [line, ...]}`` as the connector's per-payout walk reads them."""
    from werkzeug.datastructures import MultiDict

    from sandbox.providers.gocardless_lists import list_page
    from sandbox.providers.stripe_reads import list_objects

    out: dict[str, list[dict[str, Any]]] = {}
    for payout in payouts:
        pid = str(payout["id"])
        lines: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            if provider == "stripe":
                params: dict[str, Any] = {"payout": pid, "limit": "100", "expand": ["data.source"]}
                if after:
                    params["starting_after"] = after
                body = list_objects(
                    store, "balance_transactions", params, "/v1/balance_transactions", 0
                )
                page, after = body["data"], (body["data"][-1]["id"] if body["has_more"] else None)
            else:
                args = MultiDict(
                    {"payout": pid, "limit": "500", **({"after": after} if after else {})}
                )
                body = json.loads(list_page(store, "payout_items", args).get_data())
                page, after = body["payout_items"], body["meta"]["cursors"]["after"]
            lines.extend(page)
            if not after or not page:
                break
        out[pid] = lines
    return out


# -- loading: the sync's own load function, in worker processes ------------------------


def load_job(
    state: str, url: str, job: Job, started: datetime, tz: str, run_id: str
) -> dict[str, dict[str, int]]:
    """In a worker: ``job``'s objects through ``load_batch``, a transaction per batch."""
    from sqlalchemy.pool import NullPool

    from domain.sync_plan import list_version
    from domain.sync_streams import stream
    from tasks.sync_common import batched
    from tasks.sync_load import load_batch, merge
    from warehouse.engine import make_engine

    _fast_paths()
    store = _store(state)
    spec = stream(job.provider, job.resource)
    engine = make_engine(url, poolclass=NullPool)
    tallies: dict[str, Any] = {}
    try:
        for objects in batched(rendered(store, job), BATCH[job.provider]):
            lines = payout_lines(store, job.provider, objects) if spec.lines else {}
            with engine.begin() as conn:
                merge(
                    tallies,
                    load_batch(
                        conn, spec, objects, lines, list_version(started), tz, started, run_id
                    ),
                )
    finally:
        engine.dispose()
        store.close()
    return {name: asdict(t) for name, t in tallies.items()}


def _exit_with_parent(parent: int) -> None:
    """In a worker: leave once the process that started it is gone (killed, timed out)."""
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def jobs(state: str, started: datetime) -> tuple[list[Job], list[Job]]:
    """The lookups' jobs, then the others (largest first, so the workers finish together)."""
    from domain.sync_plan import created_slices
    from domain.sync_streams import STREAMS

    store = _store(state)
    first: list[Job] = []
    rest: list[tuple[int, Job]] = []
    for provider, streams in STREAMS.items():
        for spec in streams:
            for a, b in created_slices(started):
                bounds = {"gte": a, **({"lt": b} if b is not None else {})}
                n = store.count_where(provider, spec.resource, created=bounds)
                if n == 0:
                    continue
                job = Job(provider, spec.resource, a, b)
                if (provider, spec.resource) in FIRST:
                    first.append(job)
                else:
                    rest.append((n, job))
    store.close()
    return first, [job for _, job in sorted(rest, key=lambda p: -p[0])]


@dataclass
class BulkLoad:
    run_id: str
    started: datetime
    seconds: float
    objects: int
    tallies: dict[str, dict[str, int]]


def bulk_load(
    state: Path,
    url: str,
    *,
    started: datetime,
    tz: str = "Europe/Paris",
    workers: int = 2,
    journal: Path | None = None,
) -> BulkLoad:
    """Load every stream of the store at ``state`` into the (migrated) warehouse ``url``.

    ``journal``: a file where each finished job is noted (one JSON line with its tallies);
    a later call with the same journal skips those jobs, so a load stopped part way (the
    large shop's takes hours on a busy machine) resumes. A job stopped in the middle is
    loaded again whole: its committed batches come back unchanged (every write an upsert).
    """
    from domain.sync_plan import Tally
    from tasks.sync_load import merge

    done_before: dict[Job, dict[str, dict[str, int]]] = {}
    run_id = f"{RUN_PREFIX}{uuid.uuid4().hex[:12]}"
    seconds_before = 0.0
    if journal is not None and journal.exists():
        for line in journal.read_text().splitlines():
            entry = json.loads(line)
            done_before[Job(**entry["job"])] = entry["tallies"]
            run_id, seconds_before = entry["run_id"], max(seconds_before, entry["seconds"])
    clock = time.perf_counter() - seconds_before
    first, rest = jobs(str(state), started)
    if url.startswith("sqlite"):
        workers = 1  # one writer at a time
    tallies: dict[str, Tally] = {}
    for noted in done_before.values():
        merge(tallies, {k: Tally(**v) for k, v in noted.items()})
    if done_before:
        log(f"  resuming: {len(done_before)} jobs done before")
    context = get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    )
    with pool:
        for phase in (first, rest):
            futures = {
                pool.submit(load_job, str(state), url, job, started, tz, run_id): job
                for job in phase
                if job not in done_before
            }
            for done, future in enumerate(as_completed(futures), 1):
                job = futures[future]
                result = future.result()
                merge(tallies, {k: Tally(**v) for k, v in result.items()})
                seconds = time.perf_counter() - clock
                if journal is not None:
                    entry = {"job": asdict(job), "tallies": result, "run_id": run_id}
                    with journal.open("a") as out:
                        out.write(json.dumps({**entry, "seconds": seconds}) + "\n")
                objects = sum(t.pulled for n, t in tallies.items() if n.endswith("raw_objects"))
                log(
                    f"  {done}/{len(futures)} jobs ({job.provider}/{job.resource}),"
                    f" {objects:,} objects, {seconds:.0f} s"
                )
    objects = sum(t.pulled for name, t in tallies.items() if name.endswith("raw_objects"))
    return BulkLoad(
        run_id,
        started,
        time.perf_counter() - clock,
        objects,
        {name: asdict(t) for name, t in sorted(tallies.items())},
    )


# -- what a first sync does after its listings -----------------------------------------


def finish_like_a_first_sync(load: BulkLoad, sandbox_env: Mapping[str, str], url: str) -> None:
    """Links, cursors noted from the sandbox's event streams, the run's record."""
    from domain.sync_plan import Tally
    from echeancier.settings import Settings
    from tasks.sync_aftership import _state as aftership_state
    from tasks.sync_common import (
        engine_for,
        refresh_statistics,
        resolve_payment_links,
        save_cursors,
    )
    from tasks.sync_gocardless import note_gocardless_cursors
    from tasks.sync_stripe import note_stripe_cursor
    from warehouse.state import PipelineRun, record_run, write_sync_state

    settings = Settings(**{**sandbox_env, "DATABASE_URL": url})  # type: ignore[arg-type]
    started = load.started
    marks = [
        *note_stripe_cursor.fn(settings, started),
        *note_gocardless_cursors.fn(settings, started),
    ]
    links = resolve_payment_links.fn(settings, started)
    save_cursors.fn(settings, marks, started)
    written = {name: Tally(inserted=1) for name in load.tallies} | links
    refresh_statistics.fn(settings, written, {"stripe": "full"})  # as a first sync does
    trackings = load.tallies.get("aftership/raw_objects", {}).get("pulled", 0)
    engine = engine_for(url)
    with engine.begin() as conn:
        write_sync_state(conn, aftership_state(started, trackings), at=started)
        run = PipelineRun(load.run_id, "sync", started.date(), started)
        counts = {**load.tallies, **{k: asdict(v) for k, v in links.items()}}
        message = "bench setup: bulk load of the sandbox's store without HTTP (bench/bulk_load.py)"
        record_run(conn, run.finished("completed", started, counts=counts, message=message))


def verify(load: BulkLoad, sandbox_env: Mapping[str, str], url: str) -> list[str]:
    """The first page of each stream through the real connectors over HTTP, loaded again
    at the same version: anything inserted or updated is a difference from a real sync."""
    from connectors.factory import from_settings
    from domain.sync_plan import list_version
    from domain.sync_streams import STREAMS
    from echeancier.settings import Settings
    from tasks.sync_common import engine_for
    from tasks.sync_load import load_batch

    settings = Settings(**{**sandbox_env, "DATABASE_URL": url})  # type: ignore[arg-type]
    connectors = from_settings(settings)
    problems = []
    engine = engine_for(url)
    for provider, streams in STREAMS.items():
        for spec in streams:
            if provider == "stripe":
                pages = connectors.stripe.list_pages(spec.resource, params=spec.params)
                fetch = connectors.stripe.balance_transactions
            elif provider == "gocardless":
                pages = connectors.gocardless.list_pages(spec.resource, params=spec.params)
                fetch = connectors.gocardless.payout_items
            else:
                from tasks.sync_aftership import BEGINNING

                pages = connectors.aftership.trackings_updated_since(BEGINNING)
                fetch = None
            page = next(iter(pages), [])
            lines: dict[str, Any] = {}
            if spec.lines is not None and fetch is not None:
                page = page[:5]  # each payout's lines are a walk of their own: a few suffice
                lines = {str(p["id"]): [x for pg in fetch(str(p["id"])) for x in pg] for p in page}
            with engine.begin() as conn:
                version = list_version(load.started)
                tallies = load_batch(
                    conn, spec, page, lines, version, settings.timezone, load.started, load.run_id
                )
                conn.rollback()  # a check: leave the warehouse as the bulk load left it
            for name, t in tallies.items():
                if t.inserted or t.updated:
                    problems.append(
                        f"{spec.name} -> {name}: {t.inserted} inserted, {t.updated} updated"
                        f" of {t.pulled}"
                    )
    return problems


def main() -> None:
    from bench.harness import SandboxProcess
    from sandbox.generate import generate_cached
    from warehouse.migrate import upgrade

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default="2026-06-30")
    parser.add_argument("--database-url", required=True, help="an empty database (migrated here)")
    parser.add_argument(
        "--state", type=Path, help="the store to serve (default: a copy of the cache)"
    )
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    cached, summary = generate_cached(
        size=args.size, seed=args.seed, as_of=date.fromisoformat(args.as_of)
    )
    state = args.state or cached
    upgrade(args.database_url)
    started = summary.clock_start.astimezone(UTC)
    log(f"bulk load of {state} into {args.database_url.split('@')[-1]} ({args.workers} workers)")
    load = bulk_load(state, args.database_url, started=started, workers=args.workers)
    log(f"loaded {load.objects:,} objects in {load.seconds:.0f} s; cursors and links")
    with SandboxProcess.start(state, clock=started) as sandbox:
        finish_like_a_first_sync(load, sandbox.env, args.database_url)
        problems = verify(load, sandbox.env, args.database_url)
    print(
        json.dumps(
            {
                "run_id": load.run_id,
                "seconds": load.seconds,
                "objects": load.objects,
                "problems": problems,
                "load": os.getloadavg(),
            }
        )
    )


if __name__ == "__main__":
    main()
