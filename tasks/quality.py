"""The data quality gate as a Prefect task: run it, show it, stop the chain if it failed.

Runs after ``sync`` and before anything that acts. Row-level failures are quarantined
and the task completes; a table-level failure publishes the artifacts, then raises
``DataQualityError`` naming each table and expectation, so the task and the flow run
turn Failed with that message in the Prefect UI and no later step runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)
from prefect.cache_policies import NO_CACHE

from domain.quality import DataQualityError, GateResult, artifact_rows, markdown
from echeancier.settings import Settings
from expectations.gate import run_gate
from tasks.sync_common import engine_for

DATA_DOCS = Path("var/gx")  # GX Data Docs (static HTML); tests point it at a tmp folder


@task(name="check_data_quality", cache_policy=NO_CACHE)
def check_data_quality(
    settings: Settings,
    seen_at: datetime,
    run_id: str | None = None,
    required: Iterable[str] = (),
) -> GateResult:
    """Validate the warehouse; quarantine bad rows; raise if a table-level check failed.

    ``required``: tables the providers returned rows for this run (see
    ``domain.quality.tables_with_rows``), which must therefore not be empty.
    """
    result = run_gate(
        engine_for(settings.database_url),
        seen_at=seen_at,
        run_id=run_id,
        required=tuple(required),
        docs=DATA_DOCS,
    )
    publish_gate(result)
    get_run_logger().info(result.message)
    if not result.passed:
        raise DataQualityError(result.message)
    return result


def publish_gate(result: GateResult) -> None:
    """A markdown verdict, a table of checks per table and a link to the Data Docs, keyed
    for history."""
    create_markdown_artifact(
        key="quality-gate", markdown=markdown(result), description="data quality gate"
    )
    create_table_artifact(
        key="quality-checks",
        table=artifact_rows(result),
        description="data quality gate: failures per table and expectation",
    )
    if result.docs:
        create_link_artifact(
            key="quality-data-docs",
            link=Path(result.docs).resolve().as_uri(),
            link_text="GX Data Docs",
            description="data quality gate: Data Docs",
        )
