"""The AfterShip emulator, driven through the official ``tracking`` SDK and plain HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import tracking
from tracking import exceptions
from tracking.models import Tracking

from sandbox.server import RunningSandbox
from sandbox.store import Store

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
LIST = "/tracking/2026-07/trackings"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def tid(n: int) -> str:
    return hashlib.md5(str(n).encode()).hexdigest()  # 32 lowercase hex, like AfterShip ids


def add_tracking(store: Store, n: int, created: datetime, **fields: Any) -> dict[str, Any]:
    obj = {
        "id": tid(n),
        "tracking_number": f"6A{n:011d}",
        "slug": "colissimo",
        "tag": "InTransit",
        "subtag": "InTransit_001",
        "order_id": f"ord_{n}",
        "created_at": iso(created),
        "updated_at": iso(created),
        "custom_fields": {"direction": "outbound"},
        **fields,
    }
    store.add("aftership", "trackings", obj)
    return obj


@pytest.fixture
def client(sandbox: RunningSandbox) -> tracking.Client:
    return tracking.Client(
        tracking.Configuration(api_key="asat_test", max_retry=0, domain=sandbox.url)
    )


@pytest.fixture
def faults(sandbox: RunningSandbox) -> Iterator[str]:
    url = sandbox.url + "/__sandbox/faults"
    yield url
    requests.delete(url, timeout=5)


def walk(client: tracking.Client, **params: Any) -> tuple[list[str], list[int | None]]:
    """Every tracking id the SDK's cursor loop sees, and each page's ``total``."""
    ids: list[str] = []
    totals: list[int | None] = []
    cursor = None
    while True:
        page = client.tracking.get_trackings(**params, **({"cursor": cursor} if cursor else {}))
        assert page.data is not None
        assert page.data.pagination is not None
        ids += [t.id for t in page.data.trackings or [] if t.id]
        totals.append(page.data.pagination.total)
        if not page.data.pagination.has_next_page:
            assert page.data.pagination.next_cursor is None
            return ids, totals
        cursor = page.data.pagination.next_cursor


def test_cursor_paging_sees_every_tracking_once_newest_first(
    sandbox: RunningSandbox, store: Store, client: tracking.Client
) -> None:
    with store.bulk() as bulk:
        for n in range(450):
            bulk.add(
                "aftership",
                "trackings",
                {"id": tid(n), "created_at": iso(T0 + timedelta(seconds=n // 2)), "tag": "Pending"},
            )

    ids, totals = walk(client, limit=200)

    assert ids == [tid(n) for n in reversed(range(450))]
    assert totals == [450, 450, 450]
    default = client.tracking.get_trackings()
    assert default.data is not None
    assert len(default.data.trackings or []) == 100


def test_updated_at_min_is_inclusive_and_filters_by_update_time(
    store: Store, client: tracking.Client
) -> None:
    for n in range(4):
        add_tracking(store, n, T0, updated_at=iso(T0 + timedelta(days=n)))
    boundary = iso(T0 + timedelta(days=2))

    ids, totals = walk(client, updated_at_min=boundary)
    upto, _ = walk(client, updated_at_max=boundary)

    assert sorted(ids) == sorted([tid(2), tid(3)])
    assert totals == [2]
    assert sorted(upto) == sorted([tid(0), tid(1), tid(2)])


def test_created_at_tag_slug_and_order_id_filters(store: Store, client: tracking.Client) -> None:
    add_tracking(store, 1, T0, tag="Delivered", order_id="ord_A")
    add_tracking(store, 2, T0 + timedelta(days=1), tag="Exception", order_id="ord_B")
    add_tracking(store, 3, T0 + timedelta(days=2), slug="dhl", order_id="ord_C")

    assert walk(client, tag="Exception")[0] == [tid(2)]
    assert walk(client, slug="dhl")[0] == [tid(3)]
    assert walk(client, order_id="ord_A,ord_C")[0] == [tid(3), tid(1)]
    assert walk(client, created_at_min=iso(T0 + timedelta(days=1)))[0] == [tid(3), tid(2)]
    assert walk(client, created_at_max=iso(T0))[0] == [tid(1)]


def test_get_by_id_and_the_real_404(store: Store, client: tracking.Client) -> None:
    add_tracking(store, 1, T0, tag="Delivered", subtag="Delivered_001")

    got = client.tracking.get_tracking_by_id(tid(1)).data
    assert got is not None
    assert got.id == tid(1)
    assert got.tag is not None
    assert got.tag.value == "Delivered"

    with pytest.raises(exceptions.NotFoundError) as caught:
        client.tracking.get_tracking_by_id("0" * 32)
    assert caught.value.status_code == 404
    assert caught.value.meta_code == 4004
    assert caught.value.code == exceptions.ErrorCodeEnum.TRACKING_DOES_NOT_EXIST


def test_a_limit_over_200_is_refused(sandbox: RunningSandbox, client: tracking.Client) -> None:
    with pytest.raises(exceptions.BadRequestError) as caught:
        client.tracking.get_trackings(limit=201)
    assert caught.value.status_code == 400
    raw = requests.get(
        sandbox.url + LIST, params={"cursor": "garbage"}, headers={"as-api-key": "k"}, timeout=5
    )
    assert raw.status_code == 400
    assert raw.json()["meta"]["type"] == "BadRequest"


def test_missing_key_is_the_real_401(sandbox: RunningSandbox) -> None:
    raw = requests.get(sandbox.url + LIST, timeout=5)
    assert raw.status_code == 401
    assert raw.json() == {
        "meta": {"code": 401, "message": "The API key is invalid.", "type": "Unauthorized"},
        "data": {},
    }
    config = tracking.Configuration(api_key="placeholder", max_retry=0, domain=sandbox.url)
    config.api_key = ""  # the SDK refuses an empty key up front; send one anyway
    with pytest.raises(exceptions.UnauthorizedError) as caught:
        tracking.Client(config).tracking.get_trackings()
    assert caught.value.meta_code == 401
    assert caught.value.code == exceptions.ErrorCodeEnum.API_KEY_INVALID


def test_injected_429_is_the_sdks_too_many_requests_with_rate_limit_headers(
    client: tracking.Client, faults: str
) -> None:
    requests.post(faults, json={"provider": "aftership", "status": 429, "count": 1}, timeout=5)

    with pytest.raises(exceptions.TooManyRequestsError) as caught:
        client.tracking.get_trackings()

    assert caught.value.status_code == 429
    assert caught.value.meta_code == 429
    assert caught.value.code == exceptions.ErrorCodeEnum.TOO_MANY_REQUEST
    headers = caught.value.response_header
    assert isinstance(headers, dict)
    assert headers["x-ratelimit-remaining"] == ["0"]
    assert int(headers["x-ratelimit-reset"][0]) > 1_700_000_000
    assert "x-ratelimit-limit" in headers
    assert client.tracking.get_trackings().data is not None  # the fault is spent


def test_injected_5xx_is_the_sdks_internal_error(client: tracking.Client, faults: str) -> None:
    requests.post(faults, json={"provider": "aftership", "status": 503, "count": 1}, timeout=5)
    with pytest.raises(exceptions.InternalError) as caught:
        client.tracking.get_trackings()
    assert caught.value.meta_code == 503


def test_every_tracking_has_the_models_fields_and_parses(
    sandbox: RunningSandbox, store: Store, client: tracking.Client
) -> None:
    add_tracking(store, 1, T0)
    add_tracking(
        store,
        2,
        T0,
        tag="Exception",
        subtag="Exception_011",
        custom_fields={"direction": "return"},
        courier_estimated_delivery_date={"estimated_delivery_date": "2026-05-04"},
        aftership_estimated_delivery_date={"estimated_delivery_date": "2026-05-05"},
        latest_estimated_delivery={
            "type": "specific",
            "source": "Carrier EDD",
            "datetime": "2026-05-04",
        },
        order_promised_delivery_date={"promised_delivery_date": "2026-05-03"},
        shipment_delivery_date=None,
        checkpoints=[{"checkpoint_time": iso(T0), "tag": "InTransit", "message": "Pris en charge"}],
    )

    raw = requests.get(sandbox.url + LIST, headers={"as-api-key": "k"}, timeout=5).json()

    assert raw["meta"] == {"code": 200, "message": "OK", "type": "OK"}
    headers = requests.get(sandbox.url + LIST, headers={"as-api-key": "k"}, timeout=5).headers
    assert headers["X-RateLimit-Limit"] == "6"  # AfterShip's limit on GET /trackings
    assert int(headers["X-RateLimit-Remaining"]) < 6
    assert int(headers["X-RateLimit-Reset"]) > 1_700_000_000
    assert set(raw["data"]) == {"pagination", "trackings"}
    assert set(raw["data"]["pagination"]) == {"total", "next_cursor", "has_next_page"}
    model_fields = {f.alias or name for name, f in Tracking.model_fields.items()}
    for item in raw["data"]["trackings"]:
        assert set(item) == model_fields
        Tracking.model_validate(item)
    page = client.tracking.get_trackings()
    assert page.data is not None
    parsed = {t.id: t for t in page.data.trackings or []}
    returned = parsed[tid(2)]
    assert returned.custom_fields == {"direction": "return"}
    assert returned.latest_estimated_delivery is not None
    assert returned.latest_estimated_delivery.datetime == "2026-05-04"
    assert returned.checkpoints is not None
    assert returned.checkpoints[0].message == "Pris en charge"
