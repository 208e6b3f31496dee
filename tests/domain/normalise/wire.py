"""Small realistic wire objects, in the shapes of the vendored fixtures and the generator.

Each builder returns a fresh dict; keyword arguments override top-level fields.
Times: ``T0`` is 2026-06-01T10:00:00Z (1780308000).
"""

from __future__ import annotations

import copy
from typing import Any

T0 = 1780308000  # 2026-06-01T10:00:00Z
DAY = 86_400


def _with(obj: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out.update(over)
    return out


def stripe_customer(**over: Any) -> dict[str, Any]:
    return _with(
        {
            "id": "cus_QXg1o8vcGmoR32",
            "object": "customer",
            "address": {
                "city": "Berlin",
                "country": "DE",
                "line1": "1 Hauptstraße",
                "line2": None,
                "postal_code": "10115",
                "state": None,
            },
            "balance": 0,
            "created": T0,
            "currency": "eur",
            "email": "lukas.muller.1@example.de",
            "invoice_settings": {"default_payment_method": "pm_1", "custom_fields": None},
            "metadata": {},
            "name": "Lukas Müller",
            "preferred_locales": ["de-DE"],
            "tax_exempt": "none",
        },
        over,
    )


def payment_method(**over: Any) -> dict[str, Any]:
    return _with(
        {
            "id": "pm_1",
            "object": "payment_method",
            "type": "card",
            "card": {
                "brand": "visa",
                "last4": "4242",
                "exp_month": 7,
                "exp_year": 2026,
                "country": "FR",
                "funding": "debit",
            },
            "customer": "cus_QXg1o8vcGmoR32",
            "created": T0,
        },
        over,
    )


def stripe_subscription(**over: Any) -> dict[str, Any]:
    return _with(
        {
            "id": "sub_1",
            "object": "subscription",
            "customer": "cus_QXg1o8vcGmoR32",
            "status": "active",
            "currency": "eur",
            "created": T0,
            "start_date": T0,
            "collection_method": "charge_automatically",
            "default_payment_method": "pm_1",
            "cancel_at_period_end": False,
            "cancel_at": None,
            "canceled_at": None,
            "ended_at": None,
            "trial_start": None,
            "trial_end": None,
            "description": None,
            "metadata": {"tacit_renewal": "true", "notice_days": "30"},
            "items": {
                "object": "list",
                "has_more": False,
                "url": "/v1/subscription_items?subscription=sub_1",
                "data": [
                    {
                        "id": "si_1",
                        "object": "subscription_item",
                        "current_period_start": T0,
                        "current_period_end": T0 + 30 * DAY,
                        "quantity": 2,
                        "price": {
                            "id": "price_1",
                            "object": "price",
                            "currency": "eur",
                            "nickname": "Essentiel",
                            "product": "prod_1",
                            "unit_amount": 1900,
                            "recurring": {"interval": "month", "interval_count": 1},
                        },
                    }
                ],
            },
        },
        over,
    )


def stripe_invoice(**over: Any) -> dict[str, Any]:
    return _with(
        {
            "id": "in_1",
            "object": "invoice",
            "account_country": "FR",
            "amount_due": 58800,
            "amount_paid": 0,
            "amount_remaining": 58800,
            "attempt_count": 1,
            "attempted": True,
            "billing_reason": "subscription_cycle",
            "collection_method": "send_invoice",
            "created": T0,
            "currency": "eur",
            "customer": "cus_QXg1o8vcGmoR32",
            "customer_address": {"country": "DE", "postal_code": "10115"},
            "customer_tax_exempt": "reverse",
            "customer_tax_ids": [{"type": "eu_vat", "value": "de 136 695 976"}],
            "due_date": T0 + 30 * DAY,
            "effective_at": T0 + 60,
            "hosted_invoice_url": "https://invoice.stripe.com/i/1",
            "metadata": {},
            "next_payment_attempt": None,
            "number": "7FE1103-0001",
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": "sub_1", "metadata": {}},
            },
            "status": "open",
            "status_transitions": {
                "finalized_at": T0 + 60,
                "paid_at": None,
                "marked_uncollectible_at": None,
                "voided_at": None,
            },
            "subtotal": 58800,
            "total": 58800,
            "total_excluding_tax": 58800,
            "total_taxes": [
                {
                    "amount": 0,
                    "tax_behavior": "exclusive",
                    "taxability_reason": "reverse_charge",
                    "taxable_amount": 58800,
                    "type": "tax_rate_details",
                    "tax_rate_details": {"tax_rate": "txr_de_reverse"},
                }
            ],
        },
        over,
    )


def tax_rate(rate_id: str, country: str, percentage: Any) -> dict[str, Any]:
    return {
        "id": rate_id,
        "object": "tax_rate",
        "country": country,
        "percentage": percentage,
        "tax_type": "vat",
        "inclusive": False,
    }


def balance_transaction(**over: Any) -> dict[str, Any]:
    return _with(
        {
            "id": "txn_1",
            "object": "balance_transaction",
            "amount": 4990,
            "fee": 100,
            "net": 4890,
            "currency": "eur",
            "created": T0,
            "source": "ch_1",
            "type": "charge",
            "reporting_category": "charge",
            "status": "available",
        },
        over,
    )


