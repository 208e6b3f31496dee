"""The ``reconcile`` flow: match payments, invoices, payouts, parcels and refunds; keep
the exception register.

Reads the synced facts, runs every rule for ``as_of`` (``domain.reconcile``), merges the
exceptions into ``recon_exceptions`` (new ones opened, gone ones resolved, accepted ones
left closed), publishes the tallies and control totals as artifacts and records the run
in ``pipeline_runs``. Exceptions are results, not failures: the run completes whatever
it finds. Example: the first night on the small shop opens 29 exceptions; a second
night on the same data resolves none and opens none.

``echeancier run reconcile`` calls :func:`reconcile`; it returns a :class:`ReconReport`.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger

from domain.reconcile import ReconReport, build_report
from echeancier.settings import load_settings
from flows.runs import recorded_run
from tasks.reconcile import (
    find_recon_exceptions,
    load_recon_policy,
    publish_recon_artifacts,
    read_recon_frames,
    update_recon_register,
)


def utc_now() -> datetime:
    """The run's clock (the one read of the time; tests may point it elsewhere)."""
    return datetime.now(UTC)


@flow(name="reconcile")
def reconcile(as_of: date | None = None) -> ReconReport:
    """Reconcile the warehouse for ``as_of`` (default: today in the business time zone)."""
    settings = load_settings()
    started = utc_now()
    as_of = as_of or started.astimezone(ZoneInfo(settings.timezone)).date()
    with recorded_run(settings, "reconcile", as_of, started, utc_now) as run:
        clock = time.perf_counter()
        policy = load_recon_policy(settings)
        frames = read_recon_frames(settings)
        found = find_recon_exceptions(frames, as_of, policy)
        register = update_recon_register(settings, found, as_of)
        report = build_report(
            run.run_id,
            as_of,
            found,
            register,
            frames.payments,
            frames.payouts,
            time.perf_counter() - clock,
        )
        publish_recon_artifacts(report)
        run.done(counts=report.counts(), control_totals={"reconcile": report.control_totals})
    get_run_logger().info(
        "reconcile %s: %d exceptions (%d new, %d still open, %d resolved, %d accepted)",
        report.as_of,
        report.found,
        report.new,
        report.still_open,
        report.resolved,
        report.accepted,
    )
    return report
