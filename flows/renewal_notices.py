"""The ``renewal-notices`` flow: tacit renewals, upcoming renewals, trial endings,
expiring cards and direct-debit mandate problems, each notice exactly once.

Read the subscriptions (and their customers, mandates, earlier notices) → decide
tonight's notices (``domain.notices``, ``policies/notices.yaml``) → write them to the
``notifications`` outbox with the compliance exceptions, in one transaction → send the
outbox for these kinds → publish a summary and tonight's notices → record the run.

Every notice carries a ``dedupe_key`` from its decision
(``tacit_renewal:{subscription}:{renewal day}``…), so a second run, a retry or the next
night queues nothing twice. ``dry_run=True`` writes ``planned`` rows and stops there:
nothing is sent and no compliance exception is recorded; a real run of the same night
promotes exactly those rows. Example: the first night on the test shop queues the
L215-1 notice of a contract renewing on 19 September (its window opened on 20 May) and
lists for finance a contract renewing on 23 July that nobody told in time.

Run by ``echeancier run renewal-notices [--as-of DATE] [--dry-run]`` or by nightly after
the quality gate.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger
from prefect.utilities.annotations import quote

from domain.notices import RENEWAL_KINDS, NoticeReport, build_report
from echeancier.settings import load_settings
from flows.runs import recorded_run
from tasks.notices import (
    load_notice_policy,
    plan_renewal_notices,
    publish_notice_artifacts,
    queue_notices,
    read_renewal_frames,
)
from tasks.outbox import deliver_outbox

FLOW = "renewal-notices"


def utc_now() -> datetime:
    """The run's clock (the one read of the time; tests point it at the sandbox's)."""
    return datetime.now(UTC)


@flow(name=FLOW)
def renewal_notices(as_of: date | None = None, dry_run: bool = False) -> NoticeReport:
    """Renewal-side notices for ``as_of`` (default: today in the business time zone)."""
    settings = load_settings()
    started = utc_now()
    as_of = as_of or started.astimezone(ZoneInfo(settings.timezone)).date()
    with recorded_run(settings, FLOW, as_of, started, utc_now, dry_run=dry_run) as run:
        clock = time.perf_counter()
        policy = load_notice_policy(settings)
        frames = read_renewal_frames(settings)
        plan = plan_renewal_notices(frames, as_of, policy)
        # quote(): Prefect would otherwise walk every notice of the plan, and of the
        # report below, twice looking for futures (docs/scaling.md)
        written = queue_notices(settings, quote(plan), as_of, started, dry_run)
        delivery = {} if dry_run else deliver_outbox(settings, utc_now(), kinds=RENEWAL_KINDS)
        report = build_report(
            flow=FLOW,
            run_id=run.run_id,
            as_of=as_of,
            dry_run=dry_run,
            kinds=RENEWAL_KINDS,
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
