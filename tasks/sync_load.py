"""Load one batch of provider objects: normalise, merge, keep the raw JSON, quarantine.

Plain functions on a connection the caller holds, so the caller's transaction covers
the rows, their raw copies, the quarantined records and (for event batches) the cursor
that moves past them: a crash loses all of a batch or none of it. The ``@task`` wrappers
in ``tasks.sync_*`` call these once per page batch. Each load is the preparation of
``tasks.sync_prepare`` (no database write) followed by :func:`write_load`; a full
listing runs the two in different processes (``tasks.sync_pipeline.load_listing``);
either way the rows are prepared in the storage form of the database they go to, and
the writer does not canonicalise or hash them again (``warehouse.upsert.upsert_prepared``).

Example: 100 Stripe charges listed at version V -> ``payments`` upsert (stored fee/net
kept where the new row has none), 100 ``raw_objects`` rows, problems to ``quarantine``;
the returned tallies say what was inserted, updated, unchanged and quarantined.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Table, select, tuple_

from connectors.parallel import merge_walks
from domain.sync_plan import Tally, carry_forward
from domain.sync_streams import Lines, Lookups, Stream
from tasks.sync_prepare import PreparedLoad, PreparedRows, prepare_lines, prepare_objects
from warehouse import tables
from warehouse.upsert import UpsertResult, from_storage, quarantine, upsert, upsert_prepared

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
    prepared = prepare_objects(
        stream, objects, versions, lookups, seen_at=seen_at, backend=conn.dialect.name
    )
    return write_load(conn, prepared, seen_at=seen_at, run_id=run_id)


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
    prepared = prepare_lines(
        provider, lines, groups, versions, currencies, seen_at=seen_at, backend=conn.dialect.name
    )
    return write_load(conn, prepared, seen_at=seen_at, run_id=run_id)


def write_load(
    conn: Connection, prepared: PreparedLoad, *, seen_at: datetime, run_id: str | None
) -> dict[str, Tally]:
    """Merge a prepared load in the caller's transaction: each table (stored enrichments
    carried forward), then its quarantine rows, then the raw copies."""
    tallies = {
        f"{prepared.provider}/{rows.table}": _write(conn, rows, seen_at)
        for rows in prepared.outputs
    }
    if prepared.problems:
        quarantine(conn, prepared.problems, seen_at=seen_at, run_id=run_id)
    raw = upsert_prepared(conn, tables.raw_objects, prepared.raw.batch, synced_at=datetime.now(UTC))
    tallies[f"{prepared.provider}/raw_objects"] = _tally(raw, 0)
    return tallies


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
    return load_lines(
        conn,
        stream.provider,
        stream.lines,
        lines,
        versions,
        _currencies(payouts),
        seen_at=seen_at,
        run_id=run_id,
    )


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
    lookups = read_lookups(conn, stream, objects, tz)
    loads = prepare_batch(
        stream, objects, lines, version, lookups, seen_at=seen_at, backend=conn.dialect.name
    )
    return write_batch(conn, loads, seen_at=seen_at, run_id=run_id)


def prepare_batch(
    stream: Stream,
    objects: Sequence[Mapping[str, Any]],
    lines: Mapping[str, Sequence[Mapping[str, Any]]],
    version: int,
    lookups: Lookups,
    *,
    seen_at: datetime,
    backend: str | None = None,
) -> list[PreparedLoad]:
    """The loads of one listed batch: its objects, then its payouts' lines (in
    ``backend``'s storage form, when given)."""
    loads: list[PreparedLoad] = []
    if objects:
        versions = [version] * len(objects)
        loads.append(
            prepare_objects(stream, objects, versions, lookups, seen_at=seen_at, backend=backend)
        )
    if stream.lines is not None and any(lines.values()):
        loads.append(
            prepare_lines(
                stream.provider,
                stream.lines,
                lines,
                dict.fromkeys(lines, version),
                _currencies(objects),
                seen_at=seen_at,
                backend=backend,
            )
        )
    return loads


def write_batch(
    conn: Connection, loads: Sequence[PreparedLoad], *, seen_at: datetime, run_id: str | None
) -> dict[str, Tally]:
    tallies: dict[str, Tally] = {}
    for prepared in loads:
        merge(tallies, write_load(conn, prepared, seen_at=seen_at, run_id=run_id))
    return tallies


def merge(into: dict[str, Tally], more: Mapping[str, Tally]) -> None:
    for name, tally in more.items():
        into[name] = into.get(name, Tally()).add(tally)


def _exit_with(parent: int) -> None:
    """In a pool's process: leave when the process that started it is gone. A parent
    killed (a timeout, Ctrl-C twice) never tells its pool to stop, and the process would
    wait for work for ever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="pool-watch", daemon=True).start()


def _currencies(payouts: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    return {str(p["id"]): str(p.get("currency") or "EUR").upper() for p in payouts}


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
    conn: Connection, target: Table, keys: Iterable[tuple[Any, ...]], columns: Sequence[str]
) -> pd.DataFrame:
    """The stored ``columns`` (and key) of the rows of ``target`` under ``keys``."""
    key_names = _key_names(target)
    names = [*key_names, *(c for c in columns if c not in key_names)]
    wanted = list(dict.fromkeys(keys))
    key_cols = [target.c[k] for k in key_names]
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        clause = (
            key_cols[0].in_([k[0] for k in chunk])
            if len(key_cols) == 1
            else tuple_(*key_cols).in_(chunk)
        )
        query = select(*(target.c[n] for n in names)).where(clause)
        found.extend(tuple(r) for r in conn.execute(query))
    return pd.DataFrame(found, columns=names)


# -- the mechanics ---------------------------------------------------------------------


def _write(conn: Connection, prepared: PreparedRows, seen_at: datetime) -> Tally:
    """Merge one table's prepared rows. Rows already stored get the enrichment columns
    they lack (``carry``) from the stored row, and so a new hash (canonicalised again,
    through ``upsert``); the others go as prepared (a first listing: all of them)."""
    target = table(prepared.table)
    batch = prepared.batch
    results: list[UpsertResult] = []
    if prepared.carry and len(batch):
        key_names = _key_names(target)
        keys = list(zip(*(batch.column(k) for k in key_names), strict=True))
        stored = read_stored(conn, target, keys, prepared.carry)
        if not stored.empty:
            known = set(stored[key_names].itertuples(index=False, name=None))
            old = [i for i, key in enumerate(keys) if key in known]
            carried = from_storage(target, batch.take(old), conn.dialect)
            batch = batch.take([i for i, key in enumerate(keys) if key not in known])
            cells = dict(zip(carried.columns, carried.values, strict=True))
            frame = pd.DataFrame(cells, dtype=object).drop(columns=["row_hash", "synced_at"])
            frame = carry_forward(frame, stored, prepared.carry, key=key_names)
            results.append(upsert(conn, target, frame, synced_at=seen_at))
    if len(batch) or not results:
        results.append(upsert_prepared(conn, target, batch, synced_at=seen_at))
    tally = Tally(quarantined=prepared.quarantined)
    for result in results:
        tally = tally.add(_tally(result, 0))
    return Tally(
        pulled=prepared.received + prepared.quarantined,
        inserted=tally.inserted,
        updated=tally.updated,
        unchanged=tally.unchanged,
        stale=tally.stale,
        quarantined=prepared.quarantined,
        received=prepared.received,
        received_amount=prepared.received_amount,
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


def _key_names(target: Table) -> list[str]:
    return [c.name for c in target.primary_key.columns]


def _dig(obj: Mapping[str, Any], path: str) -> str | None:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value if isinstance(value, str) else None
