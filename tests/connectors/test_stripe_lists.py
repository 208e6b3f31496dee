"""Stripe lists through StripeConnector: cursors, slices, events, faults and errors."""

from __future__ import annotations

import itertools
import json
from collections import OrderedDict

import pytest
import requests

from connectors.errors import ConnectorError, EventCursorExpired
from connectors.ratelimit import RateLimiter
from connectors.retry import RetryPolicy
from connectors.stripe import StripeConnector, time_slices
from sandbox.server import RunningSandbox
from sandbox.store import Store
from tests.connectors.conftest import FakeTime, fault, logged
from tests.connectors.stripe_data import KEY, NOW, T0, charges, events


@pytest.fixture
def stripe_conn(
    sandbox: RunningSandbox, retry: RetryPolicy, limiter: RateLimiter
) -> StripeConnector:
    return StripeConnector(KEY, sandbox.url, retry=retry, limiter=limiter, max_workers=4)


def _ids(pages: list[list[dict]]) -> list[str]:
    return [obj["id"] for page in pages for obj in page]


def test_list_pages_walks_250_charges_once_with_starting_after(
    sandbox: RunningSandbox, store: Store, stripe_conn: StripeConnector
) -> None:
    ids = charges(store, 250)
    pages = list(stripe_conn.list_pages("charges", created_gte=T0))
    assert [len(p) for p in pages] == [100, 100, 50]
    assert _ids(pages) == ids[::-1]
    # Plain JSON mappings as the SDK decoded them (never StripeObjects), the balance
    # transaction expanded by the endpoint table.
    first = pages[0][0]
    assert type(first) in (dict, OrderedDict)
    assert type(first["balance_transaction"]) in (dict, OrderedDict)
    assert first["balance_transaction"]["net"] == first["amount"] - 40
    json.dumps(pages)
    sent = [(r["path"], r["params"]) for r in logged(sandbox, "stripe")]
    base = {"limit": "100", "expand[0]": "data.balance_transaction", "created[gte]": str(T0)}
    assert sent == [
        ("/v1/charges", base),
        ("/v1/charges", {**base, "starting_after": ids[150]}),
        ("/v1/charges", {**base, "starting_after": ids[50]}),
    ]


def test_subscriptions_are_listed_with_status_all(
    sandbox: RunningSandbox, stripe_conn: StripeConnector
) -> None:
    assert list(stripe_conn.list_pages("subscriptions")) == []
    (row,) = logged(sandbox, "stripe")
    assert row["params"] == {"limit": "100", "status": "all"}


def test_list_sliced_yields_every_charge_exactly_once(
    sandbox: RunningSandbox, store: Store, stripe_conn: StripeConnector
) -> None:
    ids = charges(store, 700, per_second=3)  # seconds T0 .. T0 + 233
    pages = list(stripe_conn.list_sliced("charges", T0, T0 + 234, slices=6))
    seen = _ids(pages)
    assert len(seen) == len(set(seen)) == 700
    assert set(seen) == set(ids)
    bounds = time_slices(T0, T0 + 234, 6)
    asked = {
        (int(r["params"]["created[gte]"]), int(r["params"]["created[lt]"]))
        for r in logged(sandbox, "stripe")
    }
    assert asked == set(bounds)
    assert bounds[0][0] == T0
    assert bounds[-1][1] == T0 + 234
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))


def test_list_sliced_raises_a_slice_error_to_the_consumer(
    sandbox: RunningSandbox, store: Store, stripe_conn: StripeConnector
) -> None:
    charges(store, 50)
    fault(sandbox, provider="stripe", status=403, count=1)
    with pytest.raises(ConnectorError, match="stripe charges: HTTP 403"):
        list(stripe_conn.list_sliced("charges", T0, T0 + 10, slices=3))


def test_balance_transactions_of_a_payout(
    sandbox: RunningSandbox, store: Store, stripe_conn: StripeConnector
) -> None:
    charges(store, 30)
    (page,) = stripe_conn.balance_transactions("po_ODD")
    assert len(page) == 15
    assert all(txn["source"]["object"] == "charge" for txn in page)
    (row,) = logged(sandbox, "stripe")
    assert row["params"] == {"limit": "100", "payout": "po_ODD", "expand[0]": "data.source"}


