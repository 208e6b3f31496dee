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
from functools import partial
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from connectors.gocardless import GoCardlessConnector
from connectors.gocardless.connector import EventPage
from connectors.parallel import merge_walks
from domain.sync_plan import EventClock, Tally, event_versions, list_version
from domain.sync_streams import Stream, event_streams, stream
from echeancier.settings import Settings
from tasks.sync_common import PAGES_PER_BATCH, batched, connectors_for, engine_for
from tasks.sync_load import load_lines, load_objects, merge
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
    version = list_version(started)
    tallies: dict[str, Tally] = {}
    engine = engine_for(settings.database_url)
    pages = connector.list_pages(resource, created_at_lt=started, params=spec.params)
    for batch in batched(pages, PAGES_PER_BATCH):
        objects = [obj for page in batch for obj in page]
        items = _payout_items(connector, spec, objects)
        with engine.begin() as conn:
            loaded = load_objects(
                conn,
                spec,
                objects,
                [version] * len(objects),
                tz=settings.timezone,
                seen_at=started,
                run_id=run_id,
            )
            merge(tallies, loaded)
            if items:
                versions = dict.fromkeys(items, version)
                merge(tallies, _load_items(conn, spec, items, objects, versions, started, run_id))
    return tallies


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
        items = _payout_items(connector, spec, objects)
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
            if items:
                latest = dict(zip((str(o["id"]) for o in objects), object_versions, strict=True))
                merge(tallies, _load_items(conn, spec, items, objects, latest, seen_at, run_id))
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


def _payout_items(
    connector: GoCardlessConnector, spec: Stream, payouts: Sequence[dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """Each payout's items, the payouts walked in parallel."""
    if spec.lines is None or not payouts:
        return {}
    ids = sorted({str(p["id"]) for p in payouts})

    def walk(payout_id: str) -> Iterator[tuple[str, Page]]:
        for page in connector.payout_items(payout_id):
            yield payout_id, page

    items: dict[str, list[dict[str, Any]]] = {payout_id: [] for payout_id in ids}
    for payout_id, page in merge_walks([partial(walk, i) for i in ids], max_workers=4):
        items[payout_id].extend(page)
    return items


def _load_items(
    conn: Any,
    spec: Stream,
    items: dict[str, list[dict[str, Any]]],
    payouts: Sequence[dict[str, Any]],
    versions: dict[str, int],
    seen_at: datetime,
    run_id: str,
) -> dict[str, Tally]:
    assert spec.lines is not None
    currencies = {str(p["id"]): str(p.get("currency") or "EUR") for p in payouts}
    return load_lines(
        conn, PROVIDER, spec.lines, items, versions, currencies, seen_at=seen_at, run_id=run_id
    )
