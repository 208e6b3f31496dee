"""Load one batch of provider objects: normalise, merge, keep the raw JSON, quarantine.

Plain functions on a connection the caller holds, so the caller's transaction covers
the rows, their raw copies, the quarantined records and (for event batches) the cursor
that moves past them: a crash loses all of a batch or none of it. The ``@task`` wrappers
in ``tasks.sync_*`` call these once per page batch.

Example: 100 Stripe charges listed at version V -> ``payments`` upsert (stored fee/net
kept where the new row has none), 100 ``raw_objects`` rows, problems to ``quarantine``;
the returned tallies say what was inserted, updated, unchanged and quarantined.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from functools import lru_cache, partial
from multiprocessing import get_context
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, Table, select, tuple_
from sqlalchemy.pool import NullPool

from connectors.parallel import merge_walks
from domain.normalise.core import Normalised, object_id
from domain.sync_plan import Tally, carry_forward
from domain.sync_streams import Lines, Lookups, Stream
from warehouse import tables
from warehouse.upsert import UpsertResult, quarantine, upsert

_CHUNK = 500


def table(name: str) -> Table:
    return tables.metadata.tables[name]


def load_objects(
    conn: Connection,
    stream: Stream,
    objects: Sequence[Mapping[str, Any]],
    versions: Sequence[int],
    *,
    tz: str,
    seen_at: datetime,
    run_id: str | None,
) -> dict[str, Tally]:
    """Normalise ``objects`` of ``stream`` into each output table and ``raw_objects``."""
    if not objects:
        return {}
    lookups = read_lookups(conn, stream, objects, tz)
    tallies: dict[str, Tally] = {}
    problems: list[pd.DataFrame] = []
    for output in stream.outputs:
        done = output.normalise(objects, versions, lookups)
        rows = done.rows
        if output.carry and not rows.empty:
            target = table(output.table)
            stored = read_stored(conn, target, rows, output.carry)
            rows = carry_forward(rows, stored, output.carry, key=_key_names(target))
        tally = _load(conn, output.table, Normalised(rows, done.problems), output.amount, seen_at)
        tallies[f"{stream.provider}/{output.table}"] = tally
        problems.append(done.problems)
    if problems:
        _quarantine(conn, pd.concat(problems, ignore_index=True), seen_at, run_id)
    raw = _raw_rows(stream.provider, stream.object_type, objects, versions)
    tallies[f"{stream.provider}/raw_objects"] = _tally(upsert(conn, tables.raw_objects, raw), 0)
    return tallies


def load_lines(
    conn: Connection,
    provider: str,
    lines: Lines,
    groups: Mapping[str, Sequence[Mapping[str, Any]]],
    versions: Mapping[str, int],
    currencies: Mapping[str, str],
    *,
    seen_at: datetime,
    run_id: str | None,
) -> dict[str, Tally]:
    """A batch of payouts' lines (``{payout id: [line, ...]}``) into ``payout_lines``."""
    if not any(groups.values()):
        return {}
    done = lines.normalise(groups, versions, currencies)
    tally = _load(conn, lines.table, done, lines.amount, seen_at)
    _quarantine(conn, done.problems, seen_at, run_id)
    raw: list[dict[str, Any]] = []
    for payout, members in groups.items():
        for n, obj in enumerate(members):
            object_id = str(obj.get("id") or f"{payout}/{n}")
            raw.append(_raw_row(provider, lines.object_type, object_id, obj, versions[payout]))
    raw_tally = _tally(upsert(conn, tables.raw_objects, raw), 0)
    return {f"{provider}/{lines.table}": tally, f"{provider}/raw_objects": raw_tally}


Page = list[dict[str, Any]]


