"""The cash-flow forecast and its accuracy, on a shop small enough to forecast by hand.

History (amounts in cents): Stripe keeps 2 % in fees (200 of a 100.00 charge, 100 of a
50.00 one) and pays a charge of 1 June out on 4 June: 3 days from charge to bank. Of two
100.00 invoices that fell due on 1 February, one was paid 5 days after becoming overdue
and one never was: invoices 1-30 days overdue are collected at 50 %, after 5 days.
Every subscription invoice of the last months was paid.

On 30 June: invoice X (100.00) is 10 days overdue; Stripe subscription s1 (20.00 a
month) renews on 15 July; s2 ends at its period end; GoCardless subscription SB1 (30.00
a month) charges on 2 July (payment PM1 already created) and monthly after; a payout of
50.00 arrives on 1 July; a 50.00 card payment of 29 June is in no payout yet.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from domain.kpis import cashflow_forecast, forecast_accuracy
from domain.kpis.forecast import weighted
from tests.domain.kpis.build import TZ, inputs, invoice, payment, payout, sub


@pytest.fixture
def shop():  # type: ignore[no-untyped-def]
    return inputs(
        subscriptions=[
            sub("s1", "A", "2026-01-15", 2000, period_end="2026-07-15"),
            sub("s2", "B", "2026-01-10", 2000, period_end="2026-07-10", cancel_at_period_end=True),
            sub("SB1", "C", "2026-02-02", 3000, provider="gocardless", period_end="2026-07-02"),
        ],
        invoices=[
            invoice("X", 10000, "2026-06-20", status="open"),
            invoice("Y", 10000, "2026-02-01", paid="2026-02-07"),
            invoice("Z", 10000, "2026-02-01", status="uncollectible", written_off="2026-05-01"),
            invoice("S1", 3000, "2026-05-01", paid="2026-05-01", subscription="s1"),
        ],
        payments=[
            payment("h1", 10000, "2026-06-01", payout="po_h", fee=200),
            payment("u1", 5000, "2026-06-29", fee=100),
            payment(
                "PM1",
                3000,
                "2026-06-27",
                status="pending",
                provider="gocardless",
                subscription="SB1",
                charge_date="2026-07-02",
            ),
        ],
        payouts=[
            payout("po_h", 9800, "2026-06-03", "2026-06-04"),
            payout("po_p", 5000, "2026-06-29", "2026-07-01", status="in_transit"),
        ],
    )


def by_day(forecast: pd.DataFrame) -> list[tuple[str, str, int, int]]:
    return [
        (str(r["day"]), r["source"], int(r["expected_in"]), int(r["gross_amount"]))
        for _, r in forecast.iterrows()
    ]


def test_each_source_dated_and_weighted_by_what_history_says(shop) -> None:  # type: ignore[no-untyped-def]
    forecast = cashflow_forecast(shop, date(2026, 6, 30), TZ)
    assert by_day(forecast) == [
        ("2026-07-01", "pending_payouts", 5000, 5000),
        ("2026-07-02", "direct_debits", 3000, 3000),  # PM1; SB1's own 2 July is PM1
        ("2026-07-02", "unsettled_payments", 4900, 4900),  # net of its fee, 3 days later
        ("2026-07-08", "open_invoices", 4900, 10000),  # 50 % × 98 %, 5 + 3 days on
        ("2026-07-18", "renewals", 1960, 2000),  # 15 July + 3 days, 100 % × 98 %
        ("2026-08-02", "direct_debits", 3000, 3000),
        ("2026-08-18", "renewals", 1960, 2000),
        ("2026-09-02", "direct_debits", 3000, 3000),
        ("2026-09-18", "renewals", 1960, 2000),
    ]
    assert set(forecast["as_of"]) == {date(2026, 6, 30)}
    assert set(forecast["currency"]) == {"EUR"}


def test_a_forecast_for_an_earlier_day_uses_only_what_was_known_then(shop) -> None:  # type: ignore[no-untyped-def]
    forecast = cashflow_forecast(shop, date(2026, 6, 26), TZ)
    rows = by_day(forecast)
    # PM1 (created 27 June), the payout of 29 June and the payment of 29 June did not
    # exist yet; SB1's charge of 2 July is then a plain subscription charge
    assert ("2026-07-02", "direct_debits", 3000, 3000) in rows
    assert not {s for _, s, _, _ in rows} & {"pending_payouts", "unsettled_payments"}
    # X was 6 days overdue: expected 26 June + 5 + 3 days
    assert ("2026-07-04", "open_invoices", 4900, 10000) in rows


def test_nothing_to_forecast_gives_an_empty_frame() -> None:
    forecast = cashflow_forecast(inputs(), date(2026, 6, 30), TZ)
    assert forecast.empty
    assert list(forecast.columns) == [
        "as_of",
        "day",
        "currency",
        "source",
        "expected_in",
        "gross_amount",
        "items",
    ]


def test_weights_round_half_up_in_integers() -> None:
    assert weighted([10000, 3, 1], [490_000, 500_000, 500_000]).tolist() == [4900, 2, 1]


def test_accuracy_compares_a_stored_forecast_with_the_payouts_since() -> None:
    made = date(2026, 6, 23)
    past = pd.DataFrame(
        {
            "as_of": [made] * 3,
            "day": [date(2026, 6, 25), date(2026, 6, 29), date(2026, 7, 1)],
            "currency": ["EUR"] * 3,
            "expected_in": [60000, 40000, 99999],  # 1 July is after as_of: not compared
        }
    )
    payouts = inputs(
        payouts=[
            payout("p1", 90000, "2026-06-24", "2026-06-25"),
            payout("p2", 5000, "2026-06-27", "2026-06-28", status="failed"),
            payout("p3", 7000, "2026-06-20", "2026-06-23"),  # arrived before the window
        ]
    ).payouts
    rows = forecast_accuracy(past, payouts, date(2026, 6, 30)).to_dict("records")
    assert rows == [
        {
            "as_of": date(2026, 6, 30),
            "horizon_days": 7,
            "currency": "EUR",
            "forecast_as_of": made,
            "forecast_in": 100000,
            "actual_in": 90000,
            "error": -10000,
            "abs_pct_error": pytest.approx(0.111111),
        }
    ]
    # no forecast stored 7 or 30 days before: nothing to compare yet
    assert forecast_accuracy(past, payouts, date(2026, 7, 1)).empty
