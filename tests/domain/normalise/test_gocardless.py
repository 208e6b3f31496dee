"""GoCardless customers, mandates, subscriptions, payments, refunds, payouts and items."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from domain.normalise.gocardless import (
    normalise_customers,
    normalise_mandates,
    normalise_subscriptions,
)
from domain.normalise.gocardless_money import (
    normalise_payments,
    normalise_payout_lines,
    normalise_payouts,
    normalise_refunds,
)
from domain.normalise.links import resolve_payment_links
from tests.domain.normalise import wire

MANDATES = {"MD123": wire.gc_mandate()}


def test_customer_with_company_is_a_business() -> None:
    row = wire.plain(normalise_customers([wire.gc_customer()], 1).rows)
    assert (row["name"], row["country"], row["is_business"]) == (
        "Hamilton Trading Ltd.",
        "BE",
        True,
    )
    assert row["locale"] == "fr"  # "nl" is not served: Belgium defaults to French
    assert row["created_at"] == pd.Timestamp("2026-06-01T10:00:00Z")


def test_consumer_customer_takes_its_language() -> None:
    obj = wire.gc_customer(company_name=None, language="en", country_code="FR")
    row = wire.plain(normalise_customers([obj], 1).rows)
    assert (row["name"], row["is_business"], row["locale"]) == ("Frank Osborne", False, "en")


def test_mandate_frame() -> None:
    out = normalise_mandates([wire.gc_mandate()], 3)
    assert list(out.rows.columns) == [
        "mandate_id",
        "provider",
        "customer_id",
        "status",
        "scheme",
        "next_possible_charge_date",
        "created_at",
        "source_version",
    ]
    row = wire.plain(out.rows)
    assert (row["customer_id"], row["status"], row["scheme"]) == ("CU123", "active", "sepa_core")
    assert row["next_possible_charge_date"] == date(2026, 6, 4)


def test_subscription_gets_customer_and_period_from_mandate_and_next_charge() -> None:
    out = normalise_subscriptions([wire.gc_subscription()], 1, mandates=MANDATES)
    assert out.problems.empty
    row = wire.plain(out.rows)
    assert (row["customer_id"], row["mandate_status"]) == ("CU123", "active")
    assert (row["amount"], row["currency"], row["interval"]) == (2500, "EUR", "month")
    assert row["current_period_end"] == pd.Timestamp("2026-07-04T22:00:00Z")  # Paris midnight
    assert row["current_period_start"] == pd.Timestamp("2026-06-04T22:00:00Z")
    assert row["tacit_renewal"]
    assert row["payment_method_type"] == "sepa_debit"


def test_subscription_with_unknown_mandate_is_a_problem() -> None:
    out = normalise_subscriptions([wire.gc_subscription()], 1, mandates={})
    assert out.rows.empty
    assert out.problems["reason"].tolist() == ["mandate MD123 is unknown: cannot tell the customer"]


@pytest.mark.parametrize(
    ("provider_status", "refunded", "status"),
    [
        ("pending_customer_approval", 0, "pending"),
        ("pending_submission", 0, "pending"),
        ("submitted", 0, "pending"),
        ("confirmed", 0, "succeeded"),
        ("paid_out", 0, "succeeded"),
        ("paid_out", 400, "partially_refunded"),
        ("paid_out", 1000, "refunded"),
        ("confirmed", 1000, "refunded"),
        ("failed", 0, "failed"),
        ("charged_back", 0, "charged_back"),
        ("cancelled", 0, "cancelled"),
        ("customer_approval_denied", 0, "cancelled"),
    ],
)
def test_unified_payment_status(provider_status: str, refunded: int, status: str) -> None:
    obj = wire.gc_payment(status=provider_status, amount_refunded=refunded)
    row = normalise_payments([obj], 1).rows.iloc[0]
    assert (row["status"], row["provider_status"]) == (status, provider_status)


def test_payment_row() -> None:
    row = wire.plain(normalise_payments([wire.gc_payment()], 1).rows)
    assert row["payment_id"] == "PM123"
    assert (row["mandate_id"], row["subscription_id"], row["order_id"]) == (
        "MD123",
        "SB123",
        "ORD-9",
    )
    assert row["charge_date"] == date(2026, 6, 5)
    assert row["customer_id"] is None  # from the mandate, by the links


def test_late_failure_newest_version_wins() -> None:
    """A paid-out payment whose newer version is charged back maps to charged_back."""
    paid_out = wire.gc_payment(status="paid_out", links={"mandate": "MD123", "payout": "PO1"})
    charged_back = wire.gc_payment(status="charged_back", links={"mandate": "MD123"})
    rows = normalise_payments([paid_out, charged_back], [100, 200]).rows
    latest = rows.sort_values("source_version").drop_duplicates("payment_id", keep="last")
    assert latest["status"].tolist() == ["charged_back"]
    assert latest["source_version"].tolist() == [200]


def test_customer_comes_from_the_mandate_link() -> None:
    payments = normalise_payments([wire.gc_payment()], 1).rows
    mandates = normalise_mandates([wire.gc_mandate()], 1).rows
    changed = resolve_payment_links(payments, mandates=mandates)
    assert changed["customer_id"].tolist() == ["CU123"]
    assert resolve_payment_links(changed, mandates=mandates).empty  # nothing left to change


def test_refund_and_payout() -> None:
    refund = {
        "id": "RF123",
        "amount": 150,
        "created_at": "2014-01-01T12:00:00.000Z",
        "currency": "EUR",
        "links": {"mandate": "MD123", "payment": "PM123"},
        "metadata": {},
        "reference": "WINEBOX001",
        "status": "submitted",
    }
    row = wire.plain(normalise_refunds([refund], 1).rows)
    assert (row["payment_id"], row["amount"], row["status"]) == ("PM123", 150, "submitted")
    payout = {
        "id": "PO123",
        "amount": 4402,
        "arrival_date": "2026-06-08",
        "created_at": "2026-06-07T08:00:00.000Z",
        "currency": "EUR",
        "deducted_fees": 98,
        "reference": "ref-1",
        "status": "paid",
    }
    row = wire.plain(normalise_payouts([payout], 1).rows)
    assert (row["amount"], row["fee"], row["arrival_on"]) == (4402, 98, date(2026, 6, 8))


def test_payout_items_become_exact_cents() -> None:
    links = {"payment": "PM123", "mandate": "MD123"}
    items = [
        {"amount": "45.0", "type": "payment_paid_out", "links": links},
        {
            "amount": "-0.98",
            "type": "gocardless_fee",
            "links": links,
            "taxes": [{"amount": "0.16", "currency": "EUR", "tax_rate_id": "FR_VAT_1"}],
        },
        {
            "amount": "-0.10",
            "type": "refund",
            "links": {"payment": "PM123", "refund": "RF1", "mandate": "MD123"},
        },
        {"amount": "45.00", "type": "payment_paid_out", "links": links},
    ]
    out = normalise_payout_lines({"PO123": items}, 2)
    assert out.problems.empty
    rows = out.rows
    assert rows["line_id"].tolist() == [
        "payment_paid_out:PM123",
        "gocardless_fee:PM123",
        "refund:RF1",
        "payment_paid_out:PM123#2",
    ]
    assert rows["amount"].tolist() == [4500, 0, -10, 4500]
    assert rows["fee"].tolist() == [0, 98, 0, 0]
    assert rows["net"].tolist() == [4500, -98, -10, 4500]
    assert rows["source_type"].tolist() == ["payment", "fee", "refund", "payment"]
    assert rows["currency"].tolist() == ["EUR"] * 4
    assert str(rows["net"].dtype) == "Int64"


def test_payout_item_with_too_many_decimals_is_a_problem() -> None:
    items = [
        {"amount": "1.005", "type": "payment_paid_out", "links": {"payment": "PM1"}},
        {"amount": "2.50", "type": "payment_paid_out", "links": {"payment": "PM2"}},
    ]
    out = normalise_payout_lines({"PO1": items}, 1)
    assert out.rows["amount"].tolist() == [250]
    problem = wire.plain(out.problems)
    assert problem["object_id"] == "PO1/payment_paid_out:PM1"
    assert problem["reason"] == "amount has more decimals than EUR allows: '1.005'"
