"""Read a query's rows into a DataFrame at the driver's speed, for frames of millions of rows.

SQLAlchemy turns every value through its type's result processor and every row into a
``Row`` object: on the large shop (1.4 M payments, 1 M invoices) that per-value Python
cost is tens of seconds a night for rows that pandas then parses in bulk anyway. Here
the query still goes through SQLAlchemy (bind parameters processed, dialect SQL), but
the rows come straight from the DBAPI cursor.

Memory: the rows come in slices of :data:`SLICE_ROWS`, each turned into a frame before
the next is fetched, so the driver's Python tuples of a whole table never exist at once
(on the large shop they were the size of the frame again). On PostgreSQL the query runs
as a server-side cursor, so libpq does not hold the whole result either. Text columns
land in pandas' ``str`` dtype, which pyarrow stores as one buffer per column instead of
one Python object per value (a third of the memory on the large shop's payments).

On PostgreSQL a query whose columns all have an Arrow twin (text, integers, booleans,
dates, instants, NUMERIC with its precision) does not go through the driver's rows at
all: the server writes it with ``COPY (query) TO STDOUT`` as CSV, and pyarrow's CSV
reader parses the stream block by block with each column's type given, not guessed
(:func:`copied`). That is the database's fast path out, as ``COPY FROM`` is the way in:
on 1.4 M payments-shaped rows 7.9 s through the cursor, 1.9 s this way
(bench/read_paths.py; ~1.3 s of it is the server and libpq handing over one message per
row, which is the floor). The frame is the one the cursor gives
(compared column by column in tests/warehouse/test_frames.py), instants in UTC on both
ways, except where the cursor has nothing to go by: an empty result, or a column with no
value at all, keeps its type here where the cursor gives Python objects.

What that means for the values, and why the readers here accept it: PostgreSQL (psycopg)
gives aware datetimes, ``date``, ``bool``, ``int`` and ``Decimal`` as usual; SQLite gives
instants and dates as ISO text, booleans as 0/1 and NUMERIC as ``float``. So only read
this way columns whose consumer parses text and 0/1 in bulk (``domain.dunning.inputs``:
``day``, ``instant``, ``flag``), and never a NUMERIC on SQLite (a float must not hold a
rate or money: :func:`frame` refuses it). The frame has the dtypes one ``fetchall`` would
have given: a slice where a column is all NULL takes the column's type from the others.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    DateTime,
    Integer,
    Numeric,
    Select,
    String,
    text,
)
from sqlalchemy.exc import CompileError
from sqlalchemy.types import TypeDecorator

from warehouse.types import ExactDecimal, UTCDateTime

SLICE_ROWS = 100_000
# The warehouse's decorated types whose result processing gives on PostgreSQL what the
# COPY read gives: an aware instant in UTC, a ``Decimal`` of the column's scale.
SAME_VALUES = (UTCDateTime, ExactDecimal)
COPY_BLOCK_BYTES = 8 << 20  # what pyarrow parses at a time: a few tens of thousands of rows


def frame(conn: Connection, query: Select[Any], *, rates_as_floats: bool = False) -> pd.DataFrame:
    """The rows of ``query`` as a DataFrame, the driver's values unprocessed.

    ``rates_as_floats``: the caller reads NUMERIC columns that hold ratios, not money (the
    KPIs' rates), and takes SQLite's floats for them knowingly.
    """
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        plan = copy_plan(conn, query)
        if plan is not None:
            return copied(conn, *plan)
    return fetched(conn, query, rates_as_floats=rates_as_floats)


def typed_frame(conn: Connection, query: Select[Any]) -> pd.DataFrame:
    """The rows of ``query`` with the values SQLAlchemy's types give them (``Decimal``
    NUMERICs and aware UTC instants on SQLite too), for readers that need exact values
    whatever the database (the VAT rules' rates). On PostgreSQL the COPY read gives those
    very values (its types are the warehouse's own: :data:`SAME_VALUES`); elsewhere each
    row goes through the types' result processors."""
    if conn.dialect.name == "postgresql":
        plan = copy_plan(conn, query, processed=True)
        if plan is not None:
            return copied(conn, *plan)
    names = list(query.selected_columns.keys())
    return pd.DataFrame([tuple(r) for r in conn.execute(query)], columns=names)


def fetched(conn: Connection, query: Select[Any], *, rates_as_floats: bool = False) -> pd.DataFrame:
    """The rows of ``query`` from the driver's cursor, a slice at a time (any database)."""
    postgres = conn.dialect.name == "postgresql"
    if not postgres and not rates_as_floats:
        exact = [c.name for c in query.selected_columns if _numeric(c.type)]
        if exact:
            raise TypeError(f"NUMERIC read as float on SQLite: {exact}")
    if postgres:
        # A cursor is planned for its first rows unless told that all of them are read.
        conn.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))
        query = query.execution_options(stream_results=True, max_row_buffer=SLICE_ROWS)
    result = conn.execute(query)
    try:
        names = list(result.keys())
        # The result's fetch strategy hands out the DBAPI rows unprocessed; it, not the
        # cursor, is asked, because a streamed result has already buffered a first row.
        strategy, cursor = result.cursor_strategy, result.cursor
        slices: list[pd.DataFrame] = []
        more = cursor is not None  # a statement that returns no rows has no cursor
        while more:
            rows = strategy.fetchmany(result, cursor, SLICE_ROWS)
            if rows:
                slices.append(pd.DataFrame.from_records(rows, columns=names))
            more = len(rows) == SLICE_ROWS  # a short slice is the last one
    finally:
        result.close()
    if not slices:
        return pd.DataFrame.from_records([], columns=names)
    return in_utc(joined(slices))


