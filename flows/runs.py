"""What every flow needs to know about its own run: its id, and its ``pipeline_runs`` row.

Every acting flow has the same bookkeeping around its steps: a ``running`` row when it
starts, then ``completed`` with its counts and control totals, or ``failed`` with the
error's first 500 characters, and the completion event either way. :func:`recorded_run`
owns that lifecycle, so a flow's body reads as the table of contents of its steps::

    with recorded_run(settings, "tax-report", as_of, started, utc_now) as run:
        ...steps...
        run.done(counts=report.counts())

A failure inside the block is recorded and re-raised (Prefect marks the flow run failed;
an operator's Retry starts a new row under the same run id).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from echeancier.settings import Settings
from tasks.runs import save_run
from warehouse.state import PipelineRun

MESSAGE_CHARS = 500  # pipeline_runs.message keeps the error's start, not a whole traceback


def current_run_id() -> str:
    """The Prefect flow run id (a fresh uuid outside a run), the key of ``pipeline_runs``."""
    from prefect.runtime import flow_run

    return str(flow_run.id or uuid.uuid4())


@dataclass
class RunHandle:
    """The open run: its row as it started, and what the block reports at its end."""

    run: PipelineRun
    counts: Mapping[str, Any] = field(default_factory=dict)
    control_totals: Mapping[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.run.run_id

    def done(
        self,
        counts: Mapping[str, Any] | None = None,
        control_totals: Mapping[str, Any] | None = None,
    ) -> None:
        """What the ``completed`` row will carry (call it last in the block)."""
        self.counts = counts or {}
        self.control_totals = control_totals or {}


@contextmanager
def recorded_run(
    settings: Settings,
    flow: str,
    as_of: date,
    started: datetime,
    clock: Callable[[], datetime],
    *,
    dry_run: bool = False,
) -> Iterator[RunHandle]:
    """Record ``flow``'s run as running, then as completed or failed when the block ends.

    ``clock`` is the flow module's own ``utc_now`` (tests point it at the sandbox's
    clock), read once at the end.
    """
    handle = RunHandle(PipelineRun(current_run_id(), flow, as_of, started, dry_run=dry_run))
    save_run(settings, handle.run)
    try:
        yield handle
    except Exception as exc:
        message = str(exc)[:MESSAGE_CHARS]
        save_run(settings, handle.run.finished("failed", clock(), message=message))
        raise
    save_run(
        settings,
        handle.run.finished(
            "completed", clock(), counts=handle.counts, control_totals=handle.control_totals
        ),
    )
