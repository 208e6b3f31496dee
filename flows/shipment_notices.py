"""The ``shipment-notices`` flow: late parcels, parcels in trouble, withdrawal-window
reminders and overdue refunds, each notice exactly once.

Read the parcels (and who ordered them, what was paid and refunded, the parcel notices
still waiting) → decide tonight's notices (``domain.notices``, ``policies/notices.yaml``)
→ write them to the ``notifications`` outbox in one transaction, withdrawing the waiting
notices of parcels since delivered and the reminders of orders since returned or
refunded, and listing overdue refunds in ``notice_exceptions`` → send the outbox for
these kinds → publish a summary and tonight's notices → record the run.

Keys: ``shipment_delay:{tracking}:{status}``, ``shipment_exception:{tracking}:{status}``,
``return_window:{tracking}:{closing day}``, ``refund_overdue:{return tracking}`` (for
finance, never the customer). ``dry_run=True`` writes ``planned`` rows and stops there:
nothing sent, nothing withdrawn, no exception recorded. Example: on 6 July a parcel
expected on 3 July and still in transit gets one delay notice; once AfterShip reports it
delivered, a delay notice still waiting for its send window is withdrawn.

Run by ``echeancier run shipment-notices [--as-of DATE] [--dry-run]`` or by nightly after
the quality gate.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger
from prefect.utilities.annotations import quote

from domain.notices import SHIPMENT_KINDS, NoticeReport, build_report
from echeancier.settings import load_settings
from flows.runs import recorded_run
from tasks.notices import (
    load_notice_policy,
    plan_shipment_notices,
    publish_notice_artifacts,
    queue_notices,
    read_shipment_frames,
)
from tasks.outbox import deliver_outbox

FLOW = "shipment-notices"


def utc_now() -> datetime:
    """The run's clock (the one read of the time; tests point it at the sandbox's)."""
    return datetime.now(UTC)


@flow(name=FLOW)
def shipment_notices(as_of: date | None = None, dry_run: bool = False) -> NoticeReport:
    """Parcel- and return-side notices for ``as_of`` (default: today in the business time zone)."""
    settings = load_settings()
    started = utc_now()
    as_of = as_of or started.astimezone(ZoneInfo(settings.timezone)).date()
    with recorded_run(settings, FLOW, as_of, started, utc_now, dry_run=dry_run) as run:
        clock = time.perf_counter()
        policy = load_notice_policy(settings)
        frames = read_shipment_frames(settings)
        plan = plan_shipment_notices(frames, as_of, policy)
        # quote(): Prefect would otherwise walk every notice of the plan, and of the
        # report below, twice looking for futures (docs/scaling.md)
        written = queue_notices(settings, quote(plan), as_of, started, dry_run)
        delivery = {} if dry_run else deliver_outbox(settings, utc_now(), kinds=SHIPMENT_KINDS)
        report = build_report(
            flow=FLOW,
            run_id=run.run_id,
            as_of=as_of,
            dry_run=dry_run,
            kinds=SHIPMENT_KINDS,
            plan=plan,
            before=written["before"],
            withdrawn=written["withdrawn"],
            delivery=delivery,
            seconds=time.perf_counter() - clock,
        )
        publish_notice_artifacts(quote(report))
        run.done(counts=report.counts())
    get_run_logger().info("%s", report.text())
    return report
