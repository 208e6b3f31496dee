"""Stripe's error answers as the SDK meets them: 401, 404, injected 429 and 5xx."""

from __future__ import annotations

import pytest
import requests
import stripe

from sandbox.server import RunningSandbox
from sandbox.store import Store
from tests.sandbox.stripe_shop import KEY, client, customer


def _fault(sandbox: RunningSandbox, **spec: object) -> None:
    response = requests.post(sandbox.url + "/__sandbox/faults", json=spec, timeout=10)
    response.raise_for_status()


def _stripe_requests(sandbox: RunningSandbox) -> list[dict[str, object]]:
    response = requests.get(
        sandbox.url + "/__sandbox/requests", params={"provider": "stripe"}, timeout=10
    )
    return list(response.json())


def test_injected_429_is_a_rate_limit_error_the_sdk_does_not_retry(
    sandbox: RunningSandbox, store: Store
) -> None:
    customer(store, "cus_A")
    _fault(sandbox, provider="stripe", status=429, count=1)
    retrying = client(sandbox, max_network_retries=2)
    with pytest.raises(stripe.RateLimitError) as exc:
        retrying.v1.customers.retrieve("cus_A")
    assert exc.value.http_status == 429
    assert exc.value.code is None  # the SDK does not carry a 429's code over...
    assert exc.value.json_body["error"]["code"] == "rate_limit"  # ...but the body has it
    assert exc.value.headers["Stripe-Rate-Limited-Reason"] == "global-rate"
    assert "stripe-should-retry" not in {h.lower() for h in exc.value.headers}
    assert exc.value.request_id.startswith("req_")
    assert len(_stripe_requests(sandbox)) == 1  # a real rate limit is not retried
    assert retrying.v1.customers.retrieve("cus_A").id == "cus_A"  # the fault was used up


def test_injected_500_is_an_api_error_that_the_sdk_retries(
    sandbox: RunningSandbox, store: Store
) -> None:
    customer(store, "cus_A")
    _fault(sandbox, provider="stripe", status=500, count=1)
    with pytest.raises(stripe.APIError) as exc:
        client(sandbox).v1.customers.retrieve("cus_A")
    assert exc.value.http_status == 500
    assert exc.value.json_body == {
        "error": {"message": "An unknown error occurred", "type": "api_error"}
    }
    _fault(sandbox, provider="stripe", status=500, count=1)
    assert client(sandbox, max_network_retries=1).v1.customers.retrieve("cus_A").id == "cus_A"
    assert [r["status"] for r in _stripe_requests(sandbox)] == [500, 500, 200]


def test_missing_key_is_an_authentication_error(sandbox: RunningSandbox) -> None:
    response = requests.get(sandbox.url + "/v1/charges", timeout=10)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("You did not provide an API key.")
    assert response.headers["Request-Id"].startswith("req_")


def test_malformed_key_is_an_authentication_error_that_masks_the_key(
    sandbox: RunningSandbox,
) -> None:
    bad = stripe.StripeClient("sk_tset_abcdefgh1234", base_addresses={"api": sandbox.url})
    with pytest.raises(stripe.AuthenticationError) as exc:
        bad.v1.charges.list()
    assert exc.value.http_status == 401
    assert exc.value.user_message == "Invalid API Key provided: ****************1234"
    assert "abcdefgh" not in exc.value.http_body
    response = requests.get(
        sandbox.url + "/v1/charges",
        headers={"Authorization": "Bearer sk_test_abc$def5678"},
        timeout=10,
    )
    assert response.json()["error"]["message"] == "Invalid API Key provided: sk_test_*******5678"


def test_keys_of_stripes_forms_are_accepted(sandbox: RunningSandbox) -> None:
    for key in (KEY, "sk_live_51Habc", "rk_test_51Habc"):
        response = requests.get(
            sandbox.url + "/v1/charges", headers={"Authorization": f"Bearer {key}"}, timeout=10
        )
        assert response.status_code == 200, key
    basic = requests.get(sandbox.url + "/v1/charges", auth=(KEY, ""), timeout=10)
    assert basic.status_code == 200


def test_unknown_id_is_resource_missing(sandbox: RunningSandbox) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client(sandbox).v1.charges.retrieve("ch_x")
    assert exc.value.http_status == 404
    assert exc.value.code == "resource_missing"
    assert exc.value.param == "id"
    assert exc.value.json_body == {
        "error": {
            "code": "resource_missing",
            "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
            "message": "No such charge: 'ch_x'",
            "param": "id",
            "type": "invalid_request_error",
        }
    }
    assert exc.value.request_id.startswith("req_")


def test_unknown_route_is_stripes_unrecognized_url(sandbox: RunningSandbox) -> None:
    response = requests.get(
        sandbox.url + "/v1/widgets", headers={"Authorization": f"Bearer {KEY}"}, timeout=10
    )
    assert response.status_code == 404
    assert response.json()["error"]["message"].startswith(
        "Unrecognized request URL (GET: /v1/widgets)."
    )
