"""The ``sync`` flow: copy what changed at Stripe, GoCardless and AfterShip into the warehouse.

Per provider: with no stored cursor (or a Stripe cursor past the 30-day event
retention), note the newest event, list everything in parallel time slices, then store
the noted cursor; otherwise follow the events from the cursor. Then fill the payments'
links, compare control totals, and record the run in ``pipeline_runs``. Example: the
first night lists 14 000 objects of the small shop; the next night reads the 40 events
since and writes exactly the objects they changed.

``echeancier run sync`` calls :func:`sync`; it returns a :class:`SyncReport`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture, wait

from domain.sync_plan import (
    STRIPE_EVENT_RETENTION,
    SyncReport,
    Tally,
    choose_mode,
    merge_tallies,
)
from domain.sync_streams import STREAMS, event_streams
from echeancier.settings import Settings, load_settings
from flows.runs import recorded_run
from tasks.sync_aftership import pull_aftership_trackings
from tasks.sync_common import (
    check_control_totals,
    read_cursors,
    refresh_statistics,
    resolve_payment_links,
    save_cursors,
)
from tasks.sync_gocardless import (
    cursor_stream,
    note_gocardless_cursors,
    pull_gocardless_events,
    pull_gocardless_full,
)
from tasks.sync_stripe import note_stripe_cursor, pull_stripe_events, pull_stripe_full
from warehouse.state import SyncState

Tallies = dict[str, Tally]
# Which stream's rows another stream's normaliser reads (``Stream.needs``).
LOOKUP_STREAMS = {"tax_rates": "tax_rates", "mandates": "mandates"}
FULL_PULLS: dict[str, Any] = {"stripe": pull_stripe_full, "gocardless": pull_gocardless_full}
NOTE_CURSORS: dict[str, Any] = {"stripe": note_stripe_cursor, "gocardless": note_gocardless_cursors}


def utc_now() -> datetime:
    """The run's clock (the one read of the time; tests point it at the sandbox's)."""
    return datetime.now(UTC)


@flow(name="sync")
def sync(as_of: date | None = None) -> SyncReport:
    """Sync the three providers into the warehouse (see the module docstring)."""
    settings = load_settings()
    started = utc_now()
    as_of = as_of or started.astimezone(ZoneInfo(settings.timezone)).date()
    with recorded_run(settings, "sync", as_of, started, utc_now) as run:
        clock = time.perf_counter()
        cursors = {(s.provider, s.stream): s for s in read_cursors(settings)}
        modes = plan_modes(cursors, started)
        pulls = [start_pulls(settings, provider, modes, started, run.run_id) for provider in modes]
        tallies = [finish_pulls(settings, pull, modes, started, run.run_id) for pull in pulls]
        tallies.append(resolve_payment_links(settings, started))
        streams = merge_tallies(tallies)
        refresh_statistics(settings, streams, modes)
        totals = check_control_totals(settings, streams, modes)
        report = SyncReport(
            run_id=run.run_id,
            as_of=as_of.isoformat(),
            modes=modes,
            streams=streams,
            cursors=_cursor_positions(read_cursors(settings)),
            control_totals=totals,
            seconds=round(time.perf_counter() - clock, 2),
        )
        counts = {name: asdict(tally) for name, tally in report.streams.items()}
        run.done(counts=counts, control_totals=totals)
    _log_summary(report)
    return report


def plan_modes(cursors: dict[tuple[str, str], SyncState], now: datetime) -> dict[str, str]:
    """``full`` or ``incremental`` per provider, from the stored cursors."""
    stripe = cursors.get(("stripe", "events"))
    gocardless = [
        cursors.get(("gocardless", cursor_stream(s.resource))) for s in event_streams("gocardless")
    ]
    aftership = cursors.get(("aftership", "trackings"))

    def mode(state: SyncState | None, retention: Any = None) -> str:
        if state is None:
            return "full"
        return choose_mode(state.cursor, state.watermark, now, retention)

    return {
        "stripe": mode(stripe, STRIPE_EVENT_RETENTION),
        "gocardless": "full" if any(s is None for s in gocardless) else "incremental",
        "aftership": mode(aftership),
    }


@dataclass
class Pulls:
    """One provider's submitted pull tasks, and the cursors to store once they land."""

    provider: str
    futures: list[PrefectFuture[Any]]
    marks: PrefectFuture[Any] | None = None


def start_pulls(
    settings: Settings, provider: str, modes: dict[str, str], started: datetime, run_id: str
) -> Pulls:
    """Submit ``provider``'s pulls: its event streams, or every stream in full."""
    if modes[provider] == "full":
        return start_full(settings, provider, started, run_id)
    if provider == "aftership":
        return Pulls(provider, [pull_aftership_trackings.submit(settings, run_id, started, False)])
    if provider == "stripe":
        return Pulls(provider, [pull_stripe_events.submit(settings, run_id, started)])
    futures: dict[str, PrefectFuture[Any]] = {}
    for spec in event_streams(provider):  # a stream waits for the streams it looks up
        needs = [futures[LOOKUP_STREAMS[n]] for n in spec.needs if LOOKUP_STREAMS[n] in futures]
        futures[spec.resource] = pull_gocardless_events.submit(
            settings, spec.resource, run_id, started, wait_for=needs
        )
    return Pulls(provider, list(futures.values()))


def start_full(settings: Settings, provider: str, started: datetime, run_id: str) -> Pulls:
    """Note the event cursors, then list every stream concurrently (a stream waits for the
    streams its normaliser looks up)."""
    if provider == "aftership":  # no events: the run's start is the watermark
        return Pulls(provider, [pull_aftership_trackings.submit(settings, run_id, started, True)])
    marks = NOTE_CURSORS[provider].submit(settings, started)
    pull = FULL_PULLS[provider]
    futures: dict[str, PrefectFuture[Any]] = {}
    for spec in STREAMS[provider]:
        needs = [futures[LOOKUP_STREAMS[n]] for n in spec.needs if LOOKUP_STREAMS[n] in futures]
        futures[spec.resource] = pull.submit(
            settings, spec.resource, started, run_id, wait_for=[marks, *needs]
        )
    return Pulls(provider, list(futures.values()), marks)


def finish_pulls(
    settings: Settings, pulls: Pulls, modes: dict[str, str], started: datetime, run_id: str
) -> Tallies:
    """Wait for the pulls (the first failure is raised); store the noted cursors. An event
    cursor past the provider's retention (a pull answering ``None``) means a re-list."""
    wait(pulls.futures)
    results = [future.result() for future in pulls.futures]
    if any(result is None for result in results):
        modes[pulls.provider] = "full"
        full = start_full(settings, pulls.provider, started, run_id)
        return finish_pulls(settings, full, modes, started, run_id)
    if pulls.marks is not None:
        save_cursors(settings, pulls.marks.result(), started)
    return merge_tallies(results)


def _cursor_positions(states: list[SyncState]) -> dict[str, dict[str, Any]]:
    return {
        f"{s.provider}/{s.stream}": {
            "cursor": s.cursor,
            "watermark": s.watermark.isoformat() if s.watermark else None,
            "rows_synced": s.rows_synced,
        }
        for s in states
    }


def _log_summary(report: SyncReport) -> None:
    logger = get_run_logger()
    logger.info("sync modes: %s", report.modes)
    for name, tally in report.streams.items():
        logger.info(
            "%s: pulled %d, inserted %d, updated %d, unchanged %d, quarantined %d",
            name,
            tally.pulled,
            tally.inserted,
            tally.updated,
            tally.unchanged,
            tally.quarantined,
        )
