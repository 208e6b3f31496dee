"""The gate's reads and writes on the warehouse: batch frames in, quarantine rows out.

Only the columns a suite checks are read (150k payments in well under a second), never
``email`` or ``name``; the full row is fetched again only for the few rows quarantined,
as the quarantine's ``payload`` (masked). Quarantine rows of the gate carry the table's
name as ``object_type`` (``payments``), the sync's carry the provider's object type
(``payment``), so the gate resolves only its own: a row that passes tonight is marked
resolved, one that fails again keeps its ``first_seen_at`` and counts ``times_seen``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Date, select

from domain.quality import masked_payload, object_ids
from expectations.spec import TableSuite
from warehouse import tables
from warehouse.frames import frame
from warehouse.types import UTCDateTime
from warehouse.upsert import quarantine, resolve_quarantine

CHUNK = 500


def read_frames(conn: Connection, suites: Mapping[str, TableSuite]) -> dict[str, pd.DataFrame]:
    """One frame per suite, with its read columns; instants as naive UTC (GX compares
    those without pandas' deprecation warnings), dates as datetimes."""
    return {name: read_frame(conn, suite) for name, suite in suites.items()}


def read_frame(conn: Connection, suite: TableSuite) -> pd.DataFrame:
    """The driver's tuples straight into pandas: SQLAlchemy's per-value result processing
    and ``Row`` objects cost seconds on 150k rows; pandas parses instants and dates in
    bulk instead (SQLite hands back ISO strings, PostgreSQL aware datetimes)."""
    table = tables.metadata.tables[suite.table]
    names = list(suite.read_columns)
    rows = frame(conn, select(*[table.c[name] for name in names]))  # warehouse/frames.py
    converted: dict[str, Any] = {}
    for name in names:
        kind = table.c[name].type
        if isinstance(kind, UTCDateTime):
            instants = pd.to_datetime(rows[name], utc=True, format="ISO8601")
            converted[name] = instants.dt.tz_convert(None)
        elif isinstance(kind, Date):
            converted[name] = pd.to_datetime(rows[name], format="ISO8601")
    return rows.assign(**converted)


def full_rows(conn: Connection, suite: TableSuite, ids: set[str]) -> dict[str, dict[str, Any]]:
    """The complete rows (every column) of the quarantined objects, by ``object_id``."""
    table = tables.metadata.tables[suite.table]
    first = table.c[suite.key[0]]
    heads = sorted({i.split("/", 1)[0] if len(suite.key) > 1 else i for i in ids})
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(heads), CHUNK):
        rows = conn.execute(select(table).where(first.in_(heads[start : start + CHUNK])))
        frame = pd.DataFrame(rows.mappings().all())
        if frame.empty:
            continue
        frame = frame.assign(_id=object_ids(frame, suite.key))
        for record in frame[frame["_id"].isin(ids)].to_dict("records"):
            out[str(record.pop("_id"))] = record
    return out


def record_quarantine(
    conn: Connection,
    suites: Mapping[str, TableSuite],
    problems: pd.DataFrame,
    *,
    seen_at: datetime,
    run_id: str | None = None,
) -> tuple[int, int]:
    """Quarantine tonight's problem rows and resolve the gate's rows that now pass; no
    commit. Returns (quarantined, resolved)."""
    written = 0
    for name, group in problems.groupby("object_type"):
        suite = suites[str(name)]
        rows = full_rows(conn, suite, set(group["object_id"]))
        records = [
            {**problem, "payload": masked_payload(rows.get(problem["object_id"], {}))}
            for problem in group.to_dict("records")
        ]
        quarantine(conn, records, seen_at=seen_at, run_id=run_id)
        written += len(records)
    failing = set(zip(problems["object_type"], problems["object_id"], strict=True))
    resolved = 0
    q = tables.quarantine
    open_rows = conn.execute(
        select(q.c.provider, q.c.object_type, q.c.object_id).where(
            q.c.object_type.in_(list(suites)), q.c.resolved_at.is_(None)
        )
    ).all()
    passing: dict[tuple[str, str], list[str]] = {}
    for provider, object_type, object_id in open_rows:
        if (object_type, object_id) not in failing:
            passing.setdefault((provider, object_type), []).append(object_id)
    for (provider, object_type), ids in passing.items():
        resolved += resolve_quarantine(conn, provider, object_type, ids, seen_at)
    return written, resolved


def open_quarantine(conn: Connection, table: str) -> set[str]:
    """The keys of ``table`` the gate holds in quarantine (any night): later steps skip
    them. A composite key reads ``invoice_id/line_key``."""
    q = tables.quarantine
    query = select(q.c.object_id).where(q.c.object_type == table, q.c.resolved_at.is_(None))
    return set(conn.execute(query).scalars())
