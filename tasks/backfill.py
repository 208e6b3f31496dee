"""Backfill's own records: its progress bar, its summary, its ``pipeline_runs`` row."""

from __future__ import annotations

from uuid import UUID

from prefect import task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE

from domain.backfill import BackfillReport


def start_progress(description: str) -> UUID:
    """A progress artifact on the run (the UI shows it filling as steps complete)."""
    return create_progress_artifact(progress=0.0, key="backfill-progress", description=description)


def show_progress(artifact_id: UUID, done: int, steps: int) -> None:
    update_progress_artifact(artifact_id=artifact_id, progress=100.0 * done / max(steps, 1))


@task(name="publish_backfill_artifacts", cache_policy=NO_CACHE)
def publish_backfill_artifacts(report: BackfillReport) -> None:
    create_markdown_artifact(
        key="backfill-summary", markdown=report.markdown(), description="backfill"
    )
    create_table_artifact(
        key="backfill-steps",
        table=report.rows() or [{"step": "none"}],
        description=f"backfill {report.date_from}..{report.date_to}: steps",
    )
