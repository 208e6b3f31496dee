"""Read and write the pipeline's own state: stream cursors and flow-run records.

A cursor is only worth something if it never runs ahead of the rows: write it with
``write_sync_state`` on the same connection, in the same transaction, as the
``upsert`` of the rows it covers. A crash then loses both or neither, and the next
night re-reads from the old cursor (the upsert makes the re-read harmless)::

    with engine.begin() as conn:
        upsert(conn, payments, page_rows)
        write_sync_state(conn, replace(state, cursor="evt_1Q…", mode="incremental"))

Nothing here commits, and no clock is read unless the caller leaves ``at`` out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, select

from warehouse.rows import prepare
from warehouse.tables import pipeline_runs, sync_state
from warehouse.upsert import dialect_insert


@dataclass(frozen=True)
class SyncState:
    """Where one provider stream (``stripe``/``invoices``, ``gocardless``/``events``) stands.

    ``mode`` is ``full`` until a first complete listing has landed, then ``incremental``.
    ``cursor`` is opaque to the warehouse (an event id, a page cursor, an ISO time);
    ``watermark`` is the provider time up to which everything is known to be synced;
    ``details`` holds anything else the stream needs to resume (e.g. listed time slices).
    """

    provider: str
    stream: str
    mode: str = "full"
    cursor: str | None = None
    watermark: datetime | None = None
    last_event_id: str | None = None
    rows_synced: int = 0
    details: Mapping[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None


def read_sync_state(conn: Connection, provider: str, stream: str) -> SyncState | None:
    """The stored state of one stream, or ``None`` before its first sync."""
    row = conn.execute(
        select(sync_state).where(sync_state.c.provider == provider, sync_state.c.stream == stream)
    ).one_or_none()
    return None if row is None else _state(row._mapping)


def read_sync_states(conn: Connection, provider: str | None = None) -> list[SyncState]:
    """Every stream's state (of one provider if given), ordered by provider and stream."""
    query = select(sync_state).order_by(sync_state.c.provider, sync_state.c.stream)
    if provider is not None:
        query = query.where(sync_state.c.provider == provider)
    return [_state(row._mapping) for row in conn.execute(query)]


def write_sync_state(
    conn: Connection, state: SyncState, *, at: datetime | None = None
) -> SyncState:
    """Store ``state`` (insert or replace); no commit. Returns it with ``updated_at`` set."""
    state = SyncState(**{**asdict(state), "updated_at": at or state.updated_at or _now()})
    values = {**asdict(state), "details": _json(state.details)}
    _upsert_one(conn, sync_state, values)
    return state


@dataclass(frozen=True)
class PipelineRun:
    """One flow run, as the nightly summary and operators see it.

    ``counts`` (rows per stream, exceptions per kind…) and ``control_totals`` (counts
    and sums per provider compared with what the provider returned) are stored as JSON.
    """

    run_id: str
    flow: str
    as_of: date
    started_at: datetime
    status: str = "running"
    dry_run: bool = False
    parent_run_id: str | None = None
    finished_at: datetime | None = None
    counts: Mapping[str, Any] = field(default_factory=dict)
    control_totals: Mapping[str, Any] = field(default_factory=dict)
    message: str | None = None

    def finished(
        self,
        status: str,
        at: datetime,
        *,
        counts: Mapping[str, Any] | None = None,
        control_totals: Mapping[str, Any] | None = None,
        message: str | None = None,
    ) -> PipelineRun:
        """This run as it ended: every flow records its end the same way."""
        return replace(
            self,
            status=status,
            finished_at=at,
            counts=counts or {},
            control_totals=control_totals or {},
            message=message,
        )


def record_run(conn: Connection, run: PipelineRun) -> None:
    """Insert or update the run's row (called at start, then at the end); no commit."""
    values = asdict(run)
    values["counts"] = _json(run.counts)
    values["control_totals"] = _json(run.control_totals)
    _upsert_one(conn, pipeline_runs, values)


def read_run(conn: Connection, run_id: str) -> PipelineRun | None:
    row = conn.execute(select(pipeline_runs).where(pipeline_runs.c.run_id == run_id)).one_or_none()
    if row is None:
        return None
    values = dict(row._mapping)
    values["counts"] = json.loads(values["counts"] or "{}")
    values["control_totals"] = json.loads(values["control_totals"] or "{}")
    return PipelineRun(**values)


def _upsert_one(conn: Connection, table: Any, values: Mapping[str, Any]) -> None:
    batch = prepare(table, [values], versioned=False)
    row = dict(zip(batch.columns, batch.rows[0], strict=True))
    keys = [c.name for c in table.primary_key.columns]
    stmt = dialect_insert(conn, table).values(row)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=keys, set_={k: v for k, v in row.items() if k not in keys}
        )
    )


def _state(row: Mapping[str, Any]) -> SyncState:
    return SyncState(**{**row, "details": json.loads(row["details"] or "{}")})


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _now() -> datetime:
    return datetime.now(UTC)
