"""Publish what a run did where operators look: Prefect artifacts on the flow run."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from domain import summary
from domain.summary import NightlyReport
from domain.sync_plan import SyncReport


@task(name="publish_sync_summary", cache_policy=NO_CACHE)
def publish_sync_summary(report: SyncReport, flow: str = "nightly") -> None:
    """A markdown summary and a table of rows per stream, keyed so analysts see history."""
    create_markdown_artifact(
        key=f"{flow}-summary", markdown=summary.markdown(report, flow=flow), description=flow
    )
    create_table_artifact(
        key=f"{flow}-streams",
        table=summary.stream_rows(report),
        description=f"{flow}: rows per stream on {report.as_of}",
    )


@task(name="publish_nightly_summary", cache_policy=NO_CACHE)
def publish_nightly_summary(report: NightlyReport) -> None:
    """The nightly summary (sync, gate, register) and the rows per stream."""
    create_markdown_artifact(
        key="nightly-summary", markdown=summary.nightly_markdown(report), description="nightly"
    )
    create_table_artifact(
        key="nightly-streams",
        table=summary.stream_rows(report.sync),
        description=f"nightly: rows per stream on {report.sync.as_of}",
    )
