"""The gate, end to end and without an orchestrator: read, derive, validate, judge, record.

``run_gate`` reads the tables the suites need, adds the link and integrality columns,
validates one batch per table, quarantines the rows that broke a row-level check (and
resolves the gate's quarantine rows that pass again), and returns the verdict. It never
raises on bad data: the caller (``tasks.quality.check_data_quality``) decides to stop.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from domain.quality import GateResult, derive, judge
from expectations.batches import read_frames, record_quarantine
from expectations.run import index_page, validate
from expectations.suites import for_run


def run_gate(
    engine: Engine,
    *,
    seen_at: datetime,
    run_id: str | None = None,
    required: Iterable[str] = (),
    docs: Path | None = None,
) -> GateResult:
    """Check every unified table; quarantine row-level failures (committed); return the
    verdict. ``required`` tables must not be empty; ``docs`` is the Data Docs folder."""
    started = time.perf_counter()
    suites = for_run(required)
    with engine.connect() as conn:
        frames = read_frames(conn, suites)
    batches = derive(frames, suites.values())
    outcomes = validate(batches, suites, docs)
    result, problems = judge(suites, batches, outcomes)
    with engine.begin() as conn:
        record_quarantine(conn, suites, problems, seen_at=seen_at, run_id=run_id)
    result.seconds = round(time.perf_counter() - started, 2)
    result.docs = str(index_page(docs)) if docs is not None else None
    return result