def fetch_payout_lines(
    fetch: Callable[[str], Iterable[Page]],
    stream: Stream,
    payouts: Sequence[Mapping[str, Any]],
    *,
    max_workers: int,
) -> dict[str, list[dict[str, Any]]]:
    """Each payout's lines (Stripe balance transactions, GoCardless payout items), the
    payouts walked in parallel: ``{payout id: [line, ...]}``."""
    if stream.lines is None or not payouts:
        return {}
    ids = sorted({str(p["id"]) for p in payouts})

    def walk(payout_id: str) -> Iterator[tuple[str, Page]]:
        for page in fetch(payout_id):
            yield payout_id, page

    lines: dict[str, list[dict[str, Any]]] = {payout_id: [] for payout_id in ids}
    for payout_id, page in merge_walks([partial(walk, i) for i in ids], max_workers=max_workers):
        lines[payout_id].extend(page)
    return lines


def load_payout_lines(
    conn: Connection,
    stream: Stream,
    lines: Mapping[str, Sequence[Mapping[str, Any]]],
    payouts: Sequence[Mapping[str, Any]],
    versions: Mapping[str, int],
    *,
    seen_at: datetime,
    run_id: str | None,
) -> dict[str, Tally]:
    """The lines of ``payouts`` at their payout's version, in the caller's transaction."""
    if stream.lines is None or not lines:
        return {}
    currencies = {str(p["id"]): str(p.get("currency") or "EUR").upper() for p in payouts}
    return load_lines(
        conn,
        stream.provider,
        stream.lines,
        lines,
        versions,
        currencies,
        seen_at=seen_at,
        run_id=run_id,
    )


def load_listing(
    engine: Any,
    stream: Stream,
    pages: Iterable[Page],
    *,
    fetch_lines: Callable[[str], Iterable[Page]],
    max_workers: int,
    version: int,
    batch_pages: int,
    tz: str,
    seen_at: datetime,
    run_id: str,
) -> dict[str, Tally]:
    """A full listing of ``stream`` loaded batch by batch, one transaction per batch (with
    the payouts' lines, fetched before the batch is handed over).

    The batches are loaded by the writer process (:func:`writer`), at most
    ``IN_FLIGHT`` of this stream's batches ahead of the one being loaded, while this
    thread goes on fetching; a database only this process can see (SQLite in memory)
    is loaded here instead. The listing returns once every batch has landed, so a
    stream that looks this one up (invoices read the tax rates) sees all of it.
    """
    from tasks.sync_common import batched

    url = _shareable_url(engine)
    tallies: dict[str, Tally] = {}
    pending: deque[Future[dict[str, Tally]]] = deque()
    try:
        for batch in batched(pages, batch_pages):
            objects = [obj for page in batch for obj in page]
            lines = fetch_payout_lines(fetch_lines, stream, objects, max_workers=max_workers)
            args = (stream.provider, stream.resource, objects, lines, version, tz, seen_at, run_id)
            if url is None:
                with engine.begin() as conn:
                    merge(tallies, load_batch(conn, stream, *args[2:]))
                continue
            pending.append(_submit(url, args))
            while len(pending) > IN_FLIGHT:
                merge(tallies, pending.popleft().result())
        while pending:
            merge(tallies, pending.popleft().result())
    finally:
        for future in pending:  # a failed batch: the ones queued behind it are not loaded
            future.cancel()
    return tallies


def load_batch(
    conn: Connection,
    stream: Stream,
    objects: Sequence[Mapping[str, Any]],
    lines: Mapping[str, Sequence[Mapping[str, Any]]],
    version: int,
    tz: str,
    seen_at: datetime,
    run_id: str,
) -> dict[str, Tally]:
    """One listed batch (and its payouts' lines) at ``version``, in the caller's transaction."""
    tallies: dict[str, Tally] = {}
    versions = [version] * len(objects)
    merge(
        tallies,
        load_objects(conn, stream, objects, versions, tz=tz, seen_at=seen_at, run_id=run_id),
    )
    latest = dict.fromkeys(lines, version)
    merge(
        tallies,
        load_payout_lines(conn, stream, lines, objects, latest, seen_at=seen_at, run_id=run_id),
    )
    return tallies


