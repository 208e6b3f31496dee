"""The ``backfill`` flow: re-run the day-based report flows for past business dates.

``date_from .. date_to`` (inclusive, in the past), and the flows to re-run (default: every
backfillable flow built, today ``kpis`` over the range in one run and ``tax_report`` once
per day as a dry run, which stores that day's returns and only *plans* reminders). What
may be backfilled and why the others may not is ``domain/backfill.py``'s docstring.

Each step is a subflow whose result is kept: a step that fails fails the backfill, and
the operator's Retry resumes at that step (the completed ones are not run again). A
progress artifact fills as the steps complete; the summary lists them; ``pipeline_runs``
records the run under today's business date. Nothing here writes to a customer.

Example: ``prefect deployment run backfill/backfill -p date_from=2026-01-01
-p date_to=2026-03-31`` runs kpis once and tax_report 90 times.
"""

from __future__ import annotations

import inspect
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger

from deployments import catalog
from domain.backfill import Backfillable, BackfillReport, check_range, plan
from echeancier.settings import load_settings
from flows.runs import recorded_run
from tasks.backfill import (
    publish_backfill_artifacts,
    show_progress,
    start_progress,
)


def utc_now() -> datetime:
    """The run's clock (the one read of the time; tests may point it elsewhere)."""
    return datetime.now(UTC)


@flow(name="backfill")
def backfill(
    date_from: date,
    date_to: date,
    flows: list[str] | None = None,
    as_of: date | None = None,
) -> BackfillReport:
    """Re-run ``flows`` (default: all backfillable ones built) for ``date_from .. date_to``
    (``as_of``: the business date the backfill is recorded under, default today)."""
    settings = load_settings()
    started = utc_now()
    today = started.astimezone(ZoneInfo(settings.timezone)).date()
    as_of = as_of or today
    check_range(date_from, date_to, today)
    chosen, skipped = choose(flows)
    steps = plan(date_from, date_to, chosen)
    with recorded_run(settings, "backfill", as_of, started, utc_now) as run:
        progress = start_progress(f"backfill {date_from}..{date_to}: {len(steps)} runs")
        done: list[str] = []
        for step in steps:
            entry = catalog.get(step.flow)
            state = catalog.load_flow(entry).with_options(persist_result=True)(
                **step.parameters, return_state=True
            )
            if not state.is_completed():
                raise RuntimeError(
                    f"backfill stopped at {step.label}: {state.name}: {state.message}"
                )
            done.append(step.label)
            show_progress(progress, len(done), len(steps))
        report = BackfillReport(
            run.run_id, date_from.isoformat(), date_to.isoformat(), done, skipped
        )
        publish_backfill_artifacts(report)
        run.done(counts=report.counts())
    get_run_logger().info("%s", report.text())
    return report


def choose(names: list[str] | None) -> tuple[list[Backfillable], dict[str, str]]:
    """The flows to run, and the backfillable ones left out because they are not built.
    A name that is not backfillable is an error naming the ones that are."""
    allowed = [d for d in catalog.DEPLOYMENTS if d.backfill is not None]
    modes = {d.name: d.backfill for d in allowed if d.backfill is not None}
    if names is not None:
        unknown = [n for n in names if catalog.BY_NAME.get(n.replace("-", "_")) not in allowed]
        if unknown:
            raise ValueError(
                f"cannot backfill {', '.join(unknown)}: only "
                f"{', '.join(d.name for d in allowed)} (see domain/backfill.py)"
            )
        allowed = [d for d in allowed if d.name in {n.replace("-", "_") for n in names}]
    chosen, skipped = [], {}
    for d in allowed:
        if not catalog.importable(d):
            skipped[d.name] = "not built yet"
            continue
        accepted = inspect.signature(catalog.load_flow(d).fn).parameters
        chosen.append(Backfillable(d.name, modes[d.name], "dry_run" in accepted))
    if names is not None and skipped:
        raise ValueError(f"cannot backfill {', '.join(skipped)}: not built yet")
    return chosen, skipped
