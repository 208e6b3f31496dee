"""The ``nightly`` flow: the whole calendar for one business date.

Sync the providers, pass the data through the quality gate, reconcile, publish. The gate
stands before every step that acts: a table-level failure stops the chain here, with the
table and the expectation named in the run's message, before reconciliation (and, as
they are built, dunning, notices, tax reports and KPIs). Run by
``echeancier run nightly [--as-of DATE]`` or the nightly deployment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from prefect import flow

from domain.quality import tables_with_rows
from domain.summary import NightlyReport
from echeancier.settings import load_settings
from flows.reconcile import reconcile
from flows.sync import sync
from tasks.quality import check_data_quality
from tasks.report import publish_nightly_summary


def utc_now() -> datetime:
    """The run's clock (the one read of the time; tests point it at the sandbox's)."""
    return datetime.now(UTC)


@flow(name="nightly")
def nightly(as_of: date | None = None, dry_run: bool = False) -> NightlyReport:
    """Sync, check, reconcile, publish. ``dry_run`` changes nothing yet: no step that
    acts on customers has joined the chain (sync and reconciliation only read and record)."""
    settings = load_settings()
    synced = sync(as_of=as_of)
    required = tables_with_rows(synced.control_totals)
    gate = check_data_quality(settings, utc_now(), synced.run_id, required=required)
    reconciled = reconcile(as_of=date.fromisoformat(synced.as_of))
    report = NightlyReport(sync=synced, gate=gate, reconcile=reconciled)
    publish_nightly_summary(report)
    return report
