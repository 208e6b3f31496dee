"""Reconcile tasks: read the facts, run the rules, merge the register, publish, record.

Thin wrappers: the rules and the register logic are ``domain.reconcile``; the only work
here is moving frames in and out of the warehouse. The register is read, merged and its
changed rows written in one transaction, so a crash leaves last night's register whole.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pandas as pd
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Connection, select

from domain import reconcile as recon
from domain.reconcile import Frames, ReconPolicy, ReconReport
from echeancier.settings import Settings
from tasks.sync_common import engine_for
from warehouse import tables
from warehouse.frames import frame
from warehouse.upsert import dialect_insert

_CHUNK = 1000


@task(name="load_recon_policy", persist_result=True)  # Retry reuses it
def load_recon_policy(settings: Settings) -> ReconPolicy:
    """``policies/reconciliation.yaml``, in the business time zone of the settings."""
    return replace(recon.load_policy(settings.policies), timezone=settings.timezone)


@task(name="read_recon_frames", cache_policy=NO_CACHE)  # Retry re-reads: fresher, seconds
def read_recon_frames(settings: Settings) -> Frames:
    """The columns the rules read, from every fact table they need.

    Not persisted: pickling these frames for a Retry and hashing them for the cache key
    cost more than reading them again (6 s on the medium shop, growing with it), and a
    Retry then reconciles the facts as they are now rather than as they were.
    """
    with engine_for(settings.database_url).connect() as conn:
        return Frames(**{name: _read(conn, name, cols) for name, cols in recon.COLUMNS.items()})


@task(name="find_recon_exceptions", cache_policy=NO_CACHE)  # recomputed from the fresh read
def find_recon_exceptions(frames: Frames, as_of: date, policy: ReconPolicy) -> pd.DataFrame:
    return recon.find_exceptions(frames, as_of, policy)


@task(name="update_recon_register", cache_policy=NO_CACHE)
def update_recon_register(settings: Settings, found: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Merge tonight's exceptions into ``recon_exceptions``; return the whole register."""
    table = tables.recon_exceptions
    with engine_for(settings.database_url).begin() as conn:
        stored = _read(conn, table.name, recon.REGISTER_COLUMNS)
        register = recon.update_register(stored, found, as_of)
        write = recon.changed_rows(stored, register)
        records = [
            {k: (None if _missing(v) else v) for k, v in row.items()}
            for row in write.to_dict("records")
        ]
        for start in range(0, len(records), _CHUNK):
            _upsert(conn, records[start : start + _CHUNK])
    return register


@task(name="publish_recon_artifacts", cache_policy=NO_CACHE)
def publish_recon_artifacts(report: ReconReport) -> None:
    """A markdown summary, exceptions by kind and the control totals, as artifacts."""
    create_markdown_artifact(
        key="reconcile-summary", markdown=recon.markdown(report), description="reconcile"
    )
    create_table_artifact(
        key="reconcile-exceptions",
        table=report.by_kind or [{"kind": "none"}],
        description=f"reconcile: exceptions by kind on {report.as_of}",
    )
    create_table_artifact(
        key="reconcile-control-totals",
        table=report.control_totals or [{"object": "none"}],
        description=f"reconcile: matched vs unmatched on {report.as_of}",
    )


def _read(conn: Connection, name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """The columns of a table as driver values, instants parsed by pandas in one pass.

    Letting SQLAlchemy build rows and convert every instant one by one costs seconds on
    the medium shop; the driver's tuples and its text (SQLite) or datetimes (PostgreSQL)
    go into pandas at once here, on the same connection and transaction.
    Dates stay as the driver gives them (``datetime.date`` or ISO text): the rules
    parse them where they compare them.
    """
    table = tables.metadata.tables[name]
    out = frame(conn, select(*(table.c[c] for c in columns)))  # warehouse/frames.py
    for column in columns:
        if column.endswith("_at"):
            out[column] = pd.to_datetime(out[column], utc=True, format="ISO8601")
    return out


def _upsert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = tables.recon_exceptions
    stmt = dialect_insert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["exception_id"],
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name != "exception_id"},
    )
    conn.execute(stmt, rows)


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