def in_utc(frame: pd.DataFrame) -> pd.DataFrame:
    """Aware instants in UTC, as the COPY read gives them: the driver gives them in the
    session's time zone (``Etc/UTC`` here, ``Europe/Paris`` on a server set so)."""
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.DatetimeTZDtype):
            frame[name] = frame[name].dt.tz_convert("UTC")
    return frame


def joined(slices: list[pd.DataFrame]) -> pd.DataFrame:
    """The slices as one frame with the dtypes of one read of all their rows.

    A slice whose column is all NULL has inferred ``object`` for it; concatenated with a
    ``str`` or datetime slice that would turn the whole column into Python objects, so
    it first takes the type the rows with values gave (an integer column with a NULL
    somewhere becomes ``float64``, as ``from_records`` makes it; a boolean one stays
    objects, as it does there).
    """
    if len(slices) == 1:
        return slices[0]
    for name in slices[0].columns:
        kinds = {s[name].dtype for s in slices}
        if len(kinds) == 1:
            continue
        empty = [s[name].isna().all() for s in slices]
        typed = next((s[name].dtype for s, e in zip(slices, empty, strict=True) if not e), None)
        if typed is None or typed in (np.dtype(object), np.dtype(bool)):
            continue
        target = "float64" if pd.api.types.is_integer_dtype(typed) else typed
        for piece, none in zip(slices, empty, strict=True):
            if none and piece[name].dtype != target:
                piece[name] = piece[name].astype(target)
    return pd.concat(slices, ignore_index=True)


def copy_plan(
    conn: Connection, query: Select[Any], *, processed: bool = False
) -> tuple[str, dict[str, pa.DataType]] | None:
    """``query`` as SQL with its values written in, and each column's Arrow type; ``None``
    when a column has no Arrow twin here (JSON, an expression of unknown type), two
    columns share a name, or a value cannot be written as a literal: such queries take
    the cursor's way. ``processed``: also ``None`` for a decorated type whose result
    processor may give other values than the column's own (not in :data:`SAME_VALUES`)."""
    types: dict[str, pa.DataType] = {}
    for column in query.selected_columns:
        decorated = isinstance(column.type, TypeDecorator)
        if processed and decorated and not isinstance(column.type, SAME_VALUES):
            return None
        kind = arrow_type(column.type)
        if kind is None or column.name in types:
            return None
        types[column.name] = kind
    try:
        sql = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    except (CompileError, NotImplementedError):
        return None
    return str(sql), types


def arrow_type(kind: Any) -> pa.DataType | None:
    """The Arrow type a column of SQL type ``kind`` is parsed as, if it has one."""
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, Boolean):
        return pa.bool_()
    if isinstance(kind, Integer):
        return pa.int64()  # what the cursor's ``int`` values become
    if isinstance(kind, String):
        return pa.string()
    if isinstance(kind, DateTime):
        return pa.timestamp("us", tz="UTC" if kind.timezone else None)
    if isinstance(kind, Date):
        return pa.date32()
    if isinstance(kind, Numeric) and kind.asdecimal and kind.precision and kind.scale is not None:
        return pa.decimal128(kind.precision, kind.scale)
    return None


def copied(conn: Connection, sql: str, types: dict[str, pa.DataType]) -> pd.DataFrame:
    """The rows of ``sql`` written by the server as CSV and parsed by pyarrow.

    Runs on the connection's own transaction (so it sees its temporary tables and
    uncommitted rows). NULL is an unquoted empty field and an empty text a quoted one, so
    the two stay apart; dates are written as ISO whatever the server's ``DateStyle``.
    """
    conn.execute(text("SET LOCAL DateStyle = 'ISO, YMD'"))
    names = list(types)
    with (
        conn.connection.cursor() as cursor,  # type: ignore[union-attr]
        cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT CSV)") as stream,
    ):
        rows = _Chunks(stream)
        if rows.empty():  # pyarrow refuses a CSV of no bytes at all
            return pa.table(
                [pa.array([], type=kind) for kind in types.values()], names=names
            ).to_pandas(types_mapper=_pandas_type)
        reader = pcsv.open_csv(
            rows,
            read_options=pcsv.ReadOptions(column_names=names, block_size=COPY_BLOCK_BYTES),
            parse_options=pcsv.ParseOptions(newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                column_types=types,
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                true_values=["t"],
                false_values=["f"],
            ),
        )
        table = reader.read_all()
    return table.to_pandas(types_mapper=_pandas_type, self_destruct=True, split_blocks=True)


def _pandas_type(kind: pa.DataType) -> Any:
    """Text as pandas' ``str`` (kept in the Arrow buffers); the rest as the cursor's."""
    return pd.StringDtype("pyarrow", na_value=np.nan) if kind == pa.string() else None


class _Chunks(io.RawIOBase):
    """The COPY stream as a file pyarrow can read from. The server sends one message per
    row, so each read gathers as many of them as the reader asked for (a read that
    returned one row would have pyarrow ask again for a whole block, row after row)."""

    def __init__(self, chunks: Iterable[Any]) -> None:
        self._chunks: Iterator[Any] = iter(chunks)
        self._pending = bytearray(next(self._chunks, b""))

    def empty(self) -> bool:
        return not self._pending

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        pending, room = self._pending, len(view)
        if len(pending) < room:
            for chunk in self._chunks:  # the loop each row goes through: kept to two steps
                pending += chunk
                if len(pending) >= room:
                    break
        size = min(room, len(pending))
        view[:size] = pending[:size]
        del pending[:size]
        return size


def _numeric(kind: Any) -> bool:
    """A NUMERIC, plain or under a decorator (``warehouse.types.ExactDecimal``)."""
    return isinstance(kind, Numeric) or isinstance(getattr(kind, "impl", None), Numeric)
