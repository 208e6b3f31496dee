"""Make a table's rows within a scope exactly a frame's rows, by primary key.

The tax returns are recomputed whole every night (tasks/tax.py) and most of their lines
are the same as the night before. Comparing them in Python meant every stored row and
every new one as a dict: on the large benchmark shop a million of each, seconds of the
night and a gigabyte of its memory. Instead the frame is staged (warehouse/staging.py:
``COPY`` on PostgreSQL) and three statements make the difference::

    DELETE the scope's rows whose key is not staged        -- gone
    UPDATE the rows whose staged columns differ            -- changed (NULLs equal)
    INSERT the staged rows whose key is not stored         -- new

The count returned is their sum, so a second run with the same frame reports (and
writes) nothing. Only the frame's columns are compared and written: a column it lacks
keeps its stored value (the VAT lines' ``customer_key`` on a night without the
pseudonym secret). Keys are expected to be unique across scopes (the tax tables' ids
include the return's regime and period); a key given twice in the frame keeps its last
row. Nothing here commits.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import ColumnElement, Connection, Table, and_, delete, exists, or_, select, update

from warehouse.staging import create_stage, drop_stage, index_stage, load_frame, staging_table

__all__ = ["replace_rows"]


def replace_rows(
    conn: Connection, table: Table, scope: ColumnElement[bool], frame: pd.DataFrame
) -> int:
    """Make ``table``'s rows matching ``scope`` exactly ``frame``'s rows (module
    docstring); returns how many rows were deleted, updated or inserted."""
    keys = [c.name for c in table.primary_key.columns]
    names = tuple(frame.columns)
    unknown = sorted(set(names) - set(table.c.keys()))
    if unknown or not set(keys) <= set(names):
        raise ValueError(f"{table.name}: the frame's columns {unknown or keys} do not fit")
    frame = frame.drop_duplicates(keys, keep="last")
    stage = staging_table(table, names)
    create_stage(conn, stage)
    load_frame(conn, stage, frame)
    index_stage(conn, stage, keys)  # the key lookups below never scan the stage per row
    staged = and_(*(stage.c[k] == table.c[k] for k in keys))
    values = [n for n in names if n not in keys]
    gone = conn.execute(delete(table).where(scope, ~exists().where(staged))).rowcount
    changed = 0
    if values:
        differs = or_(*(table.c[n].is_distinct_from(stage.c[n]) for n in values))
        change = update(table).where(staged, differs).values({n: stage.c[n] for n in values})
        changed = conn.execute(change).rowcount
    new = select(*(stage.c[n] for n in names)).where(~exists().where(staged))
    insert = table.insert().from_select(list(names), new)
    # an INSERT's count is kept only when asked for (SQLAlchemy 2: ``preserve_rowcount``)
    fresh = conn.execute(insert.execution_options(preserve_rowcount=True)).rowcount
    drop_stage(conn, stage)  # its index goes with it
    return int(gone) + int(changed) + int(fresh)
