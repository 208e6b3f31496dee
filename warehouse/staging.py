"""Temporary staging tables: rows into the database's fast path, in the caller's transaction.

A write that must compare or merge many rows stages them first: a constraint-free
temporary twin of the target's columns, filled by PostgreSQL's ``COPY FROM STDIN``
(psycopg 3) or SQLite's ``executemany``, then one set-based statement does the rest
(``warehouse.upsert``'s merge, ``warehouse.replace``'s difference). Rows come either as
tuples of Python values (:func:`load_rows`, streamed) or as a DataFrame
(:func:`load_frame`: on PostgreSQL written as CSV by pyarrow a column at a time, the
per-cell Python work being what a million rows cannot afford). Nothing here commits.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
from sqlalchemy import Column, Connection, MetaData, Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateTable

from warehouse.frames import arrow_type
from warehouse.types import UTCDateTime

__all__ = [
    "create_stage",
    "drop_stage",
    "index_stage",
    "load_frame",
    "load_rows",
    "sqlite_dialect",
    "staging_table",
    "storage_processor",
]


def staging_table(table: Table, names: Sequence[str]) -> Table:
    """A constraint-free temporary twin of ``table``'s ``names``, named by them.

    Why named by its columns rather than uniquely: SQLAlchemy caches a compiled statement
    by the names it mentions, so the probe, the classification and the merge are compiled
    once per table and set of staged columns instead of once per batch (compiling them
    was a tenth of the sync writer's CPU). A staging table lives within one write: it is
    dropped at the end, or goes with the caller's rollback.
    """
    return _staging_shape(table, tuple(names))


@lru_cache(maxsize=512)
def _staging_shape(table: Table, names: tuple[str, ...]) -> Table:
    digest = hashlib.blake2b("\0".join(names).encode(), digest_size=6).hexdigest()
    columns = [Column(n, table.c[n].type) for n in names]
    return Table(f"stage_{table.name}_{digest}", MetaData(), *columns, prefixes=["TEMPORARY"])


def create_stage(conn: Connection, stage: Table) -> None:
    """``CREATE TEMPORARY TABLE``, its text compiled once per staging table. On SQLite a
    failed upsert whose caller went on without rolling back may have left it (a failed
    statement there does not end the transaction): it is dropped first."""
    create, drop = _ddl(stage, conn.dialect)
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(drop.replace("DROP TABLE", "DROP TABLE IF EXISTS", 1))
    conn.exec_driver_sql(create)


def drop_stage(conn: Connection, stage: Table) -> None:
    conn.exec_driver_sql(_ddl(stage, conn.dialect)[1])


@lru_cache(maxsize=512)
def _ddl(stage: Table, dialect: Any) -> tuple[str, str]:
    quoted = dialect.identifier_preparer.format_table(stage)
    return str(CreateTable(stage).compile(dialect=dialect)), f"DROP TABLE {quoted}"


def load_rows(
    conn: Connection,
    stage: Table,
    columns: tuple[str, ...],
    rows: Iterable[tuple[Any, ...]],
    *,
    stored: bool = False,
) -> None:
    """Rows into a staging table; ``rows`` may be a one-pass iterator (streamed, as
    ``zip`` makes them: one tuple at a time rather than a list of 10^5). ``stored``: the
    cells are in SQLite's storage form already (:func:`to_storage`)."""
    if conn.dialect.name == "postgresql":
        _copy(conn, stage, columns, rows)
        return
    dialect = conn.dialect
    processors = [None if stored else storage_processor(stage.c[n].type, dialect) for n in columns]
    rows = list(rows)
    if not rows:
        return
    if any(processors):
        cells = [
            [None if v is None else p(v) for v in column] if p else column
            for p, column in zip(processors, zip(*rows, strict=True), strict=True)
        ]
        rows = list(zip(*cells, strict=True))
    placeholders = ", ".join("?" for _ in columns)
    quoted = ", ".join(dialect.identifier_preparer.quote(n) for n in columns)
    conn.exec_driver_sql(f"INSERT INTO {stage.name} ({quoted}) VALUES ({placeholders})", rows)


def storage_processor(kind: Any, dialect: Any) -> Any:
    """How a canonical value is stored on SQLite: SQLAlchemy's own storage formats.

    UTC instants are written as SQLAlchemy writes a ``DATETIME`` (``2026-03-01
    08:30:00.000000``) but an order of magnitude faster, which counts at 10^5 rows.
    """
    if isinstance(kind, UTCDateTime):
        return lambda v: v.replace(tzinfo=None).isoformat(" ", "microseconds")
    return kind.dialect_impl(dialect).bind_processor(dialect)


@lru_cache(maxsize=1)
def sqlite_dialect() -> Any:
    """The dialect a SQLite engine of ``warehouse.engine`` has (pysqlite, its defaults)."""
    return sqlite.pysqlite.dialect()


def _copy(
    conn: Connection, stage: Table, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]
) -> None:
    """COPY through the driver connection: same session and transaction as ``conn``."""
    driver = conn.connection.driver_connection
    with (
        driver.cursor() as cursor,  # type: ignore[union-attr]
        cursor.copy(_copy_statement(stage, columns)) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _copy_statement(stage: Table, columns: tuple[str, ...], options: str = "") -> Any:
    """``COPY stage (columns) FROM STDIN [options]``, identifiers quoted by psycopg."""
    from psycopg import sql  # psycopg is only needed on PostgreSQL

    return sql.SQL("COPY {} ({}) FROM STDIN" + options).format(
        sql.Identifier(stage.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )


def index_stage(conn: Connection, stage: Table, columns: Sequence[str]) -> None:
    """An index on the stage's ``columns`` (it goes with the stage when dropped), and on
    PostgreSQL the stage's statistics: a staged set joined on those columns is then
    never scanned once per row of the other side, whatever the planner believes of that
    side (its counts lag behind a night's writes). SQLite has no hash join: it needs the
    index anyway."""
    quote = conn.dialect.identifier_preparer.quote
    conn.exec_driver_sql(
        f"CREATE INDEX {quote(stage.name + '_key')} ON {quote(stage.name)} "
        f"({', '.join(map(quote, columns))})"
    )
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {quote(stage.name)}")


def load_frame(conn: Connection, stage: Table, frame: pd.DataFrame) -> None:
    """``frame``'s rows (its columns named as ``stage``'s, Python or pandas values) into
    ``stage``. On PostgreSQL the columns become Arrow arrays of the stage's types and go
    through ``COPY … (FORMAT CSV)`` as pyarrow writes them (NULL an unquoted empty
    field, an empty text a quoted one, as COPY reads them); a column with no Arrow type,
    and every SQLite load, goes row by row through :func:`load_rows`."""
    names = tuple(c.name for c in stage.columns)
    types = {name: arrow_type(stage.c[name].type) for name in names}
    if conn.dialect.name != "postgresql" or None in types.values():
        _load_frame_rows(conn, stage, frame)
        return
    if frame.empty:
        return
    try:
        arrays = [_arrow(frame[name], kind) for name, kind in types.items()]
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # e.g. a decimal past its column's scale:
        _load_frame_rows(conn, stage, frame)  # the database rounds it, as an insert does
        return
    buffer = io.BytesIO()
    pcsv.write_csv(
        pa.table(arrays, names=list(names)), buffer, pcsv.WriteOptions(include_header=False)
    )
    _copy_csv(conn, stage, names, buffer.getvalue())


def _load_frame_rows(conn: Connection, stage: Table, frame: pd.DataFrame) -> None:
    """``frame``'s rows into ``stage`` as Python values (:func:`load_rows`)."""
    names = tuple(c.name for c in stage.columns)
    clean = frame[list(names)].astype(object).where(frame[list(names)].notna(), None)
    load_rows(conn, stage, names, zip(*(clean[n].tolist() for n in names), strict=True))


def _arrow(values: pd.Series, kind: pa.DataType) -> pa.Array:
    """``values`` as an Arrow array of ``kind`` (missing values of any kind as nulls)."""
    clean = values.astype(object).where(values.notna(), None)
    return pa.array(clean.tolist(), type=kind)


def _copy_csv(conn: Connection, stage: Table, columns: tuple[str, ...], data: bytes) -> None:
    driver = conn.connection.driver_connection
    statement = _copy_statement(stage, columns, " (FORMAT CSV)")
    with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for start in range(0, len(data), _COPY_CHUNK):
            copy.write(data[start : start + _COPY_CHUNK])


_COPY_CHUNK = 1 << 20
