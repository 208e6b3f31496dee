"""MRR, its movements, subscribers and churn, against hand-computed small shops.

Each case states its shop and the figures finance would work out by hand; amounts are
minor units (1000 = 10.00 EUR).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from domain.kpis import kpi_daily
from domain.kpis.mrr import monthly_amount
from tests.domain.kpis.build import TZ, inputs, invoice, payment, sub


def day_row(frame: pd.DataFrame, day: str, currency: str = "EUR") -> dict[str, Any]:
    rows = frame[(frame["as_of"] == date.fromisoformat(day)) & (frame["currency"] == currency)]
    assert len(rows) == 1, f"no single row for {day} {currency}"
    return rows.iloc[0].to_dict()


def kpis(shop: Any, start: str, end: str) -> pd.DataFrame:
    return kpi_daily(shop, date.fromisoformat(start), date.fromisoformat(end), TZ)


@pytest.mark.parametrize(
    ("amount", "interval", "count", "monthly"),
    [
        (1900, "month", 1, 1900),
        (19000, "year", 1, 1583),  # 1583.33 rounds down
        (58800, "year", 1, 4900),
        (3900, "month", 3, 1300),  # quarterly
        (1000, "week", 1, 4333),  # × 52 / 12 = 4333.33
        (100, "day", 1, 3042),  # × 365 / 12 = 3041.67 rounds up
        (18, "year", 1, 2),  # 1.5 rounds half up
        (1000, "week", 2, 2167),  # 2166.67
    ],
)
def test_amounts_are_normalised_to_a_month_half_up(
    amount: int, interval: str, count: int, monthly: int
) -> None:
    got = monthly_amount(pd.Series([amount]), pd.Series([interval]), pd.Series([count]))
    assert got.tolist() == [monthly]


def test_movements_new_expansion_contraction_churn_add_up_to_mrr() -> None:
    # A: 10.00/month from 5 Jan, adds a 20.00 plan on 20 Jan, drops it on 10 Feb, leaves
    # on 25 Feb. B: a 120.00 yearly plan (10.00/month) from 10 Jan.
    shop = inputs(
        subscriptions=[
            sub("s1", "A", "2026-01-05", 1000, ended="2026-02-25"),
            sub("s2", "A", "2026-01-20", 2000, ended="2026-02-10"),
            sub("s3", "B", "2026-01-10", 12000, interval="year"),
        ]
    )
    frame = kpis(shop, "2026-01-01", "2026-02-28")

    assert day_row(frame, "2026-01-04")["mrr"] == 0
    assert day_row(frame, "2026-01-05")["mrr_new"] == 1000
    assert day_row(frame, "2026-01-10")["mrr_new"] == 1000
    jan20 = day_row(frame, "2026-01-20")
    assert (jan20["mrr_expansion"], jan20["mrr"], jan20["customers"]) == (2000, 4000, 2)
    feb10 = day_row(frame, "2026-02-10")
    assert (feb10["mrr_contraction"], feb10["mrr"], feb10["customers"]) == (2000, 2000, 2)
    feb25 = day_row(frame, "2026-02-25")
    assert (feb25["mrr_churned"], feb25["mrr"], feb25["customers"]) == (1000, 1000, 1)
    assert feb25["active_subscriptions"] == 1
    # the bridge holds every day: mrr(d) = mrr(d-1) + new + expansion + reactivation - ...
    change = (
        frame["mrr_new"]
        + frame["mrr_expansion"]
        + frame["mrr_reactivation"]
        - frame["mrr_contraction"]
        - frame["mrr_churned"]
    )
    assert (frame["mrr"].diff().iloc[1:] == change.iloc[1:]).all()
    # February, month to date on the 28th: started with 2 customers and 4000 of MRR;
    # churn 1000 + contraction 2000 = 3000 (75 %); one customer of two lost.
    end = day_row(frame, "2026-02-28")
    assert (end["mrr_at_start"], end["customers_at_start"], end["customers_lost"]) == (4000, 2, 1)
    assert end["gross_mrr_churn_rate"] == 0.75
    assert end["net_mrr_churn_rate"] == 0.75
    assert end["logo_churn_rate"] == 0.5
    assert end["subscriber_retention_rate"] == 0.5
    assert end["period_start"] == date(2026, 2, 1)


def test_a_customer_churning_and_reactivating_in_the_same_month_is_not_lost() -> None:
    # C pays 10.00 since December, stops on 5 March and comes back on 20 March at 15.00;
    # D pays 10.00 since December and stops on 12 March for good.
    shop = inputs(
        subscriptions=[
            sub("c1", "C", "2025-12-01", 1000, ended="2026-03-05"),
            sub("c2", "C", "2026-03-20", 1500),
            sub("d1", "D", "2025-12-01", 1000, ended="2026-03-12"),
        ]
    )
    frame = kpis(shop, "2026-03-01", "2026-03-31")

    assert day_row(frame, "2026-03-05")["mrr_churned"] == 1000
    back = day_row(frame, "2026-03-20")
    assert (back["mrr_reactivation"], back["mrr_new"]) == (1500, 0)
    end = day_row(frame, "2026-03-31")
    # C is counted at the start and at the end: retained; D is lost.
    assert (end["customers_at_start"], end["customers"], end["customers_lost"]) == (2, 1, 1)
    assert end["logo_churn_rate"] == 0.5
    assert end["subscriber_retention_rate"] == 0.5
    # both of C's movements count: gross (1000 + 1000) / 2000; net (2000 - 1500) / 2000
    assert end["gross_mrr_churn_rate"] == 1.0
    assert end["net_mrr_churn_rate"] == 0.25
    # in mid-March, before C came back, C and D were both lost
    assert day_row(frame, "2026-03-15")["customers_lost"] == 2


def test_reactivation_after_a_month_away_is_not_new_business() -> None:
    shop = inputs(
        subscriptions=[
            sub("e1", "E", "2026-01-10", 1000, ended="2026-02-10"),
            sub("e2", "E", "2026-04-02", 1000),
        ]
    )
    frame = kpis(shop, "2026-04-01", "2026-04-30")
    assert day_row(frame, "2026-04-02")["mrr_reactivation"] == 1000
    assert frame["mrr_new"].sum() == 0
    end = day_row(frame, "2026-04-30")
    # nobody paid at the start of April: no churn rate at all (not 0)
    assert end["customers_at_start"] == 0
    assert math.isnan(end["logo_churn_rate"])
    assert math.isnan(end["net_mrr_churn_rate"])


def test_involuntary_churn_is_a_lost_customer_whose_last_payment_failed() -> None:
    # F's card fails on 3 March and the subscription is cancelled on 17 March;
    # G cancels on 20 March after paying. Both paid 10.00 since January.
    shop = inputs(
        subscriptions=[
            sub("f1", "F", "2026-01-03", 1000, ended="2026-03-17"),
            sub("g1", "G", "2026-01-03", 1000, ended="2026-03-20"),
        ],
        invoices=[
            invoice("inF", 1000, "2026-03-03", status="uncollectible", subscription="f1"),
            invoice("inG", 1000, "2026-03-03", paid="2026-03-03", subscription="g1"),
        ],
        payments=[
            payment("chF1", 1000, "2026-03-03", status="failed", invoice_id="inF"),
            payment("chG1", 1000, "2026-03-03", invoice_id="inG"),
        ],
    )
    end = day_row(kpis(shop, "2026-03-31", "2026-03-31"), "2026-03-31")
    assert (end["customers_lost"], end["customers_lost_involuntary"]) == (2, 1)
    assert end["involuntary_churn_rate"] == 0.5
    assert end["voluntary_churn_rate"] == 0.5


def test_trials_pay_from_their_end_and_a_trial_cancelled_early_never_pays() -> None:
    shop = inputs(
        subscriptions=[
            sub("t1", "T", "2026-05-01", 1900, trial_end="2026-05-15", status="active"),
            sub("t2", "U", "2026-05-01", 1900, trial_end="2026-05-15", ended="2026-05-10"),
            sub("t3", "V", "2026-05-01", 1900, status="incomplete_expired"),
        ]
    )
    frame = kpis(shop, "2026-05-01", "2026-05-31")
    assert day_row(frame, "2026-05-14")["mrr"] == 0
    assert day_row(frame, "2026-05-15")["mrr_new"] == 1900
    assert day_row(frame, "2026-05-31")["active_subscriptions"] == 1


def test_business_days_are_counted_in_the_business_time_zone() -> None:
    # 23:30 UTC on 31 January is already 1 February in Paris
    late = sub("z1", "Z", "2026-01-31", 1000)
    late["start_at"] = pd.Timestamp("2026-01-31T23:30:00Z")
    frame = kpis(inputs(subscriptions=[late]), "2026-01-31", "2026-02-01")
    assert day_row(frame, "2026-01-31")["mrr"] == 0
    assert day_row(frame, "2026-02-01")["mrr_new"] == 1000


def test_a_cancelled_gocardless_subscription_ends_when_its_last_paid_period_does() -> None:
    # GoCardless keeps no end date: paid on 5 Feb and 5 March (monthly), cancelled later;
    # it stops counting on 5 April, when the March period runs out.
    gc = sub("SB1", "CU1", "2026-02-05", 2000, status="cancelled", provider="gocardless")
    shop = inputs(
        subscriptions=[gc],
        payments=[
            payment(p, 2000, d, provider="gocardless", subscription="SB1", charge_date=d)
            for p, d in (("PM1", "2026-02-05"), ("PM2", "2026-03-05"))
        ],
    )
    frame = kpis(shop, "2026-04-01", "2026-04-30")
    assert day_row(frame, "2026-04-04")["mrr"] == 2000
    assert day_row(frame, "2026-04-05")["mrr_churned"] == 2000


def test_currencies_are_never_added_together() -> None:
    shop = inputs(
        subscriptions=[
            sub("eur", "A", "2026-01-01", 1000),
            sub("gbp", "B", "2026-01-01", 5000, currency="GBP"),
        ]
    )
    frame = kpis(shop, "2026-01-31", "2026-01-31")
    assert sorted(zip(frame["currency"], frame["mrr"], strict=True)) == [
        ("EUR", 1000),
        ("GBP", 5000),
    ]


def test_no_subscriptions_gives_zero_mrr_and_no_rates() -> None:
    # a shop that only sells one-off orders: receivables, but nobody subscribes
    shop = inputs(invoices=[invoice("in1", 5000, "2026-03-02", paid="2026-03-02")])
    end = day_row(kpis(shop, "2026-03-01", "2026-03-31"), "2026-03-31")
    assert (end["mrr"], end["active_subscriptions"], end["customers"]) == (0, 0, 0)
    for rate in (
        "subscriber_retention_rate",
        "logo_churn_rate",
        "gross_mrr_churn_rate",
        "net_mrr_churn_rate",
        "involuntary_churn_rate",
        "failed_payment_rate",
        "dunning_recovery_rate",
    ):
        assert np.isnan(end[rate]), rate


def test_an_empty_warehouse_gives_no_rows() -> None:
    frame = kpis(inputs(), "2026-03-01", "2026-03-31")
    assert frame.empty
    assert "mrr" in frame.columns
