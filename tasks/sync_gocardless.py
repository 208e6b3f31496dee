"""GoCardless sync tasks: note the event cursors, list a resource, follow its events.

GoCardless has one event cursor per resource type: ``/events?resource_type=payments&
include=payment`` gives the payment events with the payments themselves (their current
state) under ``linked``; those are the new versions, at the version of the newest event
that names them. Payout events bring each payout's items, so a payout's lines are
captured the night the payout appears.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from connectors.gocardless.connector import EventPage
from domain.sync_plan import EventClock, Tally, event_versions, list_version
from domain.sync_streams import event_streams, stream
from echeancier.settings import Settings
from tasks.sync_common import PAGES_PER_BATCH, batched, connectors_for, engine_for
from tasks.sync_load import fetch_payout_lines, load_objects, load_payout_lines, merge
from tasks.sync_pipeline import load_listing
from warehouse.state import SyncState, read_sync_state, write_sync_state

PROVIDER = "gocardless"
EVENT_PAGES_PER_BATCH = 2  # 1000 events
Page = list[dict[str, Any]]


def cursor_stream(resource: str) -> str:
    return f"events:{resource}"


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def note_gocardless_cursors(settings: Settings, started: datetime) -> list[SyncState]:
    """One event cursor per followed resource type, noted before listing."""
    connector = connectors_for(settings).gocardless
    states = []
    for spec in event_streams(PROVIDER):
        newest = connector.newest_event(spec.resource)
        if newest is None:
            state = SyncState(
                PROVIDER, cursor_stream(spec.resource), "incremental", watermark=started
            )
        else:
            created = _instant(str(newest["created_at"]))
            state = SyncState(
                PROVIDER,
                cursor_stream(spec.resource),
                "incremental",
                cursor=str(newest["id"]),
                last_event_id=str(newest["id"]),
                watermark=created,
                details={"clock": EventClock(int(created.timestamp()), 0).to_json()},
            )
        states.append(state)
    return states


@task(cache_policy=NO_CACHE)
def pull_gocardless_full(
    settings: Settings, resource: str, started: datetime, run_id: str
) -> dict[str, Tally]:
    """List every ``resource`` object and load it (payouts with their items)."""
    spec = stream(PROVIDER, resource)
    connector = connectors_for(settings).gocardless
    return load_listing(
        engine_for(settings.database_url),
        spec,
        connector.list_pages(resource, params=spec.params),
        fetch_lines=connector.payout_items,
        max_workers=4,
        version=list_version(started),
        batch_pages=PAGES_PER_BATCH,
        tz=settings.timezone,
        seen_at=started,
        run_id=run_id,
    )


@task(cache_policy=NO_CACHE)
def pull_gocardless_events(
    settings: Settings, resource: str, run_id: str, seen_at: datetime
) -> dict[str, Tally]:
    """Follow ``resource``'s events from its cursor; the linked objects are loaded."""
    spec = stream(PROVIDER, resource)
    engine = engine_for(settings.database_url)
    with engine.connect() as conn:
        state = read_sync_state(conn, PROVIDER, cursor_stream(resource))
    if state is None:
        state = SyncState(PROVIDER, cursor_stream(resource), "incremental", watermark=seen_at)
    connector = connectors_for(settings).gocardless
    include = spec.object_type
    pages: Iterator[EventPage] = (
        connector.events_since(state.cursor, include=include)
        if state.cursor
        else connector.events_since(created_at_gte=state.watermark or seen_at, include=include)
    )
    clock = EventClock.from_json(state.details.get("clock"))
    tallies: dict[str, Tally] = {}
    for batch in batched(pages, EVENT_PAGES_PER_BATCH):
        events = [event for page in batch for event in page.events]
        if not events:
            continue
        seconds = [int(_instant(str(e["created_at"])).timestamp()) for e in events]
        versions, clock = event_versions(seconds, clock)
        objects, object_versions = _linked(batch, events, versions, include)
        items = fetch_payout_lines(connector.payout_items, spec, objects, max_workers=4)
        with engine.begin() as conn:
            loaded = load_objects(
                conn,
                spec,
                objects,
                object_versions,
                tz=settings.timezone,
                seen_at=seen_at,
                run_id=run_id,
            )
            merge(tallies, loaded)
            latest = dict(zip((str(o["id"]) for o in objects), object_versions, strict=True))
            merge(
                tallies,
                load_payout_lines(
                    conn, spec, items, objects, latest, seen_at=seen_at, run_id=run_id
                ),
            )
            last = events[-1]
            state = SyncState(
                PROVIDER,
                cursor_stream(resource),
                "incremental",
                cursor=str(last["id"]),
                last_event_id=str(last["id"]),
                watermark=_instant(str(last["created_at"])),
                rows_synced=state.rows_synced + len(events),
                details={"clock": clock.to_json()},
            )
            write_sync_state(conn, state, at=seen_at)
    return tallies


def _linked(
    pages: Sequence[EventPage],
    events: Sequence[dict[str, Any]],
    versions: Sequence[int],
    include: str,
) -> tuple[list[dict[str, Any]], list[int]]:
    """The linked objects (latest copy of each), at the version of their newest event."""
    newest: dict[str, int] = {}
    for event, version in zip(events, versions, strict=True):
        linked_id = (event.get("links") or {}).get(include)
        if linked_id:
            newest[str(linked_id)] = max(version, newest.get(str(linked_id), 0))
    found: dict[str, dict[str, Any]] = {}
    for page in pages:
        for objects in page.linked.values():
            for obj in objects:
                found[str(obj["id"])] = obj
    ids = [i for i in newest if i in found]
    return [found[i] for i in ids], [newest[i] for i in ids]
