"""The fault plan decides, per request, what a misbehaving provider would do."""

from __future__ import annotations

import pytest

from sandbox.faults import FaultPlan


def test_counted_status_fault_hits_exactly_count_requests_of_its_provider() -> None:
    plan = FaultPlan()
    plan.add({"provider": "stripe", "status": 429, "count": 2})
    assert plan.decide("gocardless", "/payments").status is None
    assert [plan.decide("stripe", "/v1/charges").status for _ in range(3)] == [429, 429, None]


def test_path_prefix_narrows_a_fault() -> None:
    plan = FaultPlan()
    plan.add({"provider": "stripe", "status": 500, "count": 1, "path": "/v1/events"})
    assert plan.decide("stripe", "/v1/charges").status is None
    assert plan.decide("stripe", "/v1/events").status == 500


def test_probability_is_repeatable_for_a_seed() -> None:
    def run() -> list[int | None]:
        plan = FaultPlan(seed=3)
        plan.add({"provider": "*", "status": 503, "probability": 0.1, "count": None})
        return [plan.decide("stripe", "/v1/charges").status for _ in range(1000)]

    first = run()
    assert first == run()
    assert 50 < first.count(503) < 150


def test_latency_persists_and_drop_is_counted() -> None:
    plan = FaultPlan()
    plan.add({"provider": "aftership", "latency_ms": 100})
    plan.add({"provider": "aftership", "drop": 1})
    first, second = plan.decide("aftership", "/t"), plan.decide("aftership", "/t")
    assert first.drop
    assert not second.drop
    assert first.latency_s == pytest.approx(0.1)
    assert second.latency_s == pytest.approx(0.1)
    plan.clear()
    assert plan.decide("aftership", "/t").latency_s == 0


def test_rate_limit_answers_429_past_the_rate_with_a_wait() -> None:
    plan = FaultPlan()
    plan.add({"provider": "stripe", "rate_limit": 5})
    decisions = [plan.decide("stripe", "/v1/charges") for _ in range(8)]
    assert [d.status for d in decisions[:5]] == [None] * 5
    limited = decisions[5:]
    assert all(d.status == 429 for d in limited)
    assert all(d.retry_after_s is not None and 0 < d.retry_after_s <= 1 for d in limited)


def test_unknown_provider_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown provider"):
        FaultPlan().add({"provider": "paypal", "status": 500})
