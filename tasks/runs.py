"""Recording a flow run: its ``pipeline_runs`` row, and the completion event once it ends.

Every flow records its run at the start (``running``) and at the end (``completed`` or
``failed``, with counts and control totals). The end also emits
``echeancier.flow.<status>`` (``tasks/events.py``) so automations and dashboards see
what the run did, not only that it ended.
"""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

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


@task(name="record-run", cache_policy=NO_CACHE)
def record_run(settings: Settings, run: PipelineRun) -> None:
    """The run's row as it stands (a write: always re-run, an upsert on the run id)."""
    save_run(settings, run)
