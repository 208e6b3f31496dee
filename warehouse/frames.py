"""Read a query's rows into a DataFrame at the driver's speed, for frames of millions of rows.

SQLAlchemy turns every value through its type's result processor and every row into a
``Row`` object: on the large shop (1.4 M payments, 1 M invoices) that per-value Python
cost is tens of seconds a night for rows that pandas then parses in bulk anyway. Here
the query still goes through SQLAlchemy (bind parameters processed, dialect SQL), but
the rows come straight from the DBAPI cursor.

What that means for the values, and why the readers here accept it: PostgreSQL (psycopg)
gives aware datetimes, ``date``, ``bool``, ``int`` and ``Decimal`` as usual; SQLite gives
instants and dates as ISO text, booleans as 0/1 and NUMERIC as ``float``. So only read
this way columns whose consumer parses text and 0/1 in bulk (``domain.dunning.inputs``:
``day``, ``instant``, ``flag``), and never a NUMERIC on SQLite (a float must not hold a
rate or money: :func:`frame` refuses it).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, Numeric, Select


def frame(conn: Connection, query: Select[Any]) -> pd.DataFrame:
    """The rows of ``query`` as a DataFrame, the driver's values unprocessed."""
    if conn.dialect.name == "sqlite":
        exact = [c.name for c in query.selected_columns if _numeric(c.type)]
        if exact:
            raise TypeError(f"NUMERIC read as float on SQLite: {exact}")
    result = conn.execute(query)
    try:
        names = list(result.keys())
        rows = result.cursor.fetchall() if result.cursor is not None else []
    finally:
        result.close()
    return pd.DataFrame.from_records(rows, columns=names)


def _numeric(kind: Any) -> bool:
    """A NUMERIC, plain or under a decorator (``warehouse.types.ExactDecimal``)."""
    return isinstance(kind, Numeric) or isinstance(getattr(kind, "impl", None), Numeric)
