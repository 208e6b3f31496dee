"""Every Stripe object the sandbox serves has the field names of Stripe's own fixture.

The reference is ``sandbox/fixtures/stripe/fixtures3.json`` (``resources.<object>``):
top-level keys must be exactly the fixture's (less the fields the pinned API
version removed); a nested object that is present must carry at least the
fixture's keys, and any other key must be one the SDK declares for it. Each
object must also come back from the SDK as its own class (``stripe.Charge``…).
"""

from __future__ import annotations

import json
import typing
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import stripe
from stripe._object_classes import get_object_class

from sandbox.providers.stripe_wire import REMOVED_FIELDS
from sandbox.server import RunningSandbox
from sandbox.store import Store
from tests.sandbox.stripe_shop import T0, client, customer, get, invoice, subscription

FIXTURES = Path(__file__).parents[2] / "sandbox" / "fixtures" / "stripe" / "fixtures3.json"
CARD = {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030, "country": "FR"}


@cache
def fixtures() -> dict[str, Any]:
    return dict(json.loads(FIXTURES.read_text())["resources"])


def sdk_fields(cls: type) -> set[str]:
    return {
        k for c in cls.__mro__ for k in getattr(c, "__annotations__", {}) if not k.startswith("_")
    }


def nested_class(cls: type | None, key: str) -> type | None:
    """The SDK class declared for ``cls.key`` (through Optional/List), if it is a StripeObject."""
    if cls is None:
        return None
    hints = {
        k: v for c in reversed(cls.__mro__) for k, v in getattr(c, "__annotations__", {}).items()
    }
    pending = [hints.get(key)]
    while pending:
        hint = pending.pop()
        if isinstance(hint, type) and issubclass(hint, stripe.StripeObject):
            return hint
        pending.extend(typing.get_args(hint))
    return None


FREE_FORM = ("metadata",)  # maps of the user's own keys: the fixture's keys are examples


def check_shape(obj: Any, fixture: Any, cls: type | None, path: str) -> None:
    if path.rsplit(".", 1)[-1] in FREE_FORM:
        return
    stub = isinstance(fixture, dict) and set(fixture) == set(obj or {})  # e.g. {id, object}
    if isinstance(obj, dict) and isinstance(obj.get("object"), str) and not stub:
        own = fixtures().get(obj["object"])
        if own is not None and obj["object"] != "list":
            expected = set(own) - REMOVED_FIELDS.get(obj["object"], frozenset())
            assert set(obj) == expected, (path, set(obj) ^ expected)
            own_cls = get_object_class("V1", obj["object"])
            for key, value in obj.items():
                check_shape(value, own[key], nested_class(own_cls, key), f"{path}.{key}")
            return
    if isinstance(obj, dict) and isinstance(fixture, dict):
        missing = set(fixture) - set(obj)
        assert not missing, (path, missing)
        extra = set(obj) - set(fixture)
        if extra and cls is not None:
            assert extra <= sdk_fields(cls), (path, extra - sdk_fields(cls))
        for key in set(obj) & set(fixture):
            check_shape(obj[key], fixture[key], nested_class(cls, key), f"{path}.{key}")
    elif isinstance(obj, list) and isinstance(fixture, list) and fixture:
        for i, item in enumerate(obj):
            check_shape(item, fixture[0], cls, f"{path}[{i}]")


def _seed(store: Store) -> None:
    customer(store, "cus_A")
    subscription(store, "sub_A", "cus_A")
    invoice(store, "in_A", "cus_A", sub_id="sub_A")
    sparse_invoice = store.get("stripe", "invoices", "in_A")
    assert sparse_invoice is not None
    sparse_invoice["total_taxes"] = [
        {
            "amount": 400,
            "tax_behavior": "exclusive",
            "taxability_reason": "standard_rated",
            "taxable_amount": 2000,
            "type": "tax_rate_details",
            "tax_rate_details": {"tax_rate": "txr_FR20"},
        }
    ]
    sparse_invoice["lines"] = {
        "object": "list",
        "data": [{"id": "il_A", "object": "line_item", "amount": 2000, "invoice": "in_A"}],
        "has_more": False,
        "url": "/v1/invoices/in_A/lines",
    }
    store.replace("stripe", "invoices", sparse_invoice)
    rows: dict[str, dict[str, Any]] = {
        "invoice_payments": {
            "id": "inpay_A",
            "object": "invoice_payment",
            "invoice": "in_A",
            "payment": {"type": "payment_intent", "payment_intent": "pi_A"},
            "status": "paid",
            "amount_paid": 2400,
            "amount_requested": 2400,
            "is_default": True,
            "status_transitions": {"paid_at": T0},
        },
        "payment_intents": {
            "id": "pi_A",
            "object": "payment_intent",
            "customer": "cus_A",
            "latest_charge": "ch_A",
            "status": "succeeded",
            "amount": 2400,
            "amount_received": 2400,
            "payment_method": "pm_A",
            "metadata": {},
        },
        "charges": {
            "id": "ch_A",
            "object": "charge",
            "customer": "cus_A",
            "payment_intent": "pi_A",
            "payment_method": "pm_A",
            "payment_method_details": {"type": "card", "card": CARD},
            "status": "succeeded",
            "paid": True,
            "captured": True,
            "amount": 2400,
            "amount_captured": 2400,
            "outcome": {"network_status": "approved_by_network", "type": "authorized"},
            "balance_transaction": "txn_A",
            "metadata": {"order_id": "ORD-1"},
        },
        "balance_transactions": {
            "id": "txn_A",
            "object": "balance_transaction",
            "source": "ch_A",
            "type": "charge",
            "reporting_category": "charge",
            "amount": 2400,
            "fee": 61,
            "net": 2339,
            "fee_details": [
                {
                    "amount": 61,
                    "currency": "eur",
                    "description": "Stripe processing fees",
                    "type": "stripe_fee",
                }
            ],
            "available_on": T0 + 86400,
            "status": "available",
        },
        "refunds": {
            "id": "re_A",
            "object": "refund",
            "charge": "ch_A",
            "amount": 500,
            "status": "succeeded",
        },
        "disputes": {
            "id": "du_A",
            "object": "dispute",
            "charge": "ch_A",
            "amount": 2400,
            "status": "needs_response",
            "reason": "fraudulent",
        },
        "payouts": {
            "id": "po_A",
            "object": "payout",
            "amount": 2339,
            "arrival_date": T0 + 2 * 86400,
            "automatic": True,
            "balance_transaction": "txn_PO",
            "status": "paid",
            "reconciliation_status": "completed",
            "method": "standard",
            "type": "bank_account",
        },
        "tax_rates": {
            "id": "txr_FR20",
            "object": "tax_rate",
            "country": "FR",
            "percentage": 20.0,
            "inclusive": False,
            "active": True,
            "display_name": "TVA",
        },
    }
    for resource, obj in rows.items():
        store.add(
            "stripe",
            resource,
            {**obj, "created": T0},
            extra={"payout": "po_A"} if resource == "balance_transactions" else None,
        )
    charge = store.get("stripe", "charges", "ch_A")
    store.add(
        "stripe",
        "events",
        {
            "id": "evt_A",
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": T0,
            "type": "charge.refunded",
            "data": {"object": charge, "previous_attributes": {"amount_refunded": 0}},
            "pending_webhooks": 0,
            "request": {"id": None, "idempotency_key": None},
        },
    )