# -- the writer process ----------------------------------------------------------------
#
# Why a process: during a full listing, normalising and upserting a page costs more CPU
# than fetching it, and both ran under one GIL: the fetching threads waited for the
# loaders and the sync read Stripe at ~70 % of its rate limit (docs/benchmarks.md). In a
# process of its own the load uses the second core and the fetchers only fetch. Why one:
# SQLite takes one writer at a time anyway, and one loader keeps up with 25 requests a
# second. Started on first use (spawned: the parent runs threads, a fork could copy a
# held lock), kept for the life of the process, shared by every stream and database.

IN_FLIGHT = 2  # a stream's batches queued at the writer beyond the one it is loading
_writer: ProcessPoolExecutor | None = None
_writer_lock = threading.Lock()


def writer() -> ProcessPoolExecutor:
    """The process that loads listed batches (started on first use)."""
    global _writer
    with _writer_lock:
        if _writer is None:
            _writer = ProcessPoolExecutor(
                max_workers=1,
                mp_context=get_context("spawn"),
                initializer=_exit_with,
                initargs=(os.getpid(),),
            )
        return _writer


def _exit_with(parent: int) -> None:
    """In the writer: leave when the process that started it is gone. A parent killed
    (a timeout, Ctrl-C twice) never tells its pool to stop, and the writer would wait
    for work for ever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="writer-watch", daemon=True).start()


def _submit(url: str, args: tuple[Any, ...]) -> Future[dict[str, Tally]]:
    """Queue a batch at the writer; a writer that died (killed, out of memory) is replaced."""
    global _writer
    try:
        return writer().submit(_load_in_writer, url, *args)
    except BrokenProcessPool:
        with _writer_lock:
            _writer = None
        return writer().submit(_load_in_writer, url, *args)


def _load_in_writer(
    url: str,
    provider: str,
    resource: str,
    objects: Sequence[Mapping[str, Any]],
    lines: Mapping[str, Sequence[Mapping[str, Any]]],
    version: int,
    tz: str,
    seen_at: datetime,
    run_id: str,
) -> dict[str, Tally]:
    """In the writer: one batch in one transaction of its own."""
    from domain.sync_streams import stream

    with _writer_engine(url).begin() as conn:
        return load_batch(
            conn, stream(provider, resource), objects, lines, version, tz, seen_at, run_id
        )


@lru_cache(maxsize=1)
def _writer_engine(url: str) -> Engine:
    """The writer's engine for the database it is loading now. No pool: a connection per
    batch, none left open on a database that a test or a benchmark then drops."""
    from warehouse.engine import make_engine

    return make_engine(url, poolclass=NullPool)


def _shareable_url(engine: Any) -> str | None:
    """The URL another process can open the same database by (``None`` for SQLite in
    memory, which only this process sees)."""
    url = engine.url
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and (
        database in ("", ":memory:") or database.startswith("file::memory:")
    ):
        return None
    rendered: str = url.render_as_string(hide_password=False)
    return rendered


def merge(into: dict[str, Tally], more: Mapping[str, Tally]) -> None:
    for name, tally in more.items():
        into[name] = into.get(name, Tally()).add(tally)


# -- lookups and stored rows ----------------------------------------------------------


LOOKUP_SOURCES: Mapping[str, tuple[str, str, str | None]] = {
    # name -> (provider, raw object type, field of the batch's objects naming the ids)
    "tax_rates": ("stripe", "tax_rate", None),
    "mandates": ("gocardless", "mandate", "links.mandate"),
}


def read_lookups(
    conn: Connection, stream: Stream, objects: Sequence[Mapping[str, Any]], tz: str
) -> Lookups:
    """The objects ``stream``'s normalisers need besides the batch, from ``raw_objects``."""
    found: dict[str, dict[str, Any]] = {}
    for name in stream.needs:
        provider, object_type, ref = LOOKUP_SOURCES[name]
        ids = None if ref is None else sorted({i for o in objects if (i := _dig(o, ref))})
        found[name] = read_raw(conn, provider, object_type, ids)
    return Lookups(tz=tz, **found)


