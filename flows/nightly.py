"""The ``nightly`` flow: the whole calendar for one business date.

Sync the providers, pass the data through the quality gate, reconcile, then launch the
flows that act on the reconciled state (dunning, tax report, ...), and publish. The gate stands
before every step that acts: a table-level failure stops the chain here, with the table
and the expectation named in the run's message, before anything reaches a customer.
``dry_run`` is handed to every acting flow: they record tonight's decisions as
``planned`` and send nothing. Run by ``echeancier run nightly [--as-of DATE]
[--dry-run]`` or the nightly deployment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from prefect import flow

from domain.quality import tables_with_rows
from domain.summary import NightlyReport
from echeancier.settings import load_settings
from flows.dunning import dunning
from flows.reconcile import reconcile
from flows.sync import sync
from flows.tax_report import tax_report
from tasks.quality import check_data_quality
from tasks.report import publish_nightly_summary


def utc_now() -> datetime:
    """The run's clock (the one read of the time; tests point it at the sandbox's)."""
    return datetime.now(UTC)


@flow(name="nightly")
def nightly(as_of: date | None = None, dry_run: bool = False) -> NightlyReport:
    """Sync, check, reconcile, act, publish (see the module doc)."""
    settings = load_settings()
    synced = sync(as_of=as_of)
    business_date = date.fromisoformat(synced.as_of)
    required = tables_with_rows(synced.control_totals)
    gate = check_data_quality(settings, utc_now(), synced.run_id, required=required)
    reconciled = reconcile(as_of=business_date)
    downstream = {
        "dunning": dunning(as_of=business_date, dry_run=dry_run),
        "tax_report": tax_report(as_of=business_date, dry_run=dry_run),
    }
    report = NightlyReport(sync=synced, gate=gate, reconcile=reconciled, downstream=downstream)
    publish_nightly_summary(report)
    return report
