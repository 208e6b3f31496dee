"""The ``tax-report`` flow: VAT lines, the OSS and CA3 returns, their deadlines, files.

For ``as_of`` it computes, per regime, the return of the period just closed and of the
current one (and of any earlier period not yet filed), with the corrections of filed
periods whose facts changed; stores them in ``vat_lines``/``vat_returns``/
``tax_deadlines``/``oss_threshold``; queues finance's reminders N days before each
deadline through the outbox; writes a CSV pair and an XLSX per return under
``ECHEANCIER_REPORTS/tax/``; and publishes a summary. Example: on 2026-10-01 it
computes OSS 2026-Q3 (due 2026-10-31) and 2026-Q4, CA3 2026-09 (due 2026-10-24) and
2026-10. A dry run computes and stores the same, but reminders are only ``planned``.

``echeancier run tax-report`` calls :func:`tax_report`; it returns a :class:`TaxReport`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger

from domain.tax import TaxReport
from domain.tax.report import summarise
from echeancier.settings import load_settings
from flows.runs import recorded_run
from tasks.tax import (
    compute_tax_returns_by_partition,
    load_tax_policies,
    publish_tax_artifacts,
    queue_tax_reminders,
    store_tax_returns,
    write_tax_files,
)


def utc_now() -> datetime:
    """The run's clock (the one read of the time; tests may point it elsewhere)."""
    return datetime.now(UTC)


@flow(name="tax-report")
def tax_report(as_of: date | None = None, dry_run: bool = False) -> TaxReport:
    """Compute, store, remind and write the tax returns for ``as_of``."""
    settings = load_settings()
    started = utc_now()
    as_of = as_of or started.astimezone(ZoneInfo(settings.timezone)).date()
    with recorded_run(settings, "tax-report", as_of, started, utc_now, dry_run=dry_run) as run:
        rates, calendar = load_tax_policies(settings)
        computed = compute_tax_returns_by_partition(
            settings, as_of, rates, calendar, settings.timezone
        )
        written = store_tax_returns(settings, computed)
        reminders, new = queue_tax_reminders(settings, calendar, as_of, utc_now(), dry_run)
        files = write_tax_files(settings, computed.ledger)
        report = summarise(
            run.run_id,
            as_of,
            dry_run,
            computed.ledger,
            threshold=computed.threshold,
            problems=computed.problems,
            files=files,
            reminders=reminders,
            reminders_new=new,
            rows_written=written,
        )
        publish_tax_artifacts(report)
        run.done(counts=report.counts(), control_totals={"tax": report.control_totals})
    get_run_logger().info(
        "tax-report %s: %d open returns, %d problems, %d reminders",
        as_of,
        len(report.returns),
        len(report.problems),
        report.reminders_new,
    )
    return report
