"""The ``kpis`` flow: the KPIs of a day (or of every day of a range), the cash-flow
forecast, the accuracy of earlier forecasts, and the night's finance report.

Reads the synced facts and the dunning ledger, computes ``kpi_daily`` for every day of
``date_from .. date_to`` in one vectorised pass (a backfill of 18 months is one run,
not 550 nightly runs), forecasts the 90 days after the last day, compares the
forecasts made 7 and 30 days before it with the payouts since, writes the finance
report under ``ECHEANCIER_REPORTS/finance/``, publishes the key figures and a link to
the report, and records the run in ``pipeline_runs``. It acts on nobody: no dry run.
Example: ``echeancier run kpis --from 2025-06-01 --to 2026-06-30`` writes 395 days.

``echeancier run kpis`` calls :func:`kpis`; it returns a :class:`KpiReport`.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger

from domain.kpis import KpiReport, forecast_totals
from domain.kpis.daily import kpi_range
from echeancier.settings import load_settings
from flows.runs import recorded_run
from tasks.kpis import (
    compute_kpi_daily,
    forecast_cashflow,
    measure_forecast_accuracy,
    publish_kpi_artifacts,
    read_kpi_inputs,
    write_finance_report,
    write_kpi_daily,
)


def utc_now() -> datetime:
    """The run's clock (the one read of the time; tests may point it elsewhere)."""
    return datetime.now(UTC)


@flow(name="kpis")
def kpis(
    as_of: date | None = None, date_from: date | None = None, date_to: date | None = None
) -> KpiReport:
    """KPIs for ``as_of`` (default: today in the business time zone), or for every day of
    ``date_from .. date_to`` (``date_to`` defaults to ``as_of``, ``date_from`` to it)."""
    settings = load_settings()
    started = utc_now()
    as_of = as_of or started.astimezone(ZoneInfo(settings.timezone)).date()
    first, last = kpi_range(as_of, date_from, date_to)
    with recorded_run(settings, "kpis", last, started, utc_now) as run:
        clock = time.perf_counter()
        # Extract
        inputs = read_kpi_inputs(settings)
        # Measure
        daily = compute_kpi_daily(inputs, first, last, settings.timezone)
        rows = write_kpi_daily(settings, daily)
        forecast = forecast_cashflow(settings, inputs, last)
        accuracy = measure_forecast_accuracy(settings, inputs, last)
        # Report
        path = write_finance_report(settings, inputs, last)
        report = KpiReport(
            run_id=run.run_id,
            as_of=as_of,
            date_from=first,
            date_to=last,
            rows=rows,
            latest=daily[daily["as_of"] == last].to_dict("records"),
            forecast=forecast_totals(forecast, last),
            accuracy=accuracy.to_dict("records"),
            report_path=str(path),
            extra={"forecast_rows": len(forecast)},
        )
        report = replace(report, seconds=time.perf_counter() - clock)
        publish_kpi_artifacts(report)
        run.done(counts=report.counts(), control_totals=report.control_totals())
    get_run_logger().info(
        "kpis %s..%s: %d rows, forecast %d rows", first, last, rows, len(forecast)
    )
    return report
