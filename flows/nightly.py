"""The ``nightly`` flow: the whole calendar for one business date.

Sync the providers, pass the data through the quality gate, reconcile, then launch the
flows that act on the reconciled state (dunning, renewal and shipment notices, tax
report, KPIs: ``flows.chain``), and publish. The gate stands
before every step that acts: a table-level failure stops the chain here, with the table
and the expectation named in the run's message, before anything reaches a customer.
``dry_run`` is handed to every acting flow: they record tonight's decisions as
``planned`` and send nothing. Run by ``echeancier run nightly [--as-of DATE]
[--dry-run]`` or the nightly deployment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.utilities.annotations import quote

from domain.quality import tables_with_rows
from domain.summary import NightlyReport
from echeancier.memory import give_back_memory, set_aside_startup_objects
from echeancier.settings import load_settings
from flows.chain import downstream as downstream_flows
from flows.chain import launch, no_heartbeats_without_a_server, parameters
from flows.reconcile import reconcile
from flows.sync import sync
from tasks.quality import check_data_quality
from tasks.report import publish_nightly_summary


def utc_now() -> datetime:
    """The run's clock (the one read of the time; tests point it at the sandbox's)."""
    return datetime.now(UTC)


@flow(name="nightly")
def nightly(as_of: date | None = None, dry_run: bool = False) -> NightlyReport:
    """Sync, check, reconcile, act, publish (see the module doc)."""
    set_aside_startup_objects()  # each step's collection then skips the libraries' objects
    settings = load_settings()
    with no_heartbeats_without_a_server():  # an ephemeral server: nobody to watch them
        synced = sync(as_of=as_of)
        released("sync")  # each step starts from what it needs, not from the last one's heap
        business_date = date.fromisoformat(synced.as_of)
        required = tables_with_rows(synced.control_totals)
        gate = check_data_quality(settings, utc_now(), synced.run_id, required=required)
        released("gate")
        reconciled = reconcile(as_of=business_date)
        released("reconcile")
        reports, failed = act(business_date, dry_run)
    report = NightlyReport(sync=synced, gate=gate, reconcile=reconciled, downstream=reports)
    publish_nightly_summary(quote(report))  # not walked for futures: docs/scaling.md
    if failed:
        raise DownstreamFlowsFailed("; ".join(f"{n}: {why}" for n, why in failed.items()))
    return report


class DownstreamFlowsFailed(RuntimeError):
    """Some flows after the gate failed (the others ran): Retry reruns only those."""


def act(business_date: date, dry_run: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """Launch every downstream flow in catalogue order (``flows.chain``: deployments under
    a deployment, subflows locally). One failing does not stop the others: dunning down
    must not stop the tax reminders; the night fails at the end, naming who failed."""
    reports: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for name in downstream_flows():
        try:
            reports[name] = launch(
                name,
                parameters(name, business_date, dry_run=dry_run),
                business_date=business_date,
            )
        except Exception as exc:
            failed[name] = f"{type(exc).__name__}: {exc}"[:300]
            get_run_logger().error("%s failed: %s", name, failed[name])
        released(name)
    return reports, failed


def released(step: str) -> None:
    """Give the finished step's memory back; log what the process holds before the next."""
    before, after = give_back_memory()
    log = get_run_logger()
    log.info("memory after %s: %d MB resident, %d MB once given back", step, before, after)
