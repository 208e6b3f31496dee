"""Malformed objects land in problems with a precise reason; the rest of the batch survives."""

from __future__ import annotations

import json

import pytest

from domain.normalise.aftership import normalise_shipments
from domain.normalise.core import PROBLEM_COLUMNS
from domain.normalise.gocardless_money import normalise_payments
from domain.normalise.stripe_customers import normalise_customers
from domain.normalise.stripe_invoices import normalise_invoices
from domain.normalise.stripe_payments import normalise_charges
from tests.domain.normalise import wire


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"id": None}, "missing id"),
        ({"amount": "12.5"}, "amount is not an integer: '12.5'"),
        ({"amount": 12.5}, "amount is not an integer: 12.5"),
        ({"amount": True}, "amount is not an integer: True"),
        ({"amount": 10**13}, "amount is absurd: 10000000000000"),
        ({"amount": -5}, "amount is negative: -5"),
        ({"status": "weird"}, "unknown status 'weird'"),
        ({"currency": "EURO"}, "currency 'EURO' is not ISO 4217"),
        ({"currency": "xyz"}, "currency 'xyz' is not ISO 4217"),
        ({"currency": None}, "missing currency"),
        ({"created": "yesterday"}, "created is not an integer: 'yesterday'"),
        ({"created": 12}, "created is not a plausible time: 12"),
        ({"customer": 42}, "customer is not text: 42"),
        (
            {"description": None, "metadata": {"order_id": "bad\ud800"}},
            "metadata.order_id is not decodable text: 'bad\\ud800'",
        ),
        ({"metadata": "order"}, "metadata is not an object: 'order'"),
        ({"payment_method_details": "card"}, "payment_method_details is not an object: 'card'"),
        ({"disputed": "no"}, "disputed is not a boolean: 'no'"),
    ],
)
def test_bad_charge_is_a_problem_and_good_ones_survive(
    fields: dict[str, object], reason: str
) -> None:
    bad = wire.charge(**fields)
    if "id" not in fields:
        bad["id"] = "ch_bad"
    good = [wire.charge(id="ch_a"), wire.charge(id="ch_b")]
    out = normalise_charges([good[0], bad, good[1]], [1, 2, 3])
    assert out.rows["payment_id"].tolist() == ["ch_a", "ch_b"]
    assert out.rows["source_version"].tolist() == [1, 3]
    assert list(out.problems.columns) == list(PROBLEM_COLUMNS)
    problem = wire.plain(out.problems)
    assert problem["reason"] == reason
    assert (problem["provider"], problem["object_type"]) == ("stripe", "charge")
    if "id" not in fields:
        assert problem["object_id"] == "ch_bad"
    else:
        assert problem["object_id"].startswith("no-id:")
    assert json.loads(problem["payload"])["amount"] == bad["amount"]


def test_things_that_are_not_objects_are_problems() -> None:
    out = normalise_charges(["ch_1", None, wire.charge()], 1)
    assert out.rows["payment_id"].tolist() == ["ch_1"]
    assert out.problems["reason"].tolist() == ["not an object: str", "not an object: NoneType"]


def test_undecodable_string_in_the_payload_is_escaped() -> None:
    out = normalise_customers([wire.stripe_customer(name="Lukas \udcff")], 1)
    assert out.problems["reason"].tolist() == ["name is not decodable text: 'Lukas \\udcff'"]
    out.problems["payload"].iloc[0].encode("utf-8")  # storable as it is


def test_gocardless_and_aftership_problems_name_their_provider() -> None:
    payments = normalise_payments([wire.gc_payment(status="weird"), wire.gc_payment(id="PM2")], 1)
    assert payments.rows["payment_id"].tolist() == ["PM2"]
    assert wire.plain(payments.problems)["reason"] == "unknown status 'weird'"
    assert wire.plain(payments.problems)["provider"] == "gocardless"
    bad_time = wire.gc_payment(created_at="2026-13-01T00:00:00Z")
    assert wire.plain(normalise_payments([bad_time], 1).problems)["reason"] == (
        "created_at is not an ISO time: '2026-13-01T00:00:00Z'"
    )
    ships = normalise_shipments([wire.tracking(tag="Lost")], 1)
    assert wire.plain(ships.problems)["reason"] == "unknown tag 'Lost'"
    assert wire.plain(ships.problems)["object_type"] == "tracking"


def test_invoice_with_bad_tax_entries_is_a_problem() -> None:
    obj = wire.stripe_invoice(total_taxes=[{"amount": "0.00"}])
    out = normalise_invoices([obj, wire.stripe_invoice(id="in_2")], 1)
    assert out.rows["invoice_id"].tolist() == ["in_2"]
    assert out.problems["reason"].tolist() == ["amount is not an integer: '0.00'"]


def test_versions_must_match_the_objects() -> None:
    with pytest.raises(ValueError, match="2 source versions for 1 objects"):
        normalise_charges([wire.charge()], [1, 2])


def test_empty_batch() -> None:
    out = normalise_charges([], 1)
    assert out.rows.empty
    assert out.problems.empty
    assert list(out.problems.columns) == list(PROBLEM_COLUMNS)
