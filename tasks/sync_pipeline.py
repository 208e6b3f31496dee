"""A full listing's batches prepared by several processes and written by one.

During a full listing the pipeline's own CPU, not the provider's rate limit, set the
pace: first the fetching threads waited for the loaders under one GIL, then, with the
loads in a writer process of their own, the one writer could not normalise, hash,
encode and merge 2,500 Stripe objects a second (docs/benchmarks.md). A listed batch's
load is two halves: preparing it (``tasks.sync_prepare``: pure, no lock) and writing it
(``tasks.sync_load.write_batch``: the merges and the commit). ``PREPARERS`` processes
prepare batches side by side; one writer process writes them, one transaction each, in
the order they are ready: SQLite takes one writer at a time anyway, and the writer's
share of a batch is the part that cannot be spread.

Example: charges listed 1000 a batch with two preparers: batches 1 and 2 are prepared
at once while the writer commits batch 0; the listing's thread meanwhile fetches
batch 3 and waits only when ``IN_FLIGHT + PREPARERS`` of its batches are under way.
Listings only: no cursor moves with a listed batch (the event cursors noted before the
listing are stored once it has all landed), so the order batches commit in is free.
"""

from __future__ import annotations

import os
import pickle
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from multiprocessing import get_context
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import NullPool

from domain.sync_plan import Tally
from domain.sync_streams import Lookups, Stream
from domain.sync_streams import stream as stream_of
from tasks.sync_common import batched
from tasks.sync_load import (
    _exit_with,
    fetch_payout_lines,
    load_batch,
    merge,
    prepare_batch,
    read_lookups,
    write_batch,
)
from tasks.sync_prepare import PreparedLoad

T = TypeVar("T")
Page = list[dict[str, Any]]


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

    Each batch is prepared by a preparer process and written by the writer process (see
    "the processes" below), up to ``IN_FLIGHT + PREPARERS`` of this stream's batches
    ahead of the one being written, while this thread goes on fetching; a database only
    this process can see (SQLite in memory) is loaded here instead. The listing returns
    once every batch has landed, so a stream that looks this one up (invoices read the
    tax rates) sees all of it.
    """
    url = _shareable_url(engine)
    tallies: dict[str, Tally] = {}
    pending: deque[ListedBatch] = deque()
    try:
        for batch in batched(pages, batch_pages):
            for objects in _parts(stream, [obj for page in batch for obj in page]):
                lines = fetch_payout_lines(fetch_lines, stream, objects, max_workers=max_workers)
                work = Work(
                    stream.provider, stream.resource, objects, lines, version, tz, seen_at, run_id
                )
                if url is None:
                    with engine.begin() as conn:
                        merge(tallies, work.load(conn, stream))
                    continue
                pending.append(ListedBatch(url, work))
                while len(pending) > IN_FLIGHT + PREPARERS:
                    merge(tallies, pending.popleft().result())
        while pending:
            merge(tallies, pending.popleft().result())
    finally:
        for queued in pending:  # a failed batch: the ones queued behind it are not loaded
            queued.cancel()
    return tallies


def _parts(stream: Stream, objects: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    """A batch as it is loaded: whole, or for a stream with lines ``PAYOUTS_PER_BATCH``
    payouts at a time, each part's lines fetched just before it is handed over.

    Why: a payout brings ~150-180 lines (a medium shop's 547 Stripe payouts, 98,728
    balance transactions; 544 GoCardless payouts, 82,519 items): one page batch of payouts
    with all their lines was one transaction of ~100,000 rows, prepared by one process
    while the writer, and every stream queued behind it, waited 20 s and more.
    """
    if stream.lines is None:
        return [objects]
    return batched(objects, PAYOUTS_PER_BATCH)


PAYOUTS_PER_BATCH = 10  # ~1,500-1,800 lines: about a page batch of another stream


@dataclass(frozen=True)
class Work:
    """One listed batch as a process receives it: ``load_batch``'s arguments, the stream
    by name (its normalisers are lambdas, which do not pickle)."""

    provider: str
    resource: str
    objects: Sequence[Mapping[str, Any]]
    lines: Mapping[str, Sequence[Mapping[str, Any]]]
    version: int
    tz: str
    seen_at: datetime
    run_id: str

    def stream(self) -> Stream:
        return stream_of(self.provider, self.resource)

    def load(self, conn: Connection, stream: Stream | None = None) -> dict[str, Tally]:
        """Prepared and written in one go, in ``conn``'s transaction (``stream``: the
        listing's own, where it is at hand)."""
        return load_batch(
            conn,
            stream or self.stream(),
            self.objects,
            self.lines,
            self.version,
            self.tz,
            self.seen_at,
            self.run_id,
        )

    def prepare(self, lookups: Lookups, backend: str) -> list[PreparedLoad]:
        """The loads the writer writes, in ``backend``'s storage form."""
        return prepare_batch(
            self.stream(),
            self.objects,
            self.lines,
            self.version,
            lookups,
            seen_at=self.seen_at,
            backend=backend,
        )


# -- the processes ---------------------------------------------------------------------
#
# Started on first use (spawned: this process runs threads, a fork could copy a held
# lock), kept for the life of the process, shared by every stream and database; each
# leaves when this process is gone. A prepared batch goes to the writer as one pickled
# blob: this process only passes bytes on, never unpickles and pickles the rows again
# under the GIL its fetching threads need. ``PREPARERS = 0``: the writer prepares its
# batches itself (one process, the design before; kept to compare).

PREPARERS = min(4, max(1, (os.cpu_count() or 2) - 1))
IN_FLIGHT = 2  # a stream's batches waiting beyond the ones being prepared and written