def charge(**over: Any) -> dict[str, Any]:
    return _with(
        {
            "id": "ch_1",
            "object": "charge",
            "amount": 4990,
            "amount_captured": 4990,
            "amount_refunded": 0,
            "balance_transaction": balance_transaction(),
            "captured": True,
            "created": T0,
            "currency": "eur",
            "customer": "cus_QXg1o8vcGmoR32",
            "disputed": False,
            "failure_code": None,
            "failure_message": None,
            "metadata": {"order_id": "ORD-1"},
            "outcome": {"type": "authorized", "reason": None},
            "paid": True,
            "payment_intent": "pi_1",
            "payment_method": "pm_1",
            "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242"}},
            "refunded": False,
            "status": "succeeded",
        },
        over,
    )


def invoice_payment(**over: Any) -> dict[str, Any]:
    return _with(
        {
            "id": "inpay_1",
            "object": "invoice_payment",
            "amount_paid": 4990,
            "amount_requested": 4990,
            "created": T0,
            "currency": "eur",
            "invoice": "in_1",
            "is_default": True,
            "payment": {"type": "payment_intent", "payment_intent": "pi_1"},
            "status": "paid",
            "status_transitions": {"paid_at": T0, "canceled_at": None},
        },
        over,
    )


def gc_customer(**over: Any) -> dict[str, Any]:
    return _with(
        {
            "id": "CU123",
            "created_at": "2026-06-01T10:00:00.000Z",
            "email": "user@example.com",
            "given_name": "Frank",
            "family_name": "Osborne",
            "company_name": "Hamilton Trading Ltd.",
            "country_code": "BE",
            "language": "nl",
            "postal_code": "1000",
            "metadata": {},
        },
        over,
    )


def gc_mandate(**over: Any) -> dict[str, Any]:
    return _with(
        {
            "id": "MD123",
            "created_at": "2026-06-01T10:01:00.000Z",
            "scheme": "sepa_core",
            "status": "active",
            "links": {"customer": "CU123", "creditor": "CR123", "customer_bank_account": "BA1"},
            "next_possible_charge_date": "2026-06-04",
            "metadata": {},
        },
        over,
    )


def gc_payment(**over: Any) -> dict[str, Any]:
    return _with(
        {
            "id": "PM123",
            "amount": 1000,
            "amount_refunded": 0,
            "charge_date": "2026-06-05",
            "created_at": "2026-06-01T10:00:00.000Z",
            "currency": "EUR",
            "description": "One-off upgrade fee",
            "links": {"creditor": "CR123", "mandate": "MD123", "subscription": "SB123"},
            "metadata": {"order_id": "ORD-9"},
            "reference": "WINEBOX001",
            "scheme": "sepa_core",
            "status": "paid_out",
        },
        over,
    )


def gc_subscription(**over: Any) -> dict[str, Any]:
    return _with(
        {
            "id": "SB123",
            "amount": 2500,
            "created_at": "2026-01-05T09:00:00.000Z",
            "currency": "EUR",
            "day_of_month": 5,
            "interval": 1,
            "interval_unit": "monthly",
            "links": {"mandate": "MD123"},
            "metadata": {"tacit_renewal": "true"},
            "name": "Essentiel",
            "start_date": "2026-01-05",
            "status": "active",
            "upcoming_payments": [{"amount": 2500, "charge_date": "2026-07-05"}],
        },
        over,
    )


def tracking(**over: Any) -> dict[str, Any]:
    return _with(
        {
            "id": "5b7658cec7c33c0e007de3c5",
            "tracking_number": "CO1234567890FR",
            "slug": "colissimo",
            "active": False,
            "created_at": "2026-06-01T12:00:00+02:00",
            "updated_at": "2026-06-04T09:00:00+02:00",
            "tag": "Delivered",
            "subtag": "Delivered_001",
            "order_id": "ORD-1",
            "destination_country_region": "DEU",
            "shipment_pickup_date": None,
            "shipment_delivery_date": "2026-06-04T09:00:00+02:00",
            "latest_estimated_delivery": {"type": "specific", "datetime": "2026-06-04"},
            "courier_estimated_delivery_date": {"estimated_delivery_date": "2026-06-05"},
            "custom_fields": {"direction": "return"},
            "checkpoints": [
                {"tag": "InfoReceived", "checkpoint_time": "2026-06-01T12:00:00+02:00"},
                {"tag": "InTransit", "checkpoint_time": "2026-06-02T08:30:00+02:00"},
                {"tag": "Delivered", "checkpoint_time": "2026-06-04T09:00:00+02:00"},
            ],
        },
        over,
    )


def plain(frame: Any, index: int = 0) -> dict[str, Any]:
    """Row ``index`` of a frame as a dict, every missing value (``<NA>``, ``NaT``) as ``None``."""
    import pandas as pd

    row = frame.iloc[index].to_dict()
    return {
        k: (None if v is None or (pd.api.types.is_scalar(v) and pd.isna(v)) else v)
        for k, v in row.items()
    }
