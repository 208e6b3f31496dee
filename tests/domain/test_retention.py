"""Retention as data: periods, the legal floors, the cut-offs and each record's fate."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from domain.erasure import erased_email, pseudonym
from domain.retention import (
    Period,
    PolicyError,
    cutoffs,
    inactive_customers,
    load_policy,
    parse_policy,
    payload_owner,
    pseudonymised,
)

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.mark.parametrize(
    ("period", "day", "expected"),
    [
        ("13 months", date(2027, 6, 30), date(2026, 5, 30)),
        ("1 month", date(2026, 3, 31), date(2026, 2, 28)),  # no 31 February
        ("1 year", date(2028, 2, 29), date(2027, 2, 28)),  # leap day
        ("90 days", date(2026, 3, 1), date(2025, 12, 1)),
        ("10 years", date(2027, 1, 15), date(2017, 1, 15)),
    ],
)
def test_a_period_counts_back_in_calendar_units(period: str, day: date, expected: date) -> None:
    assert Period.parse(period).before(day) == expected


def test_the_shipped_policy_keeps_the_law_and_the_documented_periods() -> None:
    policy = load_policy(POLICIES)
    assert str(policy.legal.accounting_records) == "10 years"
    assert str(policy.legal.tax_records) == "6 years"
    assert str(policy.legal.oss_records) == "10 years"
    assert str(policy.keep.raw_payloads) == "13 months"
    assert str(policy.keep.inactive_customers) == "3 years"


def test_no_file_means_the_defaults(tmp_path: Path) -> None:
    assert load_policy(tmp_path) == parse_policy("")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "legal:\n  accounting_records: 10 years\n  tax_records: 5 years\n",
            "line 3: legal.tax_records: the law requires at least 6 years (LPF L102 B)",
        ),
        (
            "legal:\n  accounting_records: 119 months\n",
            "line 2: legal.accounting_records: the law requires at least 10 years",
        ),
        ("keep:\n  notifications: 2 years\n  raw_payload: 1 year\n", "line 3: unknown setting"),
        ("keep:\n  quarantine: soon\n", "line 2: keep.quarantine: expected a period"),
        ("keep:\n  pipeline_runs: 0 days\n", "line 2: keep.pipeline_runs: a period must be"),
        ("keep:\n  quarantine: 1 year\n  quarantine: 2 years\n", "line 3: 'quarantine' is given"),
    ],
)
def test_a_mistake_names_its_line(text: str, error: str) -> None:
    with pytest.raises(PolicyError, match=error.replace("(", r"\(").replace(")", r"\)")):
        parse_policy(text)


def test_the_law_may_be_lengthened() -> None:
    policy = parse_policy("legal:\n  tax_records: 12 years\n")
    assert str(policy.legal.longest()) == "12 years"


def test_cutoffs_are_midnight_in_the_business_time_zone() -> None:
    cut = cutoffs(parse_policy(""), date(2027, 6, 30), "Europe/Paris")
    assert cut["raw_payloads"].day == date(2026, 5, 30)
    assert cut["raw_payloads"].at == datetime(2026, 5, 29, 22, 0, tzinfo=UTC)  # CEST
    assert cut["financial_records"].day == date(2017, 6, 30)  # the longest legal period
    assert cut["inactive_customers"].day == date(2024, 6, 30)


CHARGE = {
    "id": "ch_1",
    "object": "charge",
    "customer": "cus_1",
    "amount": 4990,
    "currency": "eur",
    "status": "succeeded",
    "receipt_email": "jane@example.com",
    "description": "Order for Jane Doe",
    "billing_details": {
        "name": "Jane Doe",
        "email": "jane@example.com",
        "address": {"city": "Lyon", "postal_code": "69001", "country": "FR"},
    },
}


def test_a_payload_loses_its_personal_data_and_keeps_the_facts() -> None:
    out = json.loads(pseudonymised(json.dumps(CHARGE), payload_owner(CHARGE, "ch_1")) or "")
    text = json.dumps(out)
    assert "Jane" not in text
    assert "jane@example.com" not in text
    assert "Lyon" not in text
    assert out["receipt_email"] == erased_email("cus_1")
    assert out["description"] == f"Order for {pseudonym('cus_1')}"
    assert out["billing_details"]["address"]["country"] == "FR"
    assert (out["id"], out["amount"], out["status"], out["customer"]) == (
        "ch_1",
        4990,
        "succeeded",
        "cus_1",
    )


def test_pseudonymising_twice_changes_nothing_the_second_time() -> None:
    once = pseudonymised(json.dumps(CHARGE), "cus_1")
    assert pseudonymised(once, "cus_1") == once
    nothing_personal = json.dumps({"id": "txr_1", "percentage": 20})
    assert pseudonymised(nothing_personal, "txr_1") == nothing_personal


def test_the_owner_is_the_customer_the_object_is_about() -> None:
    assert payload_owner(CHARGE, "ch_1") == "cus_1"
    assert payload_owner({"links": {"customer": "CU1"}}, "PM1") == "CU1"
    assert payload_owner({"customer": {"id": "cus_2"}}, "in_1") == "cus_2"
    assert payload_owner({"id": "cus_3", "email": "x@y.z"}, "cus_3") == "cus_3"


def _at(day: str) -> pd.Timestamp:
    return pd.Timestamp(day, tz="UTC")


def test_inactive_customers_are_those_with_nothing_recent_and_nothing_owed() -> None:
    customers = pd.DataFrame(
        {
            "customer_id": ["old", "recent_pay", "owes", "subscribed", "erased", "new"],
            "email": ["a@x.fr", "b@x.fr", "c@x.fr", "d@x.fr", erased_email("erased"), "f@x.fr"],
            "created_at": [_at("2020-01-01")] * 5 + [_at("2026-01-01")],
        }
    )
    invoices = pd.DataFrame(
        {
            "customer_id": ["old", "owes"],
            "status": ["paid", "open"],
            "amount_remaining": [0, 1500],
            "created_at": [_at("2023-01-10"), _at("2021-01-10")],
            "paid_at": [_at("2023-02-01"), None],
        }
    )
    payments = pd.DataFrame({"customer_id": ["recent_pay"], "created_at": [_at("2025-03-01")]})
    subscriptions = pd.DataFrame(
        {
            "customer_id": ["old", "subscribed"],
            "status": ["canceled", "active"],
            "ended_at": [_at("2023-03-01"), None],
            "canceled_at": [_at("2023-02-15"), None],
            "current_period_end": [_at("2023-03-01"), _at("2021-01-01")],
        }
    )
    cutoff = datetime(2024, 6, 29, 22, tzinfo=UTC)

    assert inactive_customers(customers, invoices, payments, subscriptions, cutoff) == ["old"]
    later = datetime(2025, 6, 1, tzinfo=UTC)
    assert inactive_customers(customers, invoices, payments, subscriptions, later) == [
        "old",
        "recent_pay",
    ]


def test_an_empty_shop_has_no_inactive_customer() -> None:
    empty = pd.DataFrame(
        columns=[
            "customer_id", "email", "created_at", "status", "amount_remaining", "paid_at",
            "ended_at", "canceled_at", "current_period_end",
        ]
    )  # fmt: skip
    cutoff = datetime(2024, 6, 29, tzinfo=UTC)
    assert inactive_customers(empty, empty, empty, empty, cutoff) == []
    one = pd.DataFrame(
        {"customer_id": ["c"], "email": ["c@x.fr"], "created_at": [_at("2020-01-01")]}
    )
    assert inactive_customers(one, empty, empty, empty, cutoff) == ["c"]
