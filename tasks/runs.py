"""Recording a flow run: its ``pipeline_runs`` row, and the completion event once it ends.

Every flow records its run at the start (``running``) and at the end (``completed`` or
``failed``, with counts and control totals). The end also emits
``echeancier.flow.<status>`` (``tasks/events.py``) so automations and dashboards see
what the run did, not only that it ended.

A plain function, not a task: it is the flow's bookkeeping, not a step of its work. As a
task it made two task runs per flow run (14 a night), each with its events and records
on the Prefect server, for a one-row upsert an operator never needs to see or retry
alone (issue 10's orchestration profile).
"""

from __future__ import annotations

from echeancier.settings import Settings
from tasks.events import emit_run_event
from tasks.sync_common import engine_for
from warehouse.state import PipelineRun
from warehouse.state import record_run as upsert_run


def save_run(settings: Settings, run: PipelineRun) -> None:
    """Upsert ``run``'s row; when it has ended, emit its completion event."""
    with engine_for(settings.database_url).begin() as conn:
        upsert_run(conn, run)
    if run.status != "running":
        emit_run_event(run)
