"""Stripe customers and subscriptions (current API: periods on the items)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from domain.normalise.stripe_customers import normalise_customers, normalise_subscriptions
from tests.domain.normalise import wire

T0 = pd.Timestamp(wire.T0, unit="s", tz="UTC")


def test_customer_maps_to_its_row() -> None:
    out = normalise_customers([wire.stripe_customer()], 7)
    assert out.problems.empty
    assert wire.plain(out.rows) == {
        "customer_id": "cus_QXg1o8vcGmoR32",
        "provider": "stripe",
        "email": "lukas.muller.1@example.de",
        "name": "Lukas Müller",
        "country": "DE",
        "postal_code": "10115",
        "locale": "en",
        "currency": "EUR",
        "vat_id": None,
        "is_business": False,
        "tax_exempt": "none",
        "default_payment_method_id": "pm_1",
        "created_at": T0,
        "deleted_at": None,
        "source_version": 7,
    }


def test_reverse_charge_customer_is_a_business_with_its_vat_id() -> None:
    obj = wire.stripe_customer(
        tax_exempt="reverse", metadata={"vat_id": "DE 136695976"}, preferred_locales=["fr-BE"]
    )
    row = normalise_customers([obj], 1).rows.iloc[0]
    assert row["is_business"]
    assert row["vat_id"] == "DE136695976"
    assert row["locale"] == "fr"


def test_locale_defaults_by_country() -> None:
    french = wire.stripe_customer(preferred_locales=[], address={"country": "BE"})
    german = wire.stripe_customer(id="cus_2", preferred_locales=[], address={"country": "DE"})
    out = normalise_customers([french, german], 1)
    assert out.rows["locale"].tolist() == ["fr", "en"]


def test_subscription_reads_price_and_period_from_the_first_item() -> None:
    out = normalise_subscriptions(
        [wire.stripe_subscription()], 3, payment_methods={"pm_1": wire.payment_method()}
    )
    assert out.problems.empty
    row = out.rows.iloc[0]
    assert row["amount"] == 3800  # 1900 x 2
    assert (row["interval"], row["interval_count"]) == ("month", 1)
    assert (row["price_id"], row["product_id"], row["description"]) == (
        "price_1",
        "prod_1",
        "Essentiel",
    )
    assert row["current_period_start"] == T0
    assert row["current_period_end"] == T0 + pd.Timedelta(days=30)
    assert row["tacit_renewal"]
    assert (row["card_brand"], row["card_last4"]) == ("visa", "4242")
    assert (row["card_exp_month"], row["card_exp_year"]) == (7, 2026)
    assert row["payment_method_type"] == "card"
    assert str(out.rows["amount"].dtype) == "Int64"


def test_subscription_without_lookup_has_no_card_and_no_tacit_flag() -> None:
    obj = wire.stripe_subscription(metadata={})
    row = normalise_subscriptions([obj], 1).rows.iloc[0]
    assert not row["tacit_renewal"]
    assert row["payment_method_id"] == "pm_1"
    assert pd.isna(row["card_exp_month"])


def test_canceled_subscription_times() -> None:
    ended = wire.T0 + 10 * wire.DAY
    obj = wire.stripe_subscription(status="canceled", canceled_at=ended, ended_at=ended)
    row = normalise_subscriptions([obj], 1).rows.iloc[0]
    assert row["status"] == "canceled"
    assert row["ended_at"].to_pydatetime() == datetime(2026, 6, 11, 10, tzinfo=UTC)


def test_unknown_subscription_status_is_a_problem() -> None:
    out = normalise_subscriptions([wire.stripe_subscription(status="weird")], 1)
    assert out.rows.empty
    assert out.problems["reason"].tolist() == ["unknown status 'weird'"]
