"""The sync's pure rules: mode, slices, versions, carry-forward, and the streams table."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pandas as pd
import pandas.testing as pdt

from domain.sync_plan import (
    STRIPE_EVENT_RETENTION,
    EventClock,
    Tally,
    carry_forward,
    choose_mode,
    created_slices,
    event_versions,
    list_version,
    listing_slices,
    merge_tallies,
    overlap_start,
    reread_versions,
)
from domain.sync_streams import STREAMS, by_object_type, event_streams, stream
from warehouse import tables

NOW = datetime(2026, 6, 30, 22, 0, tzinfo=UTC)


def test_no_cursor_means_full_and_an_old_stripe_cursor_too() -> None:
    assert choose_mode(None, None, NOW) == "full"
    recent = NOW - timedelta(days=10)
    old = NOW - timedelta(days=31)
    assert choose_mode("evt_1", recent, NOW, STRIPE_EVENT_RETENTION) == "incremental"
    assert choose_mode("evt_1", old, NOW, STRIPE_EVENT_RETENTION) == "full"
    assert choose_mode(None, old, NOW) == "incremental"  # no retention: a watermark will do


def test_slices_are_one_range_before_then_months_the_newest_left_open() -> None:
    slices = created_slices(NOW, months=2)
    may, june = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
    assert slices == [
        (0, int(may.timestamp())),
        (int(may.timestamp()), int(june.timestamp())),
        (int(june.timestamp()), None),
    ]
    assert len(created_slices(NOW)) == 25
    january = created_slices(datetime(2026, 1, 15, tzinfo=UTC), months=2)
    assert january[1][0] == int(datetime(2025, 12, 1, tzinfo=UTC).timestamp())


def test_listing_slices_cut_months_in_thirds_newest_first_and_cover_all_time() -> None:
    assert listing_slices(NOW) == created_slices(NOW)[::-1]
    slices = listing_slices(NOW, parts=3)
    assert len(slices) == 1 + 24 * 3
    assert slices[0][1] is None  # the newest range stays open
    assert slices[-1][0] == 0
    oldest_first = slices[::-1]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(oldest_first))
    june = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp())
    assert [a for a, _ in slices[:3]] == [
        june + (int(NOW.timestamp()) - june) * k // 3 for k in (2, 1, 0)
    ]


def test_event_versions_continue_the_clock_within_a_second() -> None:
    versions, clock = event_versions([100, 100, 101], EventClock(100, 2))
    assert versions == [100_000_003, 100_000_004, 101_000_000]
    assert clock == EventClock(101, 0)
    assert EventClock.from_json(clock.to_json()) == clock
    assert list_version(datetime.fromtimestamp(100.7, UTC)) == 100_000_000


def test_a_reread_event_never_outranks_its_first_version_but_a_late_one_wins() -> None:
    seconds, ranks = [100, 100, 100, 101], [0, 3, 1, 0]
    first, _ = event_versions(seconds, EventClock(100, 4), ranks)
    again = reread_versions(seconds, ranks)
    assert again == [100_000_000, 100_300_000, 100_100_000, 101_000_000]
    assert all(a <= f for a, f in zip(again, first, strict=True))  # refused or unchanged
    (late,) = reread_versions([100], [0])  # listed late, never loaded: beats second 99
    assert late > event_versions([99], EventClock(99, 7), [9])[0][0]
    assert overlap_start(NOW, timedelta(minutes=5)) == NOW - timedelta(minutes=5)
    assert overlap_start(NOW, timedelta(0)) == NOW


def test_carry_forward_keeps_known_enrichments_only_where_the_new_row_has_none() -> None:
    new = pd.DataFrame(
        {
            "payment_id": pd.array(["ch_1", "ch_2", "ch_3"], dtype="string"),
            "fee": pd.array([None, 120, None], dtype="Int64"),
            "status": pd.array(["refunded", "succeeded", "failed"], dtype="string"),
        }
    )
    stored = pd.DataFrame({"payment_id": ["ch_1", "ch_2"], "fee": [100, 90]})
    out = carry_forward(new, stored, ["fee"], key="payment_id")
    expected = new.assign(fee=pd.array([100, 120, None], dtype="Int64"))
    pdt.assert_frame_equal(out, expected)
    assert new["fee"].isna().sum() == 2  # the input is not mutated


def test_carry_forward_on_a_composite_key_and_with_nothing_stored() -> None:
    new = pd.DataFrame({"a": ["x", "y"], "b": ["1", "2"], "fee": pd.array([None, None], "Int64")})
    stored = pd.DataFrame({"a": ["y"], "b": ["2"], "fee": [7]})
    out = carry_forward(new, stored, ["fee"], key=["a", "b"])
    assert out["fee"].tolist() == [pd.NA, 7]
    assert carry_forward(new, stored.iloc[0:0], ["fee"], key=["a", "b"]) is new


def test_tallies_add_up_per_stream() -> None:
    merged = merge_tallies(
        [{"stripe/payments": Tally(pulled=2, inserted=2)}, {"stripe/payments": Tally(updated=1)}]
    )
    assert merged == {"stripe/payments": Tally(pulled=2, inserted=2, updated=1)}


def test_every_stream_output_is_a_warehouse_table_and_carries_real_columns() -> None:
    for streams in STREAMS.values():
        for spec in streams:
            for output in spec.outputs:
                table = tables.metadata.tables[output.table]
                assert set(output.carry) <= set(table.c.keys()), output
                assert output.amount is None or output.amount in table.c
    assert stream("stripe", "charges").outputs[0].table == "payments"
    assert set(by_object_type("stripe")) >= {"charge", "invoice", "subscription", "payout"}
    assert next(iter(by_object_type("stripe"))) == "tax_rate"  # rates land before invoices
    assert [s.resource for s in event_streams("gocardless")][:2] == ["customers", "mandates"]
