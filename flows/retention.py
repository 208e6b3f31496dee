"""The ``retention`` flow: personal data kept no longer than ``policies/retention.yaml`` says.

Every night (its deployment runs at 03:30, after the nightly chain) it pseudonymises the
raw provider payloads, closed notices' contexts and open quarantined payloads older than
their periods, deletes resolved quarantine rows and old pipeline runs, pseudonymises
customers inactive for three years who owe nothing, and clears the VAT number from
financial records past their legal period; then it keys the analytics tables'
customers (``customer_key``, ``domain/pseudonym.py``). ``domain/retention.py`` gives each rule and
its reason; docs/privacy.md the whole picture. ``dry_run=True`` counts and changes
nothing; a second run on the same ``as_of`` changes nothing.

Example: ``echeancier run retention --as-of 2027-06-30`` →
``retention 2027-06-30: changed raw_payloads 1 204, notifications 310, pipeline_runs 92``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from domain.retention import RetentionReport, cutoffs
from echeancier.settings import load_settings
from flows.runs import recorded_run
from tasks.retention import (
    clear_old_vat_numbers,
    delete_old_runs,
    expire_quarantine,
    key_analytics_customers,
    pseudonymise_inactive_customers,
    pseudonymise_old_notifications,
    pseudonymise_raw_payloads,
    read_retention_policy,
)


def utc_now() -> datetime:
    """The run's clock (the one read of the time; tests may point it elsewhere)."""
    return datetime.now(UTC)


@flow(name="retention")
def retention(as_of: date | None = None, dry_run: bool = False) -> RetentionReport:
    """Apply the retention periods as of ``as_of`` (the business date, default today)."""
    settings = load_settings()
    started = utc_now()
    as_of = as_of or started.astimezone(ZoneInfo(settings.timezone)).date()
    with recorded_run(settings, "retention", as_of, started, utc_now, dry_run=dry_run) as run:
        cut = cutoffs(read_retention_policy(settings), as_of, settings.timezone)
        changed = {
            "raw_payloads": pseudonymise_raw_payloads(settings, cut["raw_payloads"], dry_run),
            "notifications": pseudonymise_old_notifications(
                settings, cut["notifications"], utc_now(), dry_run
            ),
            **expire_quarantine(settings, cut["quarantine"], dry_run),
            "pipeline_runs": delete_old_runs(settings, cut["pipeline_runs"], dry_run),
            "inactive_customers": pseudonymise_inactive_customers(
                settings, cut["inactive_customers"], dry_run
            ),
            **clear_old_vat_numbers(settings, cut["financial_records"], dry_run),
        }
        keyed = key_analytics_customers(settings, dry_run)
        if keyed is None:
            get_run_logger().warning(
                "ECHEANCIER_PSEUDONYM_KEY is not set: customer_key stays empty (docs/privacy.md)"
            )
        changed["customer_key"] = keyed or 0
        report = RetentionReport(
            run.run_id, as_of, dry_run, {k: c.day for k, c in cut.items()}, changed
        )
        create_markdown_artifact(key="retention-summary", markdown=report.markdown())
        run.done(counts=report.counts())
    get_run_logger().info("%s", report.text())
    return report