def test_events_since_walks_forward_oldest_first_and_resumes(
    sandbox: RunningSandbox, store: Store, stripe_conn: StripeConnector
) -> None:
    ids = events(store, 250)
    pages = list(stripe_conn.events_since(ids[9]))
    assert [len(p) for p in pages] == [100, 100, 40]
    assert _ids(pages) == ids[10:]
    sent = [r["params"] for r in logged(sandbox, "stripe")]
    assert sent == [
        {"limit": "100", "ending_before": ids[9]},
        {"limit": "100", "ending_before": ids[109]},
        {"limit": "100", "ending_before": ids[209]},
    ]
    # Resume from the stored cursor: only what came after it.
    cursor = pages[-1][-1]["id"]
    assert list(stripe_conn.events_since(cursor)) == []
    more = events(store, 3, start=T0 + 200, prefix="evt_new_")
    assert _ids(list(stripe_conn.events_since(cursor))) == more


def test_events_created_since_starts_at_the_time(
    sandbox: RunningSandbox, store: Store, stripe_conn: StripeConnector
) -> None:
    ids = events(store, 30)  # two per second
    assert _ids(list(stripe_conn.events_created_since(T0 + 10))) == ids[20:]
    # Nothing retained before the time: the list is read and reversed.
    assert _ids(list(stripe_conn.events_created_since(T0 - 100))) == ids
    assert _ids(list(stripe_conn.events_created_since(T0 + 10, types=["charge.failed"]))) == [
        i for n, i in enumerate(ids) if n >= 20 and n % 3 == 0
    ]


def test_an_event_cursor_past_30_days_is_expired(
    store: Store, stripe_conn: StripeConnector
) -> None:
    (old,) = events(store, 1, start=NOW - 40 * 86400, prefix="evt_old_")
    with pytest.raises(EventCursorExpired) as caught:
        list(stripe_conn.events_since(old))
    assert caught.value.status == 400
    assert caught.value.code == "resource_missing"
    assert old in str(caught.value)


def test_events_before_reads_back_the_overlap_behind_the_cursor_oldest_first(
    sandbox: RunningSandbox, store: Store, stripe_conn: StripeConnector
) -> None:
    ids = events(store, 250)  # two per second: ids[209] is at T0 + 104
    cursor = ids[209]
    # Listed after the cursor was stored, dated before it: ``ending_before`` never sees it.
    (late,) = events(store, 1, start=T0 + 100, prefix="evt_late_")
    assert _ids(list(stripe_conn.events_since(cursor))) == ids[210:]
    requests.delete(sandbox.url + "/__sandbox/requests", timeout=10)
    pages = list(stripe_conn.events_before(cursor, T0 + 40))
    assert _ids(pages) == [*ids[80:202], late, *ids[202:209]]
    sent = [r["params"] for r in logged(sandbox, "stripe")]
    assert [p["starting_after"] for p in sent] == [cursor, pages[-1][0]["id"]]
    assert all(p["created[gte]"] == str(T0 + 40) for p in sent)
    (old,) = events(store, 1, start=NOW - 40 * 86400, prefix="evt_old_")
    with pytest.raises(EventCursorExpired):
        list(stripe_conn.events_before(old, NOW - 41 * 86400))


def test_429_burst_and_503s_are_retried_to_the_same_result(
    sandbox: RunningSandbox,
    store: Store,
    stripe_conn: StripeConnector,
    fake_time: FakeTime,
) -> None:
    charges(store, 250)
    clean = list(stripe_conn.list_pages("charges"))
    fault(sandbox, provider="stripe", status=429, count=3)
    fault(sandbox, provider="stripe", status=503, count=2)
    fake_time.sleeps.clear()
    faulty = list(stripe_conn.list_pages("charges"))
    assert faulty == clean
    statuses = [r["status"] for r in logged(sandbox, "stripe")][3:]
    assert statuses == [429, 429, 429, 503, 503, 200, 200, 200]
    # Stripe sends no Retry-After: exponential backoff, the fixture's jitter draws 0.5.
    backoffs = [s for s in fake_time.sleeps if s >= 0.2]
    assert backoffs == [0.375, 0.75, 1.5, 3.0, 6.0]


def test_dropped_connection_is_retried(
    sandbox: RunningSandbox, store: Store, stripe_conn: StripeConnector
) -> None:
    ids = charges(store, 20)
    fault(sandbox, provider="stripe", drop=1)
    assert _ids(list(stripe_conn.list_pages("charges"))) == ids[::-1]


