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

What that means for the values, and why the readers here accept it: PostgreSQL (psycopg)
gives aware datetimes, ``date``, ``bool``, ``int`` and ``Decimal`` as usual; SQLite gives
instants and dates as ISO text, booleans as 0/1 and NUMERIC as ``float``. So only read
this way columns whose consumer parses text and 0/1 in bulk (``domain.dunning.inputs``:
``day``, ``instant``, ``flag``), and never a NUMERIC on SQLite (a float must not hold a
rate or money: :func:`frame` refuses it). The frame has the dtypes one ``fetchall`` would
have given: a slice where a column is all NULL takes the column's type from the others.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Numeric, Select, text

SLICE_ROWS = 100_000


def frame(conn: Connection, query: Select[Any], *, rates_as_floats: bool = False) -> pd.DataFrame:
    """The rows of ``query`` as a DataFrame, the driver's values unprocessed.

    ``rates_as_floats``: the caller reads NUMERIC columns that hold ratios, not money (the
    KPIs' rates), and takes SQLite's floats for them knowingly.
    """
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
    return joined(slices)


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


def _numeric(kind: Any) -> bool:
    """A NUMERIC, plain or under a decorator (``warehouse.types.ExactDecimal``)."""
    return isinstance(kind, Numeric) or isinstance(getattr(kind, "impl", None), Numeric)