def read_raw(
    conn: Connection, provider: str, object_type: str, ids: Iterable[str] | None = None
) -> dict[str, Any]:
    """``{id: latest JSON}`` of stored raw objects (all of the type when ``ids`` is None)."""
    raw = tables.raw_objects
    query = select(raw.c.object_id, raw.c.payload).where(
        raw.c.provider == provider, raw.c.object_type == object_type
    )
    if ids is None:
        return {i: json.loads(p) for i, p in conn.execute(query)}
    wanted = list(ids)
    out: dict[str, Any] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = query.where(raw.c.object_id.in_(wanted[start : start + _CHUNK]))
        out.update({i: json.loads(p) for i, p in conn.execute(chunk)})
    return out


def read_stored(
    conn: Connection, target: Table, rows: pd.DataFrame, columns: Sequence[str]
) -> pd.DataFrame:
    """The stored ``columns`` (and key) of the rows of ``target`` that ``rows`` names."""
    keys = _key_names(target)
    names = [*keys, *(c for c in columns if c not in keys)]
    wanted = list(rows[keys].drop_duplicates().itertuples(index=False, name=None))
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        key_cols = [target.c[k] for k in keys]
        clause = (
            key_cols[0].in_([k[0] for k in chunk])
            if len(keys) == 1
            else tuple_(*key_cols).in_(chunk)
        )
        query = select(*(target.c[n] for n in names)).where(clause)
        found.extend(tuple(r) for r in conn.execute(query))
    return pd.DataFrame(found, columns=names)


# -- the mechanics ---------------------------------------------------------------------


def _load(
    conn: Connection, name: str, done: Normalised, amount: str | None, seen_at: datetime
) -> Tally:
    rows = done.rows
    result = upsert(conn, table(name), rows, synced_at=seen_at)
    received = len(rows.index)
    total = int(rows[amount].fillna(0).sum()) if amount and received else 0
    tally = _tally(result, len(done.problems.index))
    return Tally(
        pulled=received + tally.quarantined,
        inserted=tally.inserted,
        updated=tally.updated,
        unchanged=tally.unchanged,
        stale=tally.stale,
        quarantined=tally.quarantined,
        received=received,
        received_amount=total,
    )


def _tally(result: UpsertResult, problems: int) -> Tally:
    return Tally(
        pulled=result.inserted + result.updated + result.unchanged,
        inserted=result.inserted,
        updated=result.updated,
        unchanged=result.unchanged,
        stale=result.stale,
        quarantined=problems,
    )


def _quarantine(
    conn: Connection, problems: pd.DataFrame, seen_at: datetime, run_id: str | None
) -> None:
    if problems.empty:
        return
    unique = problems.drop_duplicates(["provider", "object_type", "object_id"], keep="last")
    rows = [
        {str(k): (None if pd.isna(v) else str(v)) for k, v in row.items()}
        for row in unique.to_dict("records")
    ]
    quarantine(conn, rows, seen_at=seen_at, run_id=run_id)


def _raw_rows(
    provider: str, object_type: str, objects: Sequence[Mapping[str, Any]], versions: Sequence[int]
) -> list[dict[str, Any]]:
    # An object whose id is not clean text (a NUL, a lone surrogate, not a string) has no
    # raw copy: the quarantine keeps it under a stand-in id, with the reason.
    return [
        _raw_row(provider, object_type, object_id(obj), obj, version)
        for obj, version in zip(objects, versions, strict=True)
        if obj.get("id") and not object_id(obj).startswith("no-id:")
    ]


def _raw_row(
    provider: str, object_type: str, object_id: str, obj: Mapping[str, Any], version: int
) -> dict[str, Any]:
    return {
        "provider": provider,
        "object_type": object_type,
        "object_id": object_id,
        "payload": json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str),
        "source_version": version,
    }


def _key_names(target: Table) -> list[str]:
    return [c.name for c in target.primary_key.columns]


def _dig(obj: Mapping[str, Any], path: str) -> str | None:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value if isinstance(value, str) else None