def test_retries_run_out_into_a_connector_error(
    sandbox: RunningSandbox, store: Store, fake_time: FakeTime, limiter: RateLimiter
) -> None:
    charges(store, 5)
    policy = RetryPolicy(max_attempts=3, sleep=fake_time.sleep, clock=fake_time.time)
    conn = StripeConnector(KEY, sandbox.url, retry=policy, limiter=limiter)
    fault(sandbox, provider="stripe", status=503, count=5)
    with pytest.raises(ConnectorError) as caught:
        list(conn.list_pages("charges"))
    assert (caught.value.status, caught.value.retryable) == (503, True)
    assert len(logged(sandbox, "stripe")) == 3


@pytest.mark.parametrize(("status", "stream"), [(403, "disputes"), (404, "refunds")])
def test_403_and_404_on_a_list_are_errors_naming_the_stream(
    sandbox: RunningSandbox, stripe_conn: StripeConnector, status: int, stream: str
) -> None:
    fault(sandbox, provider="stripe", status=status, count=1)
    with pytest.raises(ConnectorError) as caught:
        list(stripe_conn.list_pages(stream))
    err = caught.value
    assert (err.provider, err.stream, err.status, err.retryable) == (
        "stripe",
        stream,
        status,
        False,
    )
    assert f"stripe {stream}: HTTP {status}" in str(err)
    assert len(logged(sandbox, "stripe")) == 1


def test_401_names_the_provider_and_stream_but_not_the_key(
    sandbox: RunningSandbox, retry: RetryPolicy, limiter: RateLimiter
) -> None:
    bad_key = "sk_test_wrong-key-1234"
    conn = StripeConnector(bad_key, sandbox.url, retry=retry, limiter=limiter)
    with pytest.raises(ConnectorError) as caught:
        list(conn.list_pages("customers"))
    text = str(caught.value)
    assert text.startswith("stripe customers: HTTP 401")
    assert bad_key not in text
    assert "1234" not in text  # not even Stripe's masked form of it
    assert bad_key not in repr(caught.value)
    assert bad_key not in repr(conn)


def test_list_sliced_stops_its_threads_when_the_consumer_stops(
    sandbox: RunningSandbox, store: Store, stripe_conn: StripeConnector
) -> None:
    charges(store, 2000, per_second=2)  # 1000 seconds, 20 pages
    pages = stripe_conn.list_sliced("charges", T0, T0 + 1000, slices=4)
    first = next(pages)
    assert len(first) == 100
    pages.close()  # returns once the walks finish their current page
    requested = len(logged(sandbox, "stripe"))
    assert requested < 20
    assert len(logged(sandbox, "stripe")) == requested  # nothing runs on in the background


def test_events_since_sliced_gives_the_one_walks_events_in_its_order(
    sandbox: RunningSandbox, store: Store, stripe_conn: StripeConnector
) -> None:
    ids = events(store, 250)  # two per second, T0 .. T0 + 124
    cursor = ids[8]  # at T0 + 4, with ids[9] in the same second and newer
    one_walk = _ids(list(stripe_conn.events_since(cursor)))
    requests.delete(sandbox.url + "/__sandbox/requests", timeout=10)

    pages = list(stripe_conn.events_since_sliced(cursor, T0 + 4, slices=4))

    assert _ids(pages) == one_walk == ids[9:]
    sent = [r["params"] for r in logged(sandbox, "stripe")]
    assert sent[0] == {"limit": "1"}  # the newest event bounds the ranges
    walks = sent[1:]
    # The cursor's own range, then three created ranges, the last without an end.
    from_cursor = [p for p in walks if "ending_before" in p]
    assert from_cursor[0] == {"limit": "100", "ending_before": cursor, "created[lt]": str(T0 + 34)}
    ranges = {(p["created[gte]"], p.get("created[lt]")) for p in walks if "created[gte]" in p}
    assert ranges == {
        (str(T0 + 34), str(T0 + 64)),
        (str(T0 + 64), str(T0 + 94)),
        (str(T0 + 94), None),
    }


def test_events_since_sliced_raises_where_the_one_walk_would(
    store: Store, stripe_conn: StripeConnector
) -> None:
    (old,) = events(store, 1, start=NOW - 40 * 86400, prefix="evt_old_")
    events(store, 300, start=NOW - 3600)
    with pytest.raises(EventCursorExpired):
        list(stripe_conn.events_since_sliced(old, NOW - 40 * 86400, slices=3))
