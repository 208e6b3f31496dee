"""AfterShip through AfterShipConnector: pages of 200 by cursor, reset headers, errors."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from connectors.aftership import AfterShipConnector
from connectors.errors import ConnectorError
from connectors.ratelimit import RateLimiter
from connectors.retry import RetryPolicy
from sandbox.server import RunningSandbox
from sandbox.store import Store
from tests.connectors.conftest import FakeTime, fault, logged, set_clock

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
KEY = "asat_connector_tests"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def add_trackings(store: Store, n: int, *, updated_from: datetime = T0) -> list[str]:
    """``n`` trackings, one a minute; ids oldest first."""
    ids = [hashlib.md5(str(i).encode()).hexdigest() for i in range(n)]
    with store.bulk() as bulk:
        for i, tid in enumerate(ids):
            moment = updated_from + timedelta(minutes=i)
            bulk.add(
                "aftership",
                "trackings",
                {
                    "id": tid,
                    "tracking_number": f"6A{i:011d}",
                    "slug": "colissimo",
                    "tag": "InTransit",
                    "order_id": f"ord_{i}",
                    "created_at": iso(moment),
                    "updated_at": iso(moment),
                    "custom_fields": {"direction": "outbound"},
                },
            )
    return ids


@pytest.fixture
def aftership(
    sandbox: RunningSandbox, retry: RetryPolicy, limiter: RateLimiter
) -> AfterShipConnector:
    return AfterShipConnector(KEY, sandbox.url, retry=retry, limiter=limiter)


def test_trackings_updated_since_pages_of_200_by_cursor(
    sandbox: RunningSandbox, store: Store, aftership: AfterShipConnector
) -> None:
    ids = add_trackings(store, 450)
    since = T0 + timedelta(minutes=20)
    pages = list(aftership.trackings_updated_since(since))
    assert [len(p) for p in pages] == [200, 200, 30]
    seen = [t["id"] for page in pages for t in page]
    assert seen == ids[20:][::-1]
    first = pages[0][0]
    assert type(first) is dict
    assert first["tracking_number"].startswith("6A")
    rows = logged(sandbox, "aftership")
    assert [r["path"] for r in rows] == ["/tracking/2026-07/trackings"] * 3
    params = [r["params"] for r in rows]
    assert params[0] == {"limit": "200", "updated_at_min": "2026-05-01T09:20:00+00:00"}
    assert "cursor" in params[1]
    assert "cursor" in params[2]
    assert params[1]["cursor"] != params[2]["cursor"]
    assert all(p["limit"] == "200" and p["updated_at_min"] == iso(since) for p in params)


def test_429_waits_for_x_ratelimit_reset(
    sandbox: RunningSandbox, store: Store, aftership: AfterShipConnector, fake_time: FakeTime
) -> None:
    ids = add_trackings(store, 5)
    set_clock(sandbox, "2026-06-30T22:00:00+00:00")
    fake_time.now = datetime(2026, 6, 30, 22, 0, tzinfo=UTC).timestamp()
    fault(sandbox, provider="aftership", status=429, count=1)
    fake_time.sleeps.clear()
    (page,) = aftership.trackings_updated_since(T0)
    assert [t["id"] for t in page] == ids[::-1]
    assert 1.0 in fake_time.sleeps  # X-RateLimit-Reset: the sandbox's now + 1 s
    assert [r["status"] for r in logged(sandbox, "aftership")] == [429, 200]


def test_5xx_and_dropped_connections_are_retried(
    sandbox: RunningSandbox, store: Store, aftership: AfterShipConnector
) -> None:
    ids = add_trackings(store, 5)
    fault(sandbox, provider="aftership", status=503, count=2)
    fault(sandbox, provider="aftership", drop=1)
    (page,) = aftership.trackings_updated_since(T0)
    assert [t["id"] for t in page] == ids[::-1]
    assert [r["status"] for r in logged(sandbox, "aftership")] == [503, 503, 0, 200]


@pytest.mark.parametrize("status", [401, 403, 404])
def test_auth_and_missing_are_connector_errors(
    sandbox: RunningSandbox, aftership: AfterShipConnector, status: int
) -> None:
    fault(sandbox, provider="aftership", status=status, count=1)
    with pytest.raises(ConnectorError) as caught:
        list(aftership.trackings_updated_since(T0))
    assert str(caught.value).startswith(f"aftership trackings: HTTP {status}")
    assert KEY not in str(caught.value)
    assert len(logged(sandbox, "aftership")) == 1
