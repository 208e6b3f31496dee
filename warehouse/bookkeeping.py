"""Tables about the pipeline itself rather than the shop: cursors, rejects, runs, raw copies.

- ``sync_state``: one row per provider stream (``stripe``/``events``); the cursor moves
  in the same transaction as the rows it covers, so a crash re-reads, never skips.
- ``quarantine``: records that failed normalisation or validation, once per object
  (a record rejected every night keeps its ``first_seen_at`` and counts ``times_seen``).
- ``pipeline_runs``: one row per flow run, with counts and control totals as JSON text.
- ``raw_objects``: the latest JSON of every provider object synced, for audit.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, Index, Integer, String, Table, Text

from warehouse.columns import RUN_STATUSES, SYNC_MODES, at, bookkeeping, key, metadata, one_of, ref

raw_objects = Table(
    "raw_objects",
    metadata,
    key("provider", 16),
    key("object_type", 40),
    key("object_id"),
    Column("payload", Text, nullable=False),
    *bookkeeping(),
)

sync_state = Table(
    "sync_state",
    metadata,
    key("provider", 16),
    key("stream", 40),
    Column("mode", String(16), nullable=False),
    Column("cursor", String(255)),
    at("watermark"),
    ref("last_event_id"),
    Column("rows_synced", BigInteger, nullable=False, default=0),
    Column("details", Text),
    at("updated_at", nullable=False),
    one_of("mode", SYNC_MODES),
)

quarantine = Table(
    "quarantine",
    metadata,
    key("provider", 16),
    key("object_type", 40),
    key("object_id"),
    Column("reason", Text, nullable=False),
    Column("payload", Text),
    at("first_seen_at", nullable=False),
    at("last_seen_at", nullable=False),
    Column("times_seen", Integer, nullable=False, default=1),
    ref("run_id"),
    at("resolved_at"),
)

pipeline_runs = Table(
    "pipeline_runs",
    metadata,
    key("run_id"),
    Column("flow", String(64), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("dry_run", Boolean, nullable=False, default=False),
    ref("parent_run_id"),
    at("started_at", nullable=False),
    at("finished_at"),
    Column("status", String(16), nullable=False),
    Column("counts", Text),
    Column("control_totals", Text),
    Column("message", Text),
    one_of("status", RUN_STATUSES),
    Index(None, "flow", "as_of"),
)
