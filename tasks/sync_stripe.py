"""Stripe sync tasks: note the event cursor, list a resource in full, follow the events.

- :func:`note_stripe_cursor` reads the newest event before a full listing starts, so the
  next night replays whatever changed during the listing.
- :func:`pull_stripe_full` lists one resource in monthly ``created`` slices (newest,
  largest, first) walked in parallel (the connector's shared token bucket keeps the total
  under the rate limit) and loads it in page batches; payouts bring their balance
  transactions, one walk per payout.
- :func:`pull_stripe_events` follows ``/v1/events`` oldest first in batches of up to 1000
  (the day since the cursor cut into creation-time ranges fetched at once, loaded in
  order: ``StripeConnector.events_since_sliced``);
  each event's ``data.object`` is loaded at version ``created * 10^6 + rank * 10^5 +
  position`` (``domain.normalise.progress``: within a second, a paid invoice outranks its
  open self), and the cursor moves in the same transaction as the batch's rows. A cursor
  past the 30-day retention returns ``None``: the flow re-lists instead. First it reads
  again the events created in the ``ECHEANCIER_STRIPE_EVENT_OVERLAP_S`` seconds (default
  300) before the cursor's event: Stripe may list an event a little after its creation,
  and such an event would sit behind the cursor for ever. Re-read events are loaded at
  ``created * 10^6 + rank * 10^5`` (position 0: never above their first version, so what
  was applied is refused or unchanged); the cursor does not move with them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from connectors.errors import EventCursorExpired
from connectors.parallel import merge_walks, read_ahead
from connectors.stripe import StripeConnector
from domain.normalise.progress import progress
from domain.sync_plan import (
    EventClock,
    Tally,
    event_versions,
    list_version,
    listing_slices,
    overlap_start,
    reread_versions,
)
from domain.sync_streams import Stream, by_object_type, stream
from echeancier.settings import Settings
from tasks.sync_common import PAGES_PER_BATCH, connectors_for, engine_for
from tasks.sync_load import (
    fetch_payout_lines,
    load_objects,
    load_payout_lines,
    merge,
)
from tasks.sync_pipeline import load_listing
from warehouse.state import SyncState, read_sync_state, write_sync_state

PROVIDER = "stripe"
EVENTS_PER_BATCH = 1000
EVENT_PAGES_AHEAD = 10  # a batch's worth at Stripe's 100 events a page
Page = list[dict[str, Any]]


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def note_stripe_cursor(settings: Settings, started: datetime) -> list[SyncState]:
    """The event cursor the next night starts from, noted before listing."""
    newest = connectors_for(settings).stripe.newest_event()
    if newest is None:
        return [SyncState(PROVIDER, "events", mode="incremental", watermark=started)]
    created = int(newest["created"])
    state = SyncState(
        PROVIDER,
        "events",
        mode="incremental",
        cursor=str(newest["id"]),
        last_event_id=str(newest["id"]),
        watermark=datetime.fromtimestamp(created, UTC),
        details={"clock": EventClock(created, 0).to_json()},
    )
    return [state]


@task(cache_policy=NO_CACHE)
def pull_stripe_full(
    settings: Settings, resource: str, started: datetime, run_id: str
) -> dict[str, Tally]:
    """List every ``resource`` object (the newest month left open) and load it."""
    spec = stream(PROVIDER, resource)
    connector = connectors_for(settings).stripe
    walks = [
        partial(connector.list_pages, resource, created_gte=a, created_lt=b, params=spec.params)
        for a, b in listing_slices(started)
    ]
    return load_listing(
        engine_for(settings.database_url),
        spec,
        merge_walks(walks, max_workers=connector.max_workers),
        fetch_lines=connector.balance_transactions,
        max_workers=connector.max_workers,
        version=list_version(started),
        batch_pages=PAGES_PER_BATCH,
        tz=settings.timezone,
        seen_at=started,
        run_id=run_id,
    )


@task(cache_policy=NO_CACHE)
def pull_stripe_events(
    settings: Settings, run_id: str, seen_at: datetime
) -> dict[str, Tally] | None:
    """Read again the overlap before the stored cursor, then follow the event stream from
    it; ``None`` if the cursor expired."""
    engine = engine_for(settings.database_url)
    with engine.connect() as conn:
        state = read_sync_state(conn, PROVIDER, "events")
    if state is None:
        return None
    connector = connectors_for(settings).stripe
    load = partial(_load_events, engine, connector, settings.timezone, seen_at, run_id)
    tallies: dict[str, Tally] = {}
    try:
        if state.cursor and state.watermark and settings.stripe_event_overlap_s:
            since = overlap_start(
                state.watermark, timedelta(seconds=settings.stripe_event_overlap_s)
            )
            for pages_batch in _event_batches(connector.events_before(state.cursor, since)):
                events = [event for page in pages_batch for event in page]
                versions = reread_versions([int(e["created"]) for e in events], _ranks(events))
                merge(tallies, load(events, versions, None))  # the cursor stays where it is
        cursor, since = state.cursor, state.watermark or seen_at
        pages: Iterator[Page] = (
            # The day's events in creation-time ranges fetched at once, loaded in order.
            connector.events_since_sliced(cursor, state.watermark)
            if cursor and state.watermark
            else read_ahead(  # the next batch fetched while one loads
                lambda: (
                    connector.events_since(cursor)
                    if cursor
                    else connector.events_created_since(since)
                ),
                pages=EVENT_PAGES_AHEAD,
            )
        )
        clock = EventClock.from_json(state.details.get("clock"))
        for pages_batch in _event_batches(pages):
            events = [event for page in pages_batch for event in page]
            seconds = [int(e["created"]) for e in events]
            versions, clock = event_versions(seconds, clock, _ranks(events))
            last = events[-1]
            state = SyncState(
                PROVIDER,
                "events",
                mode="incremental",
                cursor=str(last["id"]),
                last_event_id=str(last["id"]),
                watermark=datetime.fromtimestamp(int(last["created"]), UTC),
                rows_synced=state.rows_synced + len(events),
                details={"clock": clock.to_json()},
            )
            merge(tallies, load(events, versions, state))
    except EventCursorExpired:
        if tallies:
            raise
        return None
    return tallies


def _load_events(
    engine: Engine,
    connector: StripeConnector,
    tz: str,
    seen_at: datetime,
    run_id: str,
    events: Sequence[dict[str, Any]],
    versions: Sequence[int],
    state: SyncState | None,
) -> dict[str, Tally]:
    """One batch of events' objects (and new payouts' lines) in one transaction, with the
    cursor ``state`` past them when it moves."""
    routes = by_object_type(PROVIDER)
    groups = _route(events, versions, routes)
    payouts = groups.get("payout", ([], []))[0]
    lines = fetch_payout_lines(
        connector.balance_transactions,
        routes["payout"],
        payouts,
        max_workers=connector.max_workers,
    )
    tallies: dict[str, Tally] = {}
    with engine.begin() as conn:
        for object_type, (objects, object_versions) in groups.items():
            loaded = load_objects(
                conn,
                routes[object_type],
                objects,
                object_versions,
                tz=tz,
                seen_at=seen_at,
                run_id=run_id,
            )
            merge(tallies, loaded)
        latest = _latest_versions(groups.get("payout", ([], [])))
        merge(
            tallies,
            load_payout_lines(
                conn,
                routes["payout"],
                lines,
                payouts,
                latest,
                seen_at=seen_at,
                run_id=run_id,
            ),
        )
        if state is not None:
            write_sync_state(conn, state, at=seen_at)
    return tallies


def _ranks(events: Sequence[dict[str, Any]]) -> list[int]:
    return [progress((e.get("data") or {}).get("object") or {}) for e in events]


def _event_batches(pages: Iterator[Page]) -> Iterator[list[Page]]:
    """Pages grouped until a batch holds about ``EVENTS_PER_BATCH`` events."""
    batch: list[Page] = []
    size = 0
    for page in pages:
        batch.append(page)
        size += len(page)
        if size >= EVENTS_PER_BATCH:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _route(
    events: Sequence[dict[str, Any]], versions: Sequence[int], routes: dict[str, Stream]
) -> dict[str, tuple[list[dict[str, Any]], list[int]]]:
    """``data.object`` snapshots grouped by object type (types no stream follows are skipped),
    in the streams' order, so lookups (tax rates) load before what needs them."""
    groups: dict[str, tuple[list[dict[str, Any]], list[int]]] = {name: ([], []) for name in routes}
    for event, version in zip(events, versions, strict=True):
        obj = (event.get("data") or {}).get("object")
        if not isinstance(obj, dict) or obj.get("object") not in routes:
            continue
        objects, object_versions = groups[str(obj["object"])]
        objects.append(obj)
        object_versions.append(version)
    return {name: group for name, group in groups.items() if group[0]}


def _latest_versions(group: tuple[list[dict[str, Any]], list[int]]) -> dict[str, int]:
    latest: dict[str, int] = {}
    for obj, version in zip(*group, strict=True):
        latest[str(obj["id"])] = max(version, latest.get(str(obj["id"]), 0))
    return latest