RESOURCES = [
    ("customers", "cus_A", stripe.Customer),
    ("subscriptions", "sub_A", stripe.Subscription),
    ("invoices", "in_A", stripe.Invoice),
    ("invoice_payments", "inpay_A", stripe.InvoicePayment),
    ("charges", "ch_A", stripe.Charge),
    ("payment_intents", "pi_A", stripe.PaymentIntent),
    ("refunds", "re_A", stripe.Refund),
    ("disputes", "du_A", stripe.Dispute),
    ("payouts", "po_A", stripe.Payout),
    ("balance_transactions", "txn_A", stripe.BalanceTransaction),
    ("payment_methods", "pm_A", stripe.PaymentMethod),
    ("tax_rates", "txr_FR20", stripe.TaxRate),
    ("events", "evt_A", stripe.Event),
]


@pytest.mark.parametrize(("resource", "obj_id", "cls"), RESOURCES)
def test_rendered_object_has_the_fixture_fields_and_parses_as_its_sdk_class(
    sandbox: RunningSandbox, store: Store, resource: str, obj_id: str, cls: type
) -> None:
    _seed(store)
    raw = get(sandbox, f"/v1/{resource}/{obj_id}").json()
    check_shape(raw, None, cls, resource)
    listed = get(sandbox, f"/v1/{resource}", limit=100).json()
    assert set(listed) == {"object", "data", "has_more", "url"}
    assert [o for o in listed["data"] if o["id"] == obj_id] == [raw]
    sdk_obj = getattr(client(sandbox).v1, resource).retrieve(obj_id)
    assert type(sdk_obj) is cls
    assert set(sdk_obj.to_dict()) <= sdk_fields(cls)


def test_objects_the_write_calls_create_have_the_fixture_fields(
    sandbox: RunningSandbox, store: Store
) -> None:
    customer(store, "cus_B", last4="9995")
    subscription(store, "sub_B", "cus_B")
    invoice(store, "in_B", "cus_B", sub_id="sub_B")
    c = client(sandbox)
    for _ in range(3):
        try:
            c.v1.invoices.pay("in_B")
        except stripe.CardError:
            continue
    c.v1.subscriptions.update("sub_B", params={"cancel_at_period_end": True})
    c.v1.subscriptions.cancel("sub_B")
    checked = 0
    for resource, _, cls in RESOURCES:
        params = {"limit": 100, **({"status": "all"} if resource == "subscriptions" else {})}
        for obj in get(sandbox, f"/v1/{resource}", **params).json()["data"]:
            check_shape(obj, None, cls, f"{resource}/{obj['id']}")
            checked += 1
    assert store.count("stripe", "events") >= 8
    assert checked >= store.count("stripe", "events") + 5


def test_the_shape_check_catches_a_stray_field() -> None:
    charge = {**fixtures()["charge"], "invoice": "in_1"}  # removed from charges in basil
    with pytest.raises(AssertionError):
        check_shape(charge, None, stripe.Charge, "charge")
    outcome = {**fixtures()["charge"]["outcome"], "risk_level": "normal"}  # declared by the SDK
    check_shape({**fixtures()["charge"], "outcome": outcome}, None, stripe.Charge, "charge")
    outcome["colour"] = "red"
    with pytest.raises(AssertionError):
        check_shape({**fixtures()["charge"], "outcome": outcome}, None, stripe.Charge, "charge")