class Pool:
    """A process pool started on first use and replaced when its processes died (killed,
    out of memory): the next batch gets a fresh one."""

    def __init__(self, name: str, workers: Callable[[], int]) -> None:
        self.name = name
        self._workers = workers
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=max(1, self._workers()),
                    mp_context=get_context("spawn"),
                    initializer=_exit_with,
                    initargs=(os.getpid(),),
                )
            return self._executor

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        try:
            return self.executor().submit(fn, *args)
        except BrokenProcessPool:
            with self._lock:
                self._executor = None
            return self.executor().submit(fn, *args)


_WRITER = Pool("writer", lambda: 1)
_PREPARERS = Pool("preparers", lambda: PREPARERS)


def writer() -> ProcessPoolExecutor:
    """The process that writes listed batches (started on first use)."""
    return _WRITER.executor()


class ListedBatch:
    """One listed batch on its way: prepared by a preparer, then written by the writer.

    ``result()`` is the batch's tallies once it is committed, or the first error of
    either step; ``cancel()`` keeps a batch not yet handed to the writer from being
    written.
    """

    def __init__(self, url: str, work: Work) -> None:
        self._url, self._seen_at, self._run_id = url, work.seen_at, work.run_id
        self._outcome: Future[dict[str, Tally]] = Future()
        self._lock = threading.RLock()  # a cancel runs the callbacks under it
        self._written: Future[dict[str, Tally]] | None = None
        if PREPARERS <= 0:
            self._prepared = None
            self._hand(_WRITER.submit(_load_in_writer, url, work))
            return
        self._prepared = _PREPARERS.submit(_prepare_in_worker, url, work)
        self._prepared.add_done_callback(self._to_writer)

    def result(self) -> dict[str, Tally]:
        return self._outcome.result()

    def cancel(self) -> None:
        with self._lock:
            self._outcome.cancel()
            for step in (self._prepared, self._written):
                if step is not None:
                    step.cancel()

    def _to_writer(self, prepared: Future[bytes]) -> None:
        with self._lock:
            if self._outcome.done():
                return
            if prepared.cancelled():
                self._outcome.cancel()
                return
            error = prepared.exception()
            if error is not None:
                self._outcome.set_exception(error)
                return
            try:
                written = _WRITER.submit(
                    _write_in_writer, self._url, prepared.result(), self._seen_at, self._run_id
                )
            except BaseException as exc:  # the writer could not be started
                self._outcome.set_exception(exc)
                return
        self._hand(written)

    def _hand(self, written: Future[dict[str, Tally]]) -> None:
        self._written = written
        written.add_done_callback(self._finish)

    def _finish(self, written: Future[dict[str, Tally]]) -> None:
        with self._lock:
            if self._outcome.done():
                return
            if written.cancelled():
                self._outcome.cancel()
            elif (error := written.exception()) is not None:
                self._outcome.set_exception(error)
            else:
                self._outcome.set_result(written.result())


def _prepare_in_worker(url: str, work: Work) -> bytes:
    """In a preparer: one batch's loads, in the storage form of the database the writer
    writes them to, pickled once for the trip to the writer."""
    from warehouse.engine import normalise_url

    stream = work.stream()
    lookups = Lookups(tz=work.tz)
    if stream.needs and work.objects:
        with _reader_engine(url).connect() as conn:
            lookups = read_lookups(conn, stream, work.objects, work.tz)
    loads = work.prepare(lookups, normalise_url(url).get_backend_name())
    return pickle.dumps(loads, protocol=pickle.HIGHEST_PROTOCOL)


def _write_in_writer(url: str, blob: bytes, seen_at: datetime, run_id: str) -> dict[str, Tally]:
    """In the writer: one prepared batch in one transaction of its own."""
    loads: list[PreparedLoad] = pickle.loads(blob)
    with _writer_engine(url).begin() as conn:
        return write_batch(conn, loads, seen_at=seen_at, run_id=run_id)


def _load_in_writer(url: str, work: Work) -> dict[str, Tally]:
    """In the writer, with no preparers: one batch prepared and written in one go."""
    with _writer_engine(url).begin() as conn:
        return work.load(conn)


@lru_cache(maxsize=1)
def _writer_engine(url: str) -> Engine:
    """The writer's engine for the database it is loading now. No pool: a connection per
    batch, none left open on a database that a test or a benchmark then drops.

    On SQLite its commits checkpoint the WAL every ``WRITER_CHECKPOINT_PAGES`` pages
    instead of SQLite's 1,000: a batch of 1,000 Stripe objects writes ~1,000 pages with
    its raw copies, so nearly every commit also copied the WAL into the database and
    synced it (11 % of the writer's time), rewriting the same index pages each time.
    """
    from warehouse.engine import make_engine, normalise_url

    engine = make_engine(url, poolclass=NullPool)
    if normalise_url(url).get_backend_name() == "sqlite":

        @event.listens_for(engine, "connect")
        def _checkpoint_less(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA wal_autocheckpoint={WRITER_CHECKPOINT_PAGES}")
            cursor.close()

    return engine


WRITER_CHECKPOINT_PAGES = 16_384  # 64 MiB of WAL at SQLite's 4 KiB pages


@lru_cache(maxsize=1)
def _reader_engine(url: str) -> Engine:
    """A preparer's engine, for the lookups it reads (never a write). On SQLite a plain
    one: ``make_engine``'s transactions begin ``IMMEDIATE`` and would queue every read
    behind the writer's transaction, where WAL lets a reader go on beside it."""
    from warehouse.engine import make_engine, normalise_url

    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return create_engine(parsed, poolclass=NullPool, hide_parameters=True)
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
