"""Stripe writes: the caller's idempotency key makes a repeat harmless; a decline is a result."""

from __future__ import annotations

import pytest

from connectors.errors import ConnectorError
from connectors.ratelimit import RateLimiter
from connectors.retry import RetryPolicy
from connectors.stripe import StripeConnector
from sandbox.server import RunningSandbox
from sandbox.store import Store
from tests.connectors.conftest import fault, logged
from tests.connectors.stripe_data import KEY
from tests.sandbox.stripe_shop import customer, invoice, subscription


@pytest.fixture
def stripe_conn(
    sandbox: RunningSandbox, retry: RetryPolicy, limiter: RateLimiter
) -> StripeConnector:
    return StripeConnector(KEY, sandbox.url, retry=retry, limiter=limiter)


def _shop(store: Store, last4: str = "4242") -> None:
    customer(store, "cus_A", last4=last4)
    subscription(store, "sub_A", "cus_A")
    invoice(store, "in_A", "cus_A", sub_id="sub_A", amount=2400)


def test_pay_invoice_twice_with_one_key_charges_once(
    sandbox: RunningSandbox, store: Store, stripe_conn: StripeConnector
) -> None:
    _shop(store)
    first = stripe_conn.pay_invoice("in_A", "dunning:in_A:1")
    second = stripe_conn.pay_invoice("in_A", "dunning:in_A:1")
    assert first.paid
    assert second.paid
    assert first.invoice is not None
    assert first.invoice["status"] == "paid"
    assert first == second
    assert store.count("stripe", "charges") == 1
    posts = [r for r in logged(sandbox, "stripe") if r["method"] == "POST"]
    assert [(r["path"], r["status"]) for r in posts] == [("/v1/invoices/in_A/pay", 200)] * 2


def test_pay_invoice_retried_after_a_503_charges_once(
    sandbox: RunningSandbox, store: Store, stripe_conn: StripeConnector
) -> None:
    _shop(store)
    fault(sandbox, provider="stripe", status=503, count=1)
    outcome = stripe_conn.pay_invoice("in_A", "dunning:in_A:1")
    assert outcome.paid
    assert store.count("stripe", "charges") == 1


def test_a_card_decline_is_an_outcome_with_its_decline_code(
    store: Store, stripe_conn: StripeConnector
) -> None:
    _shop(store, last4="9995")  # insufficient funds on the first attempt
    outcome = stripe_conn.pay_invoice("in_A", "dunning:in_A:1")
    assert outcome.status == "declined"
    assert (outcome.error_code, outcome.decline_code) == ("card_declined", "insufficient_funds")
    assert outcome.charge_id is not None
    assert outcome.charge_id.startswith("ch_")
    # The same key replays the decline; it does not try the card again.
    assert stripe_conn.pay_invoice("in_A", "dunning:in_A:1") == outcome
    assert store.count("stripe", "charges") == 1


def test_paying_a_paid_invoice_is_a_connector_error(
    store: Store, stripe_conn: StripeConnector
) -> None:
    customer(store, "cus_A")
    invoice(store, "in_A", "cus_A", status="paid")
    with pytest.raises(ConnectorError, match=r"stripe invoices\.pay: HTTP 400"):
        stripe_conn.pay_invoice("in_A", "dunning:in_A:1")


def test_subscription_writes(store: Store, stripe_conn: StripeConnector) -> None:
    _shop(store)
    paused = stripe_conn.pause_collection("sub_A", "mark_uncollectible", "pause:sub_A")
    assert paused["pause_collection"]["behavior"] == "mark_uncollectible"
    resumed = stripe_conn.pause_collection("sub_A", None, "resume:sub_A")
    assert resumed["pause_collection"] is None
    ending = stripe_conn.cancel_at_period_end("sub_A", "renewal:sub_A:refused")
    assert ending["cancel_at_period_end"] is True
    assert ending["cancel_at"] is not None
    canceled = stripe_conn.cancel_subscription("sub_A", "dunning:sub_A:cancel")
    assert canceled["status"] == "canceled"
    # A re-run with the same key is answered with the first answer, not a 404.
    assert stripe_conn.cancel_subscription("sub_A", "dunning:sub_A:cancel") == canceled


def test_mark_uncollectible(store: Store, stripe_conn: StripeConnector) -> None:
    _shop(store)
    written_off = stripe_conn.mark_uncollectible("in_A", "dunning:in_A:write-off")
    assert written_off["status"] == "uncollectible"


def test_writes_need_a_key(stripe_conn: StripeConnector) -> None:
    with pytest.raises(ValueError, match="idempotency key"):
        stripe_conn.pay_invoice("in_A", "")
    with pytest.raises(ValueError, match="behavior"):
        stripe_conn.pause_collection("sub_A", "stop", "k")
