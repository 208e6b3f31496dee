"""AfterShip sync task: trackings updated since the watermark, minus an overlap.

AfterShip has no event stream; its list filters on ``updated_at``. A first run lists
everything and sets the watermark to the run's start (noted before listing, so a parcel
updated during the listing is read again next night); later runs read from the
watermark minus one hour (clock skew, late writes) and move it to the newest
``updated_at`` seen. A tracking's version is its ``updated_at`` in microseconds, so the
overlap re-reads an unchanged parcel at the same version and writes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from domain.sync_plan import Tally, list_version
from domain.sync_streams import stream
from echeancier.settings import Settings
from tasks.sync_common import PAGES_PER_BATCH, batched, connectors_for, engine_for
from tasks.sync_load import load_objects, merge
from warehouse.state import SyncState, read_sync_state, write_sync_state

PROVIDER = "aftership"
OVERLAP = timedelta(hours=1)
BEGINNING = datetime(2000, 1, 1, tzinfo=UTC)


def _updated(obj: dict[str, Any]) -> datetime | None:
    text = obj.get("updated_at")
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _version(obj: dict[str, Any], fallback: int) -> int:
    moment = _updated(obj)
    return int(moment.timestamp() * 1_000_000) if moment else fallback


@task(cache_policy=NO_CACHE)
def pull_aftership_trackings(
    settings: Settings, run_id: str, started: datetime, full: bool
) -> dict[str, Tally]:
    """Load the trackings updated since the watermark (all of them when ``full``)."""
    spec = stream(PROVIDER, "trackings")
    engine = engine_for(settings.database_url)
    with engine.connect() as conn:
        state = read_sync_state(conn, PROVIDER, "trackings")
    if full or state is None or state.watermark is None:
        since, watermark = BEGINNING, started
    else:
        since, watermark = state.watermark - OVERLAP, state.watermark
    fallback = list_version(started)
    pages = connectors_for(settings).aftership.trackings_updated_since(since)
    tallies: dict[str, Tally] = {}
    rows_synced = state.rows_synced if state is not None else 0
    batches = 0
    for batch in batched(pages, PAGES_PER_BATCH):
        batches += 1
        objects = [obj for page in batch for obj in page]
        if not full:
            seen = [m for o in objects if (m := _updated(o)) is not None]
            watermark = max([watermark, *seen])
        rows_synced += len(objects)
        with engine.begin() as conn:
            versions = [_version(o, fallback) for o in objects]
            merge(
                tallies,
                load_objects(
                    conn,
                    spec,
                    objects,
                    versions,
                    tz=settings.timezone,
                    seen_at=started,
                    run_id=run_id,
                ),
            )
            write_sync_state(
                conn, _state(watermark if not full else BEGINNING, rows_synced), at=started
            )
    if full or not batches:
        with engine.begin() as conn:
            write_sync_state(conn, _state(watermark, rows_synced), at=started)
    return tallies


def _state(watermark: datetime, rows_synced: int) -> SyncState:
    return SyncState(
        PROVIDER, "trackings", "incremental", watermark=watermark, rows_synced=rows_synced
    )
