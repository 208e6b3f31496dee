"""The ``nightly`` flow: the whole calendar for one business date.

For now it syncs the providers and publishes what the sync did; the quality gate,
reconciliation and the flows that act (dunning, notices, tax, KPIs) join it as they
are built. Run by ``echeancier run nightly [--as-of DATE]`` or the nightly deployment.
"""

from __future__ import annotations

from datetime import date

from prefect import flow

from domain.sync_plan import SyncReport
from flows.sync import sync
from tasks.report import publish_sync_summary


@flow(name="nightly")
def nightly(as_of: date | None = None, dry_run: bool = False) -> SyncReport:
    """Sync, then publish the summary. ``dry_run`` changes nothing yet: syncing only reads
    from the providers, and no step that acts has joined the chain."""
    report = sync(as_of=as_of)
    publish_sync_summary(report, flow="nightly")
    return report
