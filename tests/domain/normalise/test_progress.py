"""Within one second, a Stripe snapshot further along its life outranks an earlier one."""

from __future__ import annotations

from domain.normalise.progress import MAX_RANK, progress
from domain.sync_plan import EventClock, event_versions


def test_an_invoice_never_ranks_back_from_paid_or_void() -> None:
    ranks = [progress({"object": "invoice", "status": s}) for s in ("draft", "open", "paid")]
    assert ranks == [0, 1, 3]
    assert progress({"object": "invoice", "status": "void"}) == 3
    assert progress({"object": "invoice", "status": "uncollectible"}) == 2


def test_a_charge_ranks_up_with_each_refund_and_dispute_but_not_back() -> None:
    succeeded = {"object": "charge", "status": "succeeded", "amount_refunded": 0}
    partly = {**succeeded, "amount_refunded": 500}
    fully = {**partly, "refunded": True}
    disputed = {**fully, "disputed": True}
    assert [progress(c) for c in (succeeded, partly, fully, disputed)] == [1, 2, 3, 4]
    assert progress({"object": "charge", "status": "pending"}) == 0


def test_moves_that_go_both_ways_rank_alike() -> None:
    statuses = ("active", "past_due", "trialing", "paused")
    assert {progress({"object": "subscription", "status": s}) for s in statuses} == {0}
    assert progress({"object": "subscription", "status": "canceled"}) == 1


def test_unknown_or_malformed_snapshots_rank_zero() -> None:
    assert progress({}) == 0
    assert progress({"object": "customer"}) == 0
    assert progress({"object": "invoice", "status": None}) == 0
    assert progress({"object": ["invoice"], "status": "paid"}) == 0
    assert progress({"object": "invoice", "status": {"x": 1}}) == 0
    assert progress({"object": "charge", "status": "succeeded", "refunded": 1, "disputed": 1}) <= (
        MAX_RANK
    )


def test_in_one_second_the_paid_invoice_stays_newest_whatever_the_list_order() -> None:
    paid, reopened = 3, 1  # invoice.paid, then invoice.updated holding the open invoice
    versions, clock = event_versions([100, 100, 101], EventClock(100, 2), [paid, reopened, 0])
    assert versions == [100_300_003, 100_100_004, 101_000_000]
    assert versions[0] > versions[1]
    assert clock == EventClock(101, 0)
    # and the same open snapshot turning up past the cursor the next night still loses
    late, _ = event_versions([100], EventClock(100, 4), [reopened])
    assert late[0] < versions[0]
