"""GoCardless through GoCardlessConnector: pages of 500, flat filters, events with linked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.errors import ConnectorError
from connectors.gocardless import GoCardlessConnector
from connectors.ratelimit import RateLimiter
from connectors.retry import RetryPolicy
from sandbox.server import RunningSandbox
from sandbox.store import Store
from tests.connectors.conftest import FakeTime, fault, logged, set_clock

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
TOKEN = "sandbox_connector_tests_token"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def add_payments(store: Store, n: int, **fields: Any) -> list[str]:
    """``n`` payments, three per second from T0; ids oldest first."""
    ids = [f"PM{i:05d}" for i in range(n)]
    with store.bulk() as bulk:
        for i, pid in enumerate(ids):
            created = T0 + timedelta(seconds=i // 3)
            payment = {
                "id": pid,
                "created_at": iso(created),
                "amount": 1500,
                "currency": "EUR",
                "status": "confirmed",
                "charge_date": created.date().isoformat(),
                "links": {"mandate": "MD1", "creditor": "CR1"},
                **fields,
            }
            bulk.add("gocardless", "payments", payment, extra={"customer": "CU1"})
    return ids


def add_events(store: Store, n: int, *, start: datetime = T0, prefix: str = "EV") -> list[str]:
    ids = [f"{prefix}{i:05d}" for i in range(n)]
    with store.bulk() as bulk:
        for i, eid in enumerate(ids):
            bulk.add(
                "gocardless",
                "events",
                {
                    "id": eid,
                    "created_at": iso(start + timedelta(seconds=i)),
                    "resource_type": "payments",
                    "action": "failed" if i % 2 else "confirmed",
                    "links": {"payment": f"PM{i % 5:05d}"},
                    "details": {"origin": "bank", "cause": "insufficient_funds"},
                },
            )
    return ids


@pytest.fixture
def gc(sandbox: RunningSandbox, retry: RetryPolicy, limiter: RateLimiter) -> GoCardlessConnector:
    return GoCardlessConnector(TOKEN, sandbox.url, retry=retry, limiter=limiter)


def test_list_pages_walks_1203_payments_in_pages_of_500_with_a_flat_filter(
    sandbox: RunningSandbox, store: Store, gc: GoCardlessConnector
) -> None:
    ids = add_payments(store, 1203)
    pages = list(gc.list_pages("payments", created_at_gte=T0))
    assert [len(p) for p in pages] == [500, 500, 203]
    seen = [p["id"] for page in pages for p in page]
    assert seen == ids[::-1]
    assert type(pages[0][0]) is dict
    assert pages[0][0]["links"]["mandate"] == "MD1"
    sent = [(r["path"], r["params"]) for r in logged(sandbox, "gocardless")]
    base = {"limit": "500", "created_at[gte]": "2026-05-01T09:00:00.000Z"}
    assert sent == [
        ("/payments", base),
        ("/payments", {**base, "after": ids[703]}),
        ("/payments", {**base, "after": ids[203]}),
    ]


def test_payout_items_of_one_payout(
    sandbox: RunningSandbox, store: Store, gc: GoCardlessConnector
) -> None:
    for payout, count in (("PO1", 3), ("PO2", 2)):
        for n in range(count):
            item = {"amount": f"{10 + n}.00", "type": "payment_paid_out", "links": {}}
            extra = {"payout": payout, "_id": f"{payout}:{n}", "_created": iso(T0)}
            store.add("gocardless", "payout_items", item, extra=extra)
    (page,) = gc.payout_items("PO1")
    assert [i["amount"] for i in page] == ["10.00", "11.00", "12.00"]
    (row,) = logged(sandbox, "gocardless")
    assert (row["path"], row["params"]) == ("/payout_items", {"payout": "PO1", "limit": "500"})


def test_events_since_walks_forward_with_linked_payments_and_resumes(
    sandbox: RunningSandbox, store: Store, gc: GoCardlessConnector
) -> None:
    add_payments(store, 5, status="failed")
    ids = add_events(store, 1100)
    pages = list(gc.events_since(ids[49], include="payment"))
    assert [len(p.events) for p in pages] == [500, 500, 50]
    assert [e["id"] for p in pages for e in p.events] == ids[50:]
    assert {p["id"] for p in pages[0].linked["payments"]} == {f"PM{i:05d}" for i in range(5)}
    sent = [r["params"] for r in logged(sandbox, "gocardless")]
    base = {"include": "payment", "resource_type": "payments", "limit": "500"}
    assert sent == [
        {**base, "before": ids[49]},
        {**base, "before": ids[549]},
        {**base, "before": ids[1049]},
    ]
    cursor = pages[-1].cursor
    assert cursor == ids[-1]
    assert list(gc.events_since(cursor, include="payment")) == []
    later = add_events(store, 3, start=T0 + timedelta(hours=2), prefix="EVN")
    assert [e["id"] for p in gc.events_since(cursor) for e in p.events] == later


def test_events_since_a_time(store: Store, gc: GoCardlessConnector) -> None:
    ids = add_events(store, 40)
    after = [
        e["id"]
        for p in gc.events_since(created_at_gte=T0 + timedelta(seconds=25))
        for e in p.events
    ]
    assert after == ids[25:]
    everything = [e["id"] for p in gc.events_since(created_at_gte=T0) for e in p.events]
    assert everything == ids
    with pytest.raises(ValueError, match="exactly one"):
        list(gc.events_since())


def test_retry_payment_retried_then_replayed_then_refused(
    store: Store, gc: GoCardlessConnector
) -> None:
    store.add(
        "gocardless",
        "mandates",
        {"id": "MD1", "created_at": iso(T0), "status": "active", "links": {"customer": "CU1"}},
    )
    add_payments(store, 1, status="failed")
    first = gc.retry_payment("PM00000", "dunning:PM00000:2", metadata={"step": "2"})
    assert first.status == "retried"
    assert first.payment is not None
    assert first.payment["status"] == "pending_submission"
    assert gc.retry_payment("PM00000", "dunning:PM00000:2") == first  # same key: replayed
    refused = gc.retry_payment("PM00000", "dunning:PM00000:3")
    assert (refused.status, refused.reason) == ("refused", "retry_failed")
    assert "failed payments" in (refused.message or "")


def test_429_waits_for_ratelimit_reset(
    sandbox: RunningSandbox, store: Store, gc: GoCardlessConnector, fake_time: FakeTime
) -> None:
    ids = add_payments(store, 10)
    set_clock(sandbox, "2026-06-30T22:00:30+00:00")
    fake_time.now = datetime(2026, 6, 30, 22, 0, 30, tzinfo=UTC).timestamp()
    fault(sandbox, provider="gocardless", status=429, count=1)
    fake_time.sleeps.clear()
    (page,) = gc.list_pages("payments")
    assert [p["id"] for p in page] == ids[::-1]
    assert 30.0 in fake_time.sleeps  # RateLimit-Reset: Tue, 30 Jun 2026 22:01:00 GMT
    assert [r["status"] for r in logged(sandbox, "gocardless")] == [429, 200]


def test_5xx_and_dropped_connections_are_retried(
    sandbox: RunningSandbox, store: Store, gc: GoCardlessConnector
) -> None:
    ids = add_payments(store, 10)
    fault(sandbox, provider="gocardless", status=503, count=2)
    fault(sandbox, provider="gocardless", drop=1)
    (page,) = gc.list_pages("payments")
    assert [p["id"] for p in page] == ids[::-1]
    assert [r["status"] for r in logged(sandbox, "gocardless")] == [503, 503, 0, 200]


@pytest.mark.parametrize(
    ("status", "stream"), [(401, "mandates"), (403, "payouts"), (404, "refunds")]
)
def test_auth_and_missing_are_connector_errors(
    sandbox: RunningSandbox, gc: GoCardlessConnector, status: int, stream: str
) -> None:
    fault(sandbox, provider="gocardless", status=status, count=1)
    with pytest.raises(ConnectorError) as caught:
        list(gc.list_pages(stream))
    assert str(caught.value).startswith(f"gocardless {stream}: HTTP {status}")
    assert TOKEN not in str(caught.value)
    assert len(logged(sandbox, "gocardless")) == 1


def test_an_empty_token_is_refused_by_the_api(
    sandbox: RunningSandbox, retry: RetryPolicy, limiter: RateLimiter
) -> None:
    conn = GoCardlessConnector(" ", sandbox.url, retry=retry, limiter=limiter)
    with pytest.raises(ConnectorError) as caught:
        list(conn.list_pages("customers"))
    assert (caught.value.status, caught.value.code) == (401, "access_token_not_found")
