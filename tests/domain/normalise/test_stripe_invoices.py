"""Stripe invoices (basil shapes), VAT lines and invoice payments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd

from domain.normalise.stripe_invoices import (
    normalise_invoice_payments,
    normalise_invoice_tax_lines,
    normalise_invoices,
)
from tests.domain.normalise import wire

RATES = {
    "txr_de_reverse": wire.tax_rate("txr_de_reverse", "DE", 0),
    "txr_fr": wire.tax_rate("txr_fr", "FR", 20),
    "txr_fr_reduced": wire.tax_rate("txr_fr_reduced", "FR", 5.5),
}


def test_reverse_charged_b2b_invoice_maps_to_its_row() -> None:
    out = normalise_invoices([wire.stripe_invoice()], 11)
    assert out.problems.empty
    assert wire.plain(out.rows) == {
        "invoice_id": "in_1",
        "provider": "stripe",
        "customer_id": "cus_QXg1o8vcGmoR32",
        "subscription_id": "sub_1",
        "order_id": None,
        "number": "7FE1103-0001",
        "status": "open",
        "currency": "EUR",
        "subtotal": 58800,
        "total_excluding_tax": 58800,
        "tax": 0,
        "total": 58800,
        "amount_due": 58800,
        "amount_paid": 0,
        "amount_remaining": 58800,
        "issued_on": date(2026, 6, 1),
        "due_on": date(2026, 7, 1),
        "created_at": pd.Timestamp("2026-06-01T10:00:00Z"),
        "finalized_at": pd.Timestamp("2026-06-01T10:01:00Z"),
        "paid_at": None,
        "voided_at": None,
        "marked_uncollectible_at": None,
        "billing_reason": "subscription_cycle",
        "collection_method": "send_invoice",
        "attempt_count": 1,
        "attempted": True,
        "next_payment_attempt_at": None,
        "customer_country": "DE",
        "customer_vat_id": "DE136695976",
        "is_business": True,
        "reverse_charge": True,
        "hosted_invoice_url": "https://invoice.stripe.com/i/1",
        "source_version": 11,
    }


def test_domestic_b2b_invoice_is_not_reverse_charged() -> None:
    obj = wire.stripe_invoice(
        customer_tax_ids=[{"type": "eu_vat", "value": "FR40303265045"}],
        customer_address={"country": "FR"},
        customer_tax_exempt="none",
    )
    row = normalise_invoices([obj], 1).rows.iloc[0]
    assert row["is_business"]
    assert not row["reverse_charge"]


def test_invalid_vat_id_is_business_but_not_reverse_charged() -> None:
    obj = wire.stripe_invoice(customer_tax_ids=[{"type": "eu_vat", "value": "DE000000000"}])
    row = normalise_invoices([obj], 1).rows.iloc[0]
    assert row["customer_vat_id"] == "DE000000000"
    assert row["is_business"]
    assert not row["reverse_charge"]


def test_seller_country_is_a_parameter() -> None:
    row = normalise_invoices([wire.stripe_invoice()], 1, seller_country="DE").rows.iloc[0]
    assert not row["reverse_charge"]


def test_consumer_invoice_is_neither_business_nor_reverse_charged() -> None:
    obj = wire.stripe_invoice(customer_tax_ids=[], customer_tax_exempt="none")
    row = normalise_invoices([obj], 1).rows.iloc[0]
    assert not row["is_business"]
    assert not row["reverse_charge"]
    assert pd.isna(row["customer_vat_id"])


def test_issued_on_is_the_business_day_in_paris() -> None:
    """Created 23:30 UTC on 31 March is 01:30 on 1 April in Paris (CEST)."""
    late = int(datetime(2026, 3, 31, 23, 30, tzinfo=UTC).timestamp())
    obj = wire.stripe_invoice(
        created=late,
        effective_at=None,
        status_transitions={},
        collection_method="charge_automatically",
        due_date=None,
    )
    row = normalise_invoices([obj], 1).rows.iloc[0]
    assert row["issued_on"] == date(2026, 4, 1)
    assert row["due_on"] == date(2026, 4, 1)  # a card invoice is due when issued
    utc = normalise_invoices([obj], 1, tz="UTC").rows.iloc[0]
    assert utc["issued_on"] == date(2026, 3, 31)


def test_draft_is_not_issued_and_one_off_keeps_its_order() -> None:
    obj = wire.stripe_invoice(
        status="draft",
        parent=None,
        metadata={"order_id": "ORD-7"},
        due_date=None,
        collection_method="charge_automatically",
    )
    row = normalise_invoices([obj], 1).rows.iloc[0]
    assert pd.isna(row["subscription_id"])
    assert row["order_id"] == "ORD-7"
    assert row["issued_on"] is None


def test_paid_invoice_times_and_money_dtypes() -> None:
    obj = wire.stripe_invoice(
        status="paid",
        amount_paid=58800,
        amount_remaining=0,
        status_transitions={"finalized_at": wire.T0 + 60, "paid_at": wire.T0 + 120},
    )
    out = normalise_invoices([obj], 1)
    assert out.rows.iloc[0]["paid_at"] == pd.Timestamp("2026-06-01T10:02:00Z")
    for column in ("subtotal", "tax", "total", "amount_paid", "amount_remaining"):
        assert str(out.rows[column].dtype) == "Int64"
    assert str(out.rows["paid_at"].dtype) == "datetime64[us, UTC]"


def test_tax_lines_take_country_and_rate_from_the_lookup() -> None:
    obj = wire.stripe_invoice(
        total_taxes=[
            {
                "amount": 1000,
                "taxable_amount": 5000,
                "tax_behavior": "exclusive",
                "taxability_reason": "standard_rated",
                "tax_rate_details": {"tax_rate": "txr_fr"},
            },
            {
                "amount": 55,
                "taxable_amount": 1000,
                "tax_behavior": "exclusive",
                "taxability_reason": "standard_rated",
                "tax_rate_details": {"tax_rate": "txr_fr_reduced"},
            },
            {
                "amount": 20,
                "taxable_amount": 100,
                "tax_behavior": "exclusive",
                "taxability_reason": "standard_rated",
                "tax_rate_details": {"tax_rate": "txr_fr"},
            },
        ]
    )
    out = normalise_invoice_tax_lines([obj], 5, tax_rates=RATES)
    assert out.problems.empty
    rows = out.rows
    assert rows["line_key"].tolist() == ["txr_fr", "txr_fr_reduced", "txr_fr#2"]
    assert rows["country"].tolist() == ["FR", "FR", "FR"]
    assert rows["rate"].tolist() == [Decimal(20), Decimal("5.5"), Decimal(20)]
    assert all(isinstance(r, Decimal) for r in rows["rate"])
    assert rows["tax_amount"].tolist() == [1000, 55, 20]
    assert rows["taxable_amount"].tolist() == [5000, 1000, 100]
    assert str(rows["tax_amount"].dtype) == "Int64"


def test_reverse_charge_tax_line() -> None:
    out = normalise_invoice_tax_lines([wire.stripe_invoice()], 1, tax_rates=RATES)
    row = wire.plain(out.rows)
    assert row["country"] == "DE"
    assert row["rate"] == Decimal(0)
    assert row["taxability_reason"] == "reverse_charge"
    assert (row["taxable_amount"], row["tax_amount"]) == (58800, 0)


def test_tax_rate_missing_from_the_lookup_is_a_problem() -> None:
    out = normalise_invoice_tax_lines([wire.stripe_invoice()], 1, tax_rates={})
    assert out.rows.empty
    assert out.problems["reason"].tolist() == [
        "tax rate txr_de_reverse of total_taxes[0] is not in the lookup"
    ]


def test_invoice_payment_links_intent_to_invoice() -> None:
    out = normalise_invoice_payments([wire.invoice_payment()], 2)
    row = wire.plain(out.rows)
    assert (row["payment_intent_id"], row["invoice_id"], row["status"]) == ("pi_1", "in_1", "paid")
    assert row["charge_id"] is None
    assert row["amount_paid"] == 4990
