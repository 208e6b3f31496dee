"""Pseudonymisation rules: what goes, what stays, and that a second pass changes nothing."""

from __future__ import annotations

import json

from domain.erasure import (
    erased_email,
    is_erased_email,
    personal_values,
    pseudonym,
    redact,
    redact_json_text,
)

CUS = "cus_1"
P = pseudonym(CUS)
STRIPE_CUSTOMER = {
    "id": CUS,
    "object": "customer",
    "email": "jane.doe@example.com",
    "name": "Jane Doe",
    "phone": "+33612345678",
    "address": {"line1": "3 rue Neuve", "city": "Lyon", "postal_code": "69001", "country": "FR"},
    "metadata": {"vat_id": "FR40303265045", "segment": "b2b"},
    "balance": 0,
}


def test_the_pseudonym_is_stable_and_undeliverable() -> None:
    assert pseudonym(CUS) == pseudonym(CUS)
    assert pseudonym(CUS) != pseudonym("cus_2")
    assert P.startswith("erased-")
    assert len(P) == len("erased-") + 12
    assert erased_email(CUS) == f"{P}@erased.invalid"
    assert is_erased_email(erased_email(CUS))
    assert not is_erased_email("jane.doe@example.com")


def test_a_provider_payload_keeps_its_ids_country_and_vat_number_only() -> None:
    values = personal_values(STRIPE_CUSTOMER)
    assert values == [
        "jane.doe@example.com",
        "+33612345678",
        "3 rue Neuve",
        "Jane Doe",
        "69001",
        "Lyon",
    ]
    assert redact(STRIPE_CUSTOMER, values, CUS) == {
        "id": CUS,
        "object": "customer",
        "email": f"{P}@erased.invalid",
        "name": P,
        "phone": None,
        "address": {"line1": None, "city": None, "postal_code": None, "country": "FR"},
        "metadata": {"vat_id": "FR40303265045", "segment": "b2b"},
        "balance": 0,
    }


def test_a_notice_context_keeps_its_amounts_and_loses_the_name_and_the_invoice_link() -> None:
    context = json.dumps(
        {
            "customer_name": "Jane Doe",
            "amount": 4990,
            "currency": "EUR",
            "pay_url": "https://invoice.stripe.com/i/acct_1/test_abc",
            "note": "Jane Doe promised to pay",
        }
    )
    out = json.loads(redact_json_text(context, ["Jane Doe"], CUS) or "")
    assert out == {
        "customer_name": P,
        "amount": 4990,
        "currency": "EUR",
        "pay_url": None,
        "note": f"{P} promised to pay",
    }


def test_plain_text_is_scrubbed_and_a_second_pass_changes_nothing() -> None:
    text = "called Jane Doe <jane.doe@example.com>"
    once = redact_json_text(text, ["jane.doe@example.com", "Jane Doe"], CUS)
    assert once == f"called {P} <{P}@erased.invalid>"
    assert redact_json_text(once, [], CUS) == once
    payload = json.dumps(STRIPE_CUSTOMER)
    redacted = redact_json_text(payload, personal_values(STRIPE_CUSTOMER), CUS)
    assert redact_json_text(redacted, [], CUS) == redacted
    assert redact_json_text(None, ["x"], CUS) is None
