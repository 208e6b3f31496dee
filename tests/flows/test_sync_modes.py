"""Which providers a night lists in full: the flow's plan, from the stored cursors alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.sync_streams import event_streams
from flows.sync import plan_modes
from tasks.sync_gocardless import cursor_stream
from warehouse.state import SyncState

NOW = datetime(2026, 6, 30, 22, 0, tzinfo=UTC)


def cursors(stripe_age: timedelta) -> dict[tuple[str, str], SyncState]:
    states = [
        SyncState("stripe", "events", "incremental", "evt_1", NOW - stripe_age),
        SyncState("aftership", "trackings", "incremental", watermark=NOW),
        *(
            SyncState("gocardless", cursor_stream(s.resource), "incremental", "EV1", NOW)
            for s in event_streams("gocardless")
        ),
    ]
    return {(s.provider, s.stream): s for s in states}


def test_first_night_lists_everything() -> None:
    assert plan_modes({}, NOW) == {"stripe": "full", "gocardless": "full", "aftership": "full"}


def test_later_nights_follow_the_events_until_the_stripe_cursor_is_30_days_old() -> None:
    assert set(plan_modes(cursors(timedelta(days=29)), NOW).values()) == {"incremental"}
    old = plan_modes(cursors(timedelta(days=30)), NOW)
    assert old == {"stripe": "full", "gocardless": "incremental", "aftership": "incremental"}


def test_a_gocardless_resource_without_its_cursor_means_a_full_listing() -> None:
    partial = cursors(timedelta(days=1))
    del partial[("gocardless", cursor_stream("payouts"))]
    assert plan_modes(partial, NOW)["gocardless"] == "full"
