"""Newest-wins bulk upsert into the unified tables, inside the caller's transaction.

The rule, per primary key, between the row in the batch (``new``) and the stored one:

======================================  ====================================
``new.source_version < stored``          refused: an old event never undoes a new one
same version, same ``row_hash``          nothing written (a re-run writes nothing)
newer version or different content       the row is replaced
======================================  ====================================

(A newer version whose business columns are unchanged rewrites only the version, so
that an older, different version arriving later is still refused; it is counted as
``unchanged``.) Worked example: stored ``ch_1`` v100 ``succeeded``; a batch brings
``ch_1`` v90 ``pending`` (refused, stale) and ``ch_2`` v5 (inserted) → ``inserted=1,
updated=0, unchanged=1, stale=1``.

How: keys, versions and hashes go first into a narrow temporary table, which tells
which rows need writing (none, on a re-run with no change); those rows then go into
a temporary staging table — PostgreSQL COPY through psycopg 3, SQLite
``executemany`` — and one ``INSERT … SELECT … ON CONFLICT (key) DO UPDATE … WHERE …``
merges them, the same statement on both. A column holding one value in the whole batch
(a NULL column, the provider, the sync time) is not staged: the merge binds that value
once; the rows are streamed from the batch's columns, never held as a list of 10^5
tuples. Nothing here commits: the caller's transaction decides, so ``sync_state``'s
cursor moves with the rows it covers::

    with engine.begin() as conn:
        upsert(conn, payments, frame)
        write_sync_state(conn, state)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from itertools import compress
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from warehouse.rows import Columns, Rows, prepare, prepare_columns
from warehouse.staging import (
    create_stage,
    drop_stage,
    load_rows,
    sqlite_dialect,
    staging_table,
    storage_processor,
)
from warehouse.tables import quarantine as quarantine_table
from warehouse.types import to_utc

__all__ = [
    "QuarantineResult",
    "UpsertResult",
    "dialect_insert",
    "from_storage",
    "quarantine",
    "resolve_quarantine",
    "to_storage",
    "upsert",
    "upsert_prepared",
]


@dataclass(frozen=True)
class UpsertResult:
    """What one upsert did, per distinct key of the batch (``inserted + updated + unchanged``).

    ``stale`` counts, among ``unchanged``, the rows refused because the warehouse already
    held a newer version; ``superseded`` the rows dropped because the same batch held a
    newer version of their key.
    """

    inserted: int
    updated: int
    unchanged: int
    stale: int = 0
    superseded: int = 0

    @property
    def written(self) -> int:
        return self.inserted + self.updated


def upsert(
    conn: Connection, table: Table, rows: Rows, *, synced_at: datetime | None = None
) -> UpsertResult:
    """Merge ``rows`` into ``table``, newest version wins (module docstring); no commit.

    The counts are taken just before the merge, in the same transaction: exact on
    SQLite (the transaction holds the write lock), and on PostgreSQL exact unless
    another transaction writes the same keys at the same moment — the merge itself
    stays correct then, only the counts may be off by those rows.
    """
    if "source_version" not in table.c:
        raise TypeError(f"{table.name} has no source_version: upsert is for versioned tables")
    batch = prepare_columns(table, rows, synced_at=synced_at or datetime.now(UTC))
    return _upsert(conn, table, batch)


def upsert_prepared(
    conn: Connection, table: Table, batch: Columns, *, synced_at: datetime
) -> UpsertResult:
    """:func:`upsert` of rows already prepared: ``prepare_columns``'s canonical cells,
    row hashes and one row per key, maybe in ``conn``'s storage form (:func:`to_storage`).

    Why: a full listing's rows are prepared in other processes (``tasks.sync_prepare``);
    canonicalising them again in the one writer was a fifth of its time. Nothing is
    checked or hashed again, so the batch must come from ``prepare_columns`` for this
    very table: the same rows through :func:`upsert` store the same values and hashes.
    ``synced_at`` stamps every row (the preparer's stamp is a placeholder).
    """
    if "source_version" not in table.c:
        raise TypeError(f"{table.name} has no source_version: upsert is for versioned tables")
    if batch.columns != tuple(c.name for c in table.columns):
        raise ValueError(f"{table.name}: the batch was not prepared for this table")
    if batch.stored not in (None, conn.dialect.name):
        raise ValueError(f"{table.name}: rows stored for {batch.stored}, not {conn.dialect.name}")
    stamp: Any = to_utc(synced_at)
    if batch.stored is not None:
        stamp = storage_processor(table.c.synced_at.type, conn.dialect)(stamp)
    return _upsert(conn, table, batch.with_column("synced_at", [stamp] * len(batch)))


def to_storage(table: Table, batch: Columns, backend: str) -> Columns:
    """``batch``'s cells as ``backend``'s driver takes them, converted where the rows are
    prepared instead of in the writer (on SQLite a tenth of the writer's time: an
    instant's text, a decimal's float, a boolean's 0/1). Key columns stay as they are
    (the merge matches keys the database hands back); on PostgreSQL psycopg's COPY
    adapts Python values in C, and the batch is returned unchanged."""
    if backend != "sqlite" or batch.stored is not None:
        return batch
    dialect = sqlite_dialect()
    keys = {c.name for c in table.primary_key.columns}
    values: list[list[Any]] = []
    for name, cells in zip(batch.columns, batch.values, strict=True):
        convert = None if name in keys else storage_processor(table.c[name].type, dialect)
        values.append(
            cells if convert is None else [None if v is None else convert(v) for v in cells]
        )
    return replace(batch, values=tuple(values), stored=backend)


def from_storage(table: Table, batch: Columns, dialect: Any) -> Columns:
    """The canonical cells back from :func:`to_storage`'s (what a read of them returns)."""
    if batch.stored is None:
        return batch
    keys = {c.name for c in table.primary_key.columns}
    values: list[list[Any]] = []
    for name, cells in zip(batch.columns, batch.values, strict=True):
        kind = table.c[name].type
        convert = (
            None if name in keys else kind.dialect_impl(dialect).result_processor(dialect, None)
        )
        values.append(
            cells if convert is None else [None if v is None else convert(v) for v in cells]
        )
    return replace(batch, values=tuple(values), stored=None)


def _upsert(conn: Connection, table: Table, batch: Columns) -> UpsertResult:
    if not len(batch):
        return UpsertResult(0, 0, 0, superseded=batch.superseded)
    # 1. Probe: stage only keys, versions and hashes, and ask the table which rows to write.
    key_names = tuple(c.name for c in table.primary_key.columns)
    probe_columns = (*key_names, *_PROBED)
    probe = staging_table(table, probe_columns)
    create_stage(conn, probe)  # on failure the caller's rollback takes it away with the rest
    stored = batch.stored is not None
    probe_rows = zip(*(batch.column(n) for n in probe_columns), strict=True)
    load_rows(conn, probe, probe_columns, probe_rows, stored=stored)
    inserted, updated, stale = _classify(conn, table, probe)
    # Every row new or changed (a first load): all are written without asking which (the
    # fetch of every key, the set and the filter were a quarter of a first load).
    mask: list[bool] | None = None  # the rows to write; None: every row
    if inserted + updated < len(batch):
        # Ask which keys to write (a newer version with the same content is written too,
        # so that its version moves).
        to_write = _keys_to_write(conn, table, probe)
        keys = zip(*(batch.column(n) for n in key_names), strict=True)
        mask = [key in to_write for key in keys]
    drop_stage(conn, probe)
    # 2. Stage and merge only those: a re-run with no change stops at the probe. A column
    # with one value in the whole batch (NULLs, the provider, the sync time) is not staged
    # row by row: the merge writes that value, bound once.
    if mask is None or any(mask):
        shared = _shared_values(table, batch)
        staged = tuple(n for n in batch.columns if n not in shared)
        rows_out: Iterable[tuple[Any, ...]] = zip(*(batch.column(n) for n in staged), strict=True)
        if mask is not None:
            rows_out = compress(rows_out, mask)
        stage = staging_table(table, staged)
        create_stage(conn, stage)
        load_rows(conn, stage, staged, rows_out, stored=stored)
        conn.execute(_merge(conn, table, stage, shared, stored=stored))
        drop_stage(conn, stage)
    unchanged = len(batch) - inserted - updated
    return UpsertResult(inserted, updated, unchanged, stale, batch.superseded)


@dataclass(frozen=True)
class QuarantineResult:
    new: int  # never quarantined before (or quarantined, resolved, and back)
    seen_again: int  # already listed and unresolved: only last_seen_at/times_seen move


def quarantine(
    conn: Connection,
    rows: Sequence[Mapping[str, Any]],
    *,
    seen_at: datetime | None = None,
    run_id: str | None = None,
) -> QuarantineResult:
    """List rejected records, once per (provider, object_type, object_id); no commit.

    Each row needs ``provider``, ``object_type``, ``object_id``, ``reason`` and may carry
    ``payload`` (a dict is stored as JSON). The same record rejected again keeps its
    ``first_seen_at``, takes the latest reason and payload, and counts ``times_seen``; a
    record that was resolved and fails again is reopened.
    """
    seen_at = seen_at or datetime.now(UTC)
    stamped = [
        {**row, "first_seen_at": seen_at, "last_seen_at": seen_at, "run_id": run_id} for row in rows
    ]
    batch = prepare(quarantine_table, stamped, versioned=False)
    key_names = [c.name for c in quarantine_table.primary_key.columns]
    latest = {tuple(r[batch.columns.index(n)] for n in key_names): r for r in batch.rows}
    if not latest:
        return QuarantineResult(0, 0)
    t = quarantine_table
    open_keys = _existing_keys(conn, t, list(latest), t.c.resolved_at.is_(None))
    stmt = dialect_insert(conn, t)
    stmt = stmt.on_conflict_do_update(
        index_elements=key_names,
        set_={
            "reason": stmt.excluded.reason,
            "payload": stmt.excluded.payload,
            "last_seen_at": stmt.excluded.last_seen_at,
            "run_id": stmt.excluded.run_id,
            "times_seen": case((t.c.resolved_at.is_(None), t.c.times_seen + 1), else_=1),
            "first_seen_at": case(
                (t.c.resolved_at.is_(None), t.c.first_seen_at), else_=stmt.excluded.first_seen_at
            ),
            "resolved_at": None,
        },
    )
    conn.execute(stmt, [dict(zip(batch.columns, r, strict=True)) for r in latest.values()])
    return QuarantineResult(len(latest) - len(open_keys), len(open_keys))


def resolve_quarantine(
    conn: Connection, provider: str, object_type: str, object_ids: Sequence[str], at: datetime
) -> int:
    """Mark records that now pass as resolved (kept for the audit trail); no commit."""
    t = quarantine_table
    resolved = 0
    for start in range(0, len(object_ids), 500):
        result = conn.execute(
            t.update()
            .where(t.c.provider == provider, t.c.object_type == object_type)
            .where(t.c.object_id.in_(object_ids[start : start + 500]), t.c.resolved_at.is_(None))
            .values(resolved_at=at)
        )
        resolved += result.rowcount
    return resolved


# -- the mechanics ---------------------------------------------------------------------


_PROBED = ("source_version", "row_hash")


def _key_match(table: Table, stage: Table) -> Any:
    return and_(*(stage.c[c.name] == c for c in table.primary_key.columns))


def _classify(conn: Connection, table: Table, stage: Table) -> tuple[int, int, int]:
    """Count, before merging, how many staged keys are new, changed, or older than stored."""
    first_key = next(iter(table.primary_key.columns))
    present = first_key.is_not(None)
    newer_or_same = stage.c.source_version >= table.c.source_version
    changed = stage.c.row_hash != table.c.row_hash
    query = select(
        func.coalesce(func.sum(case((first_key.is_(None), 1), else_=0)), 0),
        func.coalesce(func.sum(case((and_(present, newer_or_same, changed), 1), else_=0)), 0),
        func.coalesce(
            func.sum(
                case((and_(present, stage.c.source_version < table.c.source_version), 1), else_=0)
            ),
            0,
        ),
    ).select_from(stage.outerjoin(table, _key_match(table, stage)))
    inserted, updated, stale = conn.execute(query).one()
    return int(inserted), int(updated), int(stale)


def _keys_to_write(conn: Connection, table: Table, probe: Table) -> set[tuple[Any, ...]]:
    """Keys whose staged row is new, newer, or the same version with other content."""
    first_key = next(iter(table.primary_key.columns))
    query = (
        select(*(probe.c[c.name] for c in table.primary_key.columns))
        .select_from(probe.outerjoin(table, _key_match(table, probe)))
        .where(
            or_(
                first_key.is_(None),
                probe.c.source_version > table.c.source_version,
                and_(
                    probe.c.source_version == table.c.source_version,
                    probe.c.row_hash != table.c.row_hash,
                ),
            )
        )
    )
    return {tuple(row) for row in conn.execute(query)}


def _shared_values(table: Table, batch: Columns) -> dict[str, Any]:
    """The non-key columns holding one value in every row of the batch, and that value.

    Only types whose equal values are stored alike (text, integers, booleans, dates,
    instants, NULL); a key column is always staged (it carries the row count).
    """
    keys = {c.name for c in table.primary_key.columns}
    shared: dict[str, Any] = {}
    for name, cells in zip(batch.columns, batch.values, strict=True):
        first = cells[0]
        if (
            name not in keys
            and type(first) in _SHAREABLE
            and cells[-1] == first
            and cells.count(first) == len(cells)
        ):
            shared[name] = first
    return shared


_SHAREABLE = (str, int, bool, date, datetime, type(None))  # not Decimal: -0 is not 0


def _merge(
    conn: Connection,
    table: Table,
    stage: Table,
    shared: Mapping[str, Any] | None = None,
    *,
    stored: bool = False,
) -> Insert:
    names = [c.name for c in table.columns]
    keys = [c.name for c in table.primary_key.columns]
    shared = shared or {}
    postgres = conn.dialect.name == "postgresql"

    def value(name: str) -> Any:
        if name not in shared:
            return stage.c[name]
        # A value in storage form already (``stored``) is bound as it is.
        bound = literal(shared[name]) if stored else literal(shared[name], table.c[name].type)
        # PostgreSQL needs the parameter's type in a SELECT list; SQLite would turn a
        # CAST to DATETIME into a number, and takes the bound text as it is.
        return (cast(bound, table.c[name].type) if postgres else bound).label(name)

    # ``WHERE true`` keeps SQLite from reading ON CONFLICT as a join constraint.
    stmt = dialect_insert(conn, table).from_select(
        names, select(*(value(n) for n in names)).select_from(stage).where(true())
    )
    excluded = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=keys,
        set_={n: excluded[n] for n in names if n not in keys},
        where=or_(
            excluded.source_version > table.c.source_version,
            and_(
                excluded.source_version == table.c.source_version,
                excluded.row_hash != table.c.row_hash,
            ),
        ),
    )


def dialect_insert(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT, the one that knows ``ON CONFLICT``."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"unsupported database {conn.dialect.name!r}")


def _existing_keys(
    conn: Connection, table: Table, keys: list[tuple[Any, ...]], *where: Any
) -> set[tuple[Any, ...]]:
    key_columns = list(table.primary_key.columns)
    found: set[tuple[Any, ...]] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        query = select(*key_columns).where(tuple_(*key_columns).in_(chunk), *where)
        found.update(tuple(row) for row in conn.execute(query))
    return found
