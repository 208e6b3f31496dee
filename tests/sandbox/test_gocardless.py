"""The GoCardless emulator, driven through the official ``gocardless_pro`` SDK and plain HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import gocardless_pro
import pytest
import requests
from gocardless_pro import errors

from sandbox.server import RunningSandbox
from sandbox.store import Store

FIXTURES = Path(__file__).resolve().parents[2] / "sandbox" / "fixtures" / "gocardless"
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
HEADERS = {"Authorization": "Bearer token", "GoCardless-Version": "2015-07-06"}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


@pytest.fixture
def client(sandbox: RunningSandbox) -> gocardless_pro.Client:
    return gocardless_pro.Client(access_token="sandbox_token", base_url=sandbox.url)


@pytest.fixture
def faults(sandbox: RunningSandbox) -> Iterator[str]:
    url = sandbox.url + "/__sandbox/faults"
    yield url
    requests.delete(url, timeout=5)


def add_payment(store: Store, pid: str, created: datetime, **fields: Any) -> dict[str, Any]:
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
    store.add("gocardless", "payments", payment, extra={"customer": "CU1"})
    return payment


def add_mandate(store: Store, mid: str = "MD1", status: str = "active") -> None:
    mandate = {
        "id": mid,
        "created_at": iso(T0 - timedelta(days=90)),
        "status": status,
        "scheme": "sepa_core",
        "links": {"customer": "CU1", "creditor": "CR1"},
    }
    store.add("gocardless", "mandates", mandate)


# -- pagination --------------------------------------------------------------------------


def test_all_pages_through_1203_payments_newest_first_each_exactly_once(
    sandbox: RunningSandbox, store: Store, client: gocardless_pro.Client
) -> None:
    with store.bulk() as bulk:
        for n in range(1203):
            created = T0 + timedelta(seconds=n // 3)  # three payments share each second
            bulk.add(
                "gocardless",
                "payments",
                {"id": f"PM{n:06d}", "created_at": iso(created), "status": "paid_out"},
                extra={"customer": "CU1"},
            )
    requests.delete(sandbox.url + "/__sandbox/requests", timeout=5)

    seen = [p.id for p in client.payments.all(params={"limit": 500})]

    assert len(seen) == 1203
    assert len(set(seen)) == 1203
    assert seen == [f"PM{n:06d}" for n in reversed(range(1203))]
    log = requests.get(sandbox.url + "/__sandbox/requests", timeout=5).json()
    assert [r["path"] for r in log] == ["/payments"] * 3  # pages of 500, 500, 203


def test_page_cursors_walk_forward_and_back(store: Store, client: gocardless_pro.Client) -> None:
    for n in range(5):
        add_payment(store, f"PM{n}", T0 + timedelta(minutes=n))

    first = client.payments.list(params={"limit": 2})
    assert [p.id for p in first.records] == ["PM4", "PM3"]
    assert (first.before, first.after) == (None, "PM3")
    second = client.payments.list(params={"limit": 2, "after": first.after})
    assert [p.id for p in second.records] == ["PM2", "PM1"]
    assert (second.before, second.after) == ("PM2", "PM1")
    last = client.payments.list(params={"limit": 2, "after": second.after})
    assert [p.id for p in last.records] == ["PM0"]
    assert last.after is None
    back = client.payments.list(params={"limit": 2, "before": second.before})
    assert [p.id for p in back.records] == ["PM4", "PM3"]
    assert back.before is None
    assert back.api_response.body["meta"]["limit"] == 2
    with pytest.raises(errors.ValidationFailedError) as caught:
        client.payments.list(params={"after": "PM404"})
    assert caught.value.errors[0]["field"] == "after"


def test_default_limit_is_50_and_over_500_is_the_real_validation_error(
    sandbox: RunningSandbox, store: Store, client: gocardless_pro.Client
) -> None:
    for n in range(60):
        add_payment(store, f"PM{n:03d}", T0 + timedelta(seconds=n))
    page = client.payments.list()
    assert len(page.records) == 50
    assert page.api_response.body["meta"]["limit"] == 50

    with pytest.raises(errors.ValidationFailedError) as caught:
        client.payments.list(params={"limit": 501})
    assert caught.value.code == 422
    assert caught.value.errors[0]["field"] == "limit"
    raw = requests.get(sandbox.url + "/payments?limit=501", headers=HEADERS, timeout=5)
    assert raw.status_code == 422
    expected = fixture("validation_failed_error")["error"]
    assert set(raw.json()["error"]) == set(expected)
    assert set(raw.json()["error"]["errors"][0]) == set(expected["errors"][0])


def test_created_at_gt_excludes_the_boundary_and_gte_includes_it(
    store: Store, client: gocardless_pro.Client
) -> None:
    for n, pid in enumerate(["PMA", "PMB", "PMC"]):
        add_payment(store, pid, T0 + timedelta(hours=n))
    boundary = iso(T0 + timedelta(hours=1))

    after = client.payments.all(params={"created_at[gt]": boundary})
    from_ = client.payments.all(params={"created_at[gte]": boundary})
    until = client.payments.all(params={"created_at[lte]": boundary})

    assert [p.id for p in after] == ["PMC"]
    assert [p.id for p in from_] == ["PMC", "PMB"]
    assert [p.id for p in until] == ["PMB", "PMA"]


def test_payment_filters_customer_status_and_charge_date(
    store: Store, client: gocardless_pro.Client
) -> None:
    add_payment(store, "PM1", T0, status="failed", charge_date="2026-05-04")
    add_payment(store, "PM2", T0 + timedelta(hours=1), charge_date="2026-05-11")
    store.add(
        "gocardless",
        "payments",
        {"id": "PM3", "created_at": iso(T0), "status": "failed", "charge_date": "2026-05-20"},
        extra={"customer": "CU2"},
    )
    ids = lambda params: sorted(p.id for p in client.payments.all(params=params))  # noqa: E731

    assert ids({"customer": "CU1"}) == ["PM1", "PM2"]
    assert ids({"status": "failed"}) == ["PM1", "PM3"]
    assert ids({"charge_date[gte]": "2026-05-11"}) == ["PM2", "PM3"]
    assert ids({"charge_date[lt]": "2026-05-11", "status": "failed"}) == ["PM1"]
    with pytest.raises(errors.InvalidApiUsageError) as caught:
        client.payments.list(params={"created_at": "gte"})  # a nested dict, wrongly encoded
    assert caught.value.errors[0]["reason"] == "invalid_filters"


def test_payout_items_need_their_payout_and_list_only_its_items(
    store: Store, client: gocardless_pro.Client
) -> None:
    for payout, count in (("PO1", 3), ("PO2", 2)):
        for n in range(count):
            item = {
                "amount": f"{10 + n}.00",
                "type": "payment_paid_out",
                "links": {"payment": f"PM{n}"},
            }
            extra = {"payout": payout, "_id": f"{payout}:{n}", "_created": iso(T0)}
            store.add("gocardless", "payout_items", item, extra=extra)

    items = list(client.payout_items.all(params={"payout": "PO1", "limit": 2}))

    assert [i.amount for i in items] == ["10.00", "11.00", "12.00"]
    with pytest.raises(errors.ValidationFailedError) as caught:
        client.payout_items.list()
    assert caught.value.errors[0]["field"] == "payout"


# -- events ------------------------------------------------------------------------------


def test_events_cursor_with_include_carries_the_linked_payments(
    store: Store, client: gocardless_pro.Client
) -> None:
    for n in range(5):
        add_payment(store, f"PM{n}", T0, status="failed")
    for n in range(10):
        event = {
            "id": f"EV{n:03d}",
            "created_at": iso(T0 + timedelta(minutes=n)),
            "resource_type": "payments",
            "action": "failed" if n % 2 else "submitted",
            "links": {"payment": f"PM{n // 2}"},
            "details": {"origin": "bank", "cause": "insufficient_funds", "scheme": "sepa_core"},
        }
        store.add("gocardless", "events", event)
    store.add(
        "gocardless",
        "events",
        {
            "id": "EVM",
            "created_at": iso(T0),
            "resource_type": "mandates",
            "action": "created",
            "links": {"mandate": "MD1"},
        },
    )
    params = {"resource_type": "payments", "include": "payment", "limit": 4}

    pages, cursor = [], None
    while True:
        page = client.events.list(params={**params, **({"after": cursor} if cursor else {})})
        pages.append(page)
        cursor = page.after
        if cursor is None:
            break

    events = [e for page in pages for e in page.records]
    assert [e.id for e in events] == [f"EV{n:03d}" for n in reversed(range(10))]
    first_linked = pages[0].api_response.body["linked"]["payments"]
    assert [p["id"] for p in first_linked] == ["PM4", "PM3"]
    assert set(first_linked[0]) == set(fixture("payments")["list"]["body"]["payments"][0])
    assert events[0].details.origin == "bank"
    assert [e.id for e in client.events.all(params={"payment": "PM2"})] == ["EV005", "EV004"]
    failed = client.events.all(params={"resource_type": "payments", "action": "failed"})
    assert len(list(failed)) == 5
    with pytest.raises(errors.InvalidApiUsageError):
        client.events.list(params={"include": "payment"})  # include needs resource_type
    with pytest.raises(errors.InvalidApiUsageError):
        client.events.list(params={"resource_type": "payments", "payment": "PM1"})


# -- payment retry ---------------------------------------------------------------------------


def test_retry_of_a_failed_payment_resubmits_it_and_records_the_event(
    store: Store, client: gocardless_pro.Client
) -> None:
    add_mandate(store)
    add_payment(store, "PMF", T0, status="failed", scheme="sepa_core")

    retried = client.payments.retry("PMF", params={"metadata": {"dunning": "step-2"}})

    assert retried.status == "pending_submission"
    assert retried.charge_date == "2026-07-01"  # the sandbox clock is Tue 2026-06-30 22:00
    assert client.payments.get("PMF").status == "pending_submission"
    (event,) = list(client.events.all(params={"payment": "PMF"}))
    assert event.action == "resubmission_requested"
    assert event.details.origin == "api"
    assert event.metadata == {"dunning": "step-2"}
    assert event.id.startswith("EV")
    add_payment(store, "PMG", T0, status="failed")
    later = client.payments.retry("PMG", params={"charge_date": "2026-07-06"})
    assert later.charge_date == "2026-07-06"


def test_retry_of_a_payment_that_has_not_failed_is_invalid_state(
    sandbox: RunningSandbox, store: Store, client: gocardless_pro.Client
) -> None:
    add_mandate(store)
    add_payment(store, "PMC", T0, status="confirmed")

    with pytest.raises(errors.InvalidStateError) as caught:
        client.payments.retry("PMC")

    assert caught.value.code == 422
    assert caught.value.errors[0]["reason"] == "retry_failed"
    raw = requests.post(
        sandbox.url + "/payments/PMC/actions/retry", headers=HEADERS, json={}, timeout=5
    )
    expected = fixture("invalid_state_error")["error"]
    assert set(raw.json()["error"]) == set(expected)
    assert set(raw.json()["error"]["errors"][0]) == set(expected["errors"][0])
    assert client.payments.get("PMC").status == "confirmed"


@pytest.mark.parametrize("mandate_status", ["cancelled", "suspended_by_payer"])
def test_retry_needs_an_active_mandate(
    store: Store, client: gocardless_pro.Client, mandate_status: str
) -> None:
    add_mandate(store, status=mandate_status)
    add_payment(store, "PMF", T0, status="failed")

    with pytest.raises(errors.InvalidStateError):
        client.payments.retry("PMF")
    assert client.payments.get("PMF").status == "failed"
    assert list(client.events.all(params={"payment": "PMF"})) == []


def test_a_fourth_retry_is_refused(store: Store, client: gocardless_pro.Client) -> None:
    add_mandate(store)
    payment = add_payment(store, "PMF", T0, status="failed")
    for _ in range(3):
        client.payments.retry("PMF")
        store.replace("gocardless", "payments", {**payment, "status": "failed"})

    with pytest.raises(errors.InvalidStateError) as caught:
        client.payments.retry("PMF")

    assert caught.value.errors[0]["reason"] == "retry_failed"
    assert len(list(client.events.all(params={"payment": "PMF"}))) == 3


def test_retry_with_the_same_idempotency_key_replays_instead_of_retrying_twice(
    store: Store, client: gocardless_pro.Client
) -> None:
    add_mandate(store)
    add_payment(store, "PMF", T0, status="failed")
    key = {"Idempotency-Key": "dunning:PMF:2"}

    first = client.payments.retry("PMF", headers=key)
    second = client.payments.retry("PMF", headers=key)

    assert first.attributes == second.attributes
    assert len(list(client.events.all(params={"payment": "PMF"}))) == 1
    with pytest.raises(errors.InvalidStateError):  # a new key is a new retry: no longer failed
        client.payments.retry("PMF", headers={"Idempotency-Key": "other"})


# -- auth, errors, headers ---------------------------------------------------------------


def test_missing_or_empty_token_is_the_real_401(sandbox: RunningSandbox) -> None:
    client = gocardless_pro.Client(access_token="", base_url=sandbox.url)
    with pytest.raises(errors.AuthenticationError) as caught:
        client.payments.list()
    assert caught.value.errors[0]["reason"] == "access_token_not_found"
    assert caught.value.type == "invalid_api_usage"

    raw = requests.get(
        sandbox.url + "/payments", headers={"GoCardless-Version": "2015-07-06"}, timeout=5
    )
    assert raw.status_code == 401
    assert raw.json()["error"]["errors"][0]["reason"] == "missing_authorization_header"
    assert raw.json()["error"]["code"] == 401


def test_unknown_id_is_the_real_404(client: gocardless_pro.Client) -> None:
    with pytest.raises(errors.InvalidApiUsageError) as caught:
        client.mandates.get("MD404")
    assert caught.value.code == 404
    assert caught.value.errors[0]["reason"] == "resource_not_found"


def test_injected_429_is_the_sdks_rate_limit_error_with_gocardless_headers(
    sandbox: RunningSandbox, client: gocardless_pro.Client, faults: str
) -> None:
    requests.post(faults, json={"provider": "gocardless", "status": 429, "count": 1}, timeout=5)

    with pytest.raises(errors.RateLimitError) as caught:
        client.payments.list()

    assert caught.value.errors[0]["reason"] == "rate_limit_exceeded"
    expected = fixture("rate_limit_exceeded")["error"]
    assert caught.value.message == expected["message"]
    assert caught.value.type == expected["type"]
    client.payments.list()  # the fault was counted: the next call goes through
    assert client.rate_limit["ratelimit-limit"] == 1000
    requests.post(faults, json={"provider": "gocardless", "status": 429, "count": 1}, timeout=5)
    raw = requests.get(sandbox.url + "/payments", headers=HEADERS, timeout=5)
    assert raw.status_code == 429
    body = raw.json()["error"]
    assert body.pop("request_id")
    assert body == expected
    assert raw.headers["RateLimit-Limit"] == "1000"
    assert raw.headers["RateLimit-Remaining"] == "0"
    assert raw.headers["RateLimit-Reset"].endswith("GMT")


def test_injected_5xx_is_the_sdks_internal_error(
    client: gocardless_pro.Client, faults: str
) -> None:
    requests.post(faults, json={"provider": "gocardless", "status": 500, "count": 1}, timeout=5)
    with pytest.raises(errors.GoCardlessInternalError) as caught:
        client.customers.list()
    assert caught.value.type == "gocardless"


def test_rate_limit_headers_count_down_on_every_response(
    sandbox: RunningSandbox, client: gocardless_pro.Client
) -> None:
    client.customers.list()
    first = client.rate_limit["ratelimit-remaining"]
    client.customers.list()
    assert client.rate_limit["ratelimit-limit"] == 1000
    assert client.rate_limit["ratelimit-remaining"] == first - 1
    raw = requests.get(sandbox.url + "/customers/CU404", headers=HEADERS, timeout=5)
    assert raw.status_code == 404
    assert raw.headers["RateLimit-Limit"] == "1000"
    assert raw.headers["RateLimit-Reset"].endswith("GMT")


# -- shape fidelity ------------------------------------------------------------------------

SPARSE: dict[str, dict[str, Any]] = {
    "customers": {"id": "CU1", "given_name": "Jeanne", "country_code": "FR"},
    "mandates": {"id": "MD1", "status": "active", "links": {"customer": "CU1"}},
    "subscriptions": {"id": "SB1", "status": "active", "amount": 990, "links": {"mandate": "MD1"}},
    "instalment_schedules": {"id": "IS1", "status": "active", "links": {"mandate": "MD1"}},
    "payments": {"id": "PM1", "status": "paid_out", "links": {"mandate": "MD1"}},
    "refunds": {"id": "RF1", "amount": 500, "links": {"payment": "PM1"}},
    "payouts": {"id": "PO1", "amount": 10000, "status": "paid"},
    "events": {"id": "EV1", "resource_type": "payments", "action": "paid_out"},
}


@pytest.mark.parametrize("resource", [*SPARSE, "payout_items"])
def test_every_resource_renders_with_the_sdk_fixtures_field_names_and_envelope(
    sandbox: RunningSandbox, store: Store, resource: str
) -> None:
    extra = {"customer": "CU1"} if resource in ("payments", "subscriptions") else None
    if resource == "payout_items":
        obj: dict[str, Any] = {"amount": "9.90", "type": "payment_paid_out"}
        extra = {"payout": "PO1", "_id": "PO1:0", "_created": iso(T0)}
    else:
        obj = {**SPARSE[resource], "created_at": iso(T0)}
    store.add("gocardless", resource, obj, extra=extra)
    query = "?payout=PO1" if resource == "payout_items" else ""

    body = requests.get(f"{sandbox.url}/{resource}{query}", headers=HEADERS, timeout=5).json()

    expected = fixture(resource)["list"]["body"]
    assert set(body) == set(expected) - {"linked"}
    assert set(body["meta"]) == set(expected["meta"])
    assert set(body["meta"]["cursors"]) == set(expected["meta"]["cursors"])
    (rendered,) = body[resource]
    assert set(rendered) == set(expected[resource][0])
    if resource != "payout_items":
        one = requests.get(f"{sandbox.url}/{resource}/{obj['id']}", headers=HEADERS, timeout=5)
        assert one.json() == {resource: rendered}
