"""Receivables: ageing, DSO, unpaid rate and payment delay, against hand-computed cases.

The shop, amounts in cents:
- I1 120.00 charged automatically on 1 March (due that day), paid on 4 April;
- I2 50.00 sent on 1 March with 30 days to pay (due 31 March), still open;
- I3 80.00 issued and due on 10 January, written off on 15 March, never paid;
- I4 void and I5 draft: never owed;
- I6 20.00 issued 1 March, 5.00 of it paid (open, 15.00 remaining).
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from domain.kpis import kpi_daily
from domain.kpis.days import date_days
from tests.domain.kpis.build import TZ, inputs, invoice, payment, refund, sub
from tests.domain.kpis.test_mrr import day_row, kpis


@pytest.fixture
def shop():  # type: ignore[no-untyped-def]
    return inputs(
        invoices=[
            invoice("I1", 12000, "2026-03-01", paid="2026-04-04"),
            invoice("I2", 5000, "2026-03-01", status="open", due="2026-03-31"),
            invoice("I3", 8000, "2026-01-10", status="uncollectible", written_off="2026-03-15"),
            invoice("I4", 9900, "2026-03-01", status="void"),
            invoice("I5", 9900, "2026-03-01", status="draft"),
            invoice("I6", 2000, "2026-03-01", status="open", remaining=1500),
        ]
    )


def test_ageing_buckets_on_the_last_day_of_march(shop) -> None:  # type: ignore[no-untyped-def]
    end = day_row(kpis(shop, "2026-03-31", "2026-03-31"), "2026-03-31")
    # I1 and I6 are 30 days past due, I2 is due today, I3 was written off on 15 March
    assert end["ar_current"] == 5000
    assert end["ar_1_30"] == 12000 + 1500
    assert end["ar_31_60"] == end["ar_61_90"] == end["ar_over_90"] == 0
    assert end["ar_total"] == 18500


def test_an_unpaid_invoice_walks_through_the_buckets(shop) -> None:  # type: ignore[no-untyped-def]
    frame = kpis(shop, "2026-01-10", "2026-03-14")
    # I3 (80.00, due 10 January): current on the 10th, 1-30 from the 11th, 31-60 from
    # 10 February; nothing else is owed before March.
    assert day_row(frame, "2026-01-10")["ar_current"] == 8000
    assert day_row(frame, "2026-01-11")["ar_1_30"] == 8000
    assert day_row(frame, "2026-02-09")["ar_1_30"] == 8000
    assert day_row(frame, "2026-02-10")["ar_31_60"] == 8000
    assert day_row(frame, "2026-03-14")["ar_61_90"] == 8000


def test_dso_is_receivables_over_ninety_days_of_sales(shop) -> None:  # type: ignore[no-untyped-def]
    end = day_row(kpis(shop, "2026-03-31", "2026-03-31"), "2026-03-31")
    # invoiced over 1 January - 31 March: I1 + I2 + I3 + I6 = 27000; 18500 / 27000 × 90
    assert end["invoiced_90d"] == 27000
    assert end["dso_days"] == pytest.approx(61.67)


def test_unpaid_rate_looks_at_invoices_thirty_to_fifty_nine_days_past_due(shop) -> None:  # type: ignore[no-untyped-def]
    frame = kpis(shop, "2026-02-20", "2026-04-04")
    # 20 Feb: cohort due 23 Dec - 21 Jan = I3, unpaid
    assert day_row(frame, "2026-02-20")["unpaid_rate"] == 1.0
    # 31 March: cohort due 31 Jan - 1 March = I1 (120.00 unpaid) and I6 (15.00 of 20.00)
    assert day_row(frame, "2026-03-31")["unpaid_rate"] == pytest.approx(13500 / 14000, abs=1e-6)
    # 4 April: I1 was paid that day, I6 still owes 15.00 of its 20.00
    assert day_row(frame, "2026-04-04")["unpaid_rate"] == pytest.approx(1500 / 14000, abs=1e-6)
    # 20 March: nothing fell due 30 to 59 days before (I3 is past it, I1 not there yet)
    assert math.isnan(day_row(frame, "2026-03-20")["unpaid_rate"])


def test_payment_delay_counts_from_the_due_date(shop) -> None:  # type: ignore[no-untyped-def]
    paid_early = invoice("I7", 4000, "2026-04-01", due="2026-04-30", paid="2026-04-20")
    frame = kpis(
        inputs(
            invoices=[
                invoice("I1", 12000, "2026-03-01", paid="2026-04-04"),
                paid_early,
            ]
        ),
        "2026-04-30",
        "2026-04-30",
    )
    end = day_row(frame, "2026-04-30")
    # I1: 34 days late; I7: 10 days early -> (34 - 10) / 2 = 12; weighted by amount:
    # (12000 × 34 - 4000 × 10) / 16000 = 23
    assert end["avg_payment_delay_days"] == 12.0
    assert end["avg_payment_delay_weighted_days"] == 23.0


def test_a_partial_refund_leaves_the_invoice_paid_and_the_payment_succeeded() -> None:
    # a 39.00 subscription invoice paid on 2 May; 10.00 of it refunded on 6 May
    shop = inputs(
        subscriptions=[sub("s1", "A", "2026-05-02", 3900)],
        invoices=[invoice("in1", 3900, "2026-05-02", paid="2026-05-02", subscription="s1")],
        payments=[
            payment("ch1", 3900, "2026-05-02", status="partially_refunded", invoice_id="in1")
        ],
        refunds=[refund("re1", "ch1", 1000, "2026-05-06")],
    )
    frame = kpis(shop, "2026-05-01", "2026-05-31")
    end = day_row(frame, "2026-05-31")
    assert end["ar_total"] == 0
    assert end["failed_payment_rate"] == 0.0
    assert end["recurring_attempts"] == 1
    assert end["mrr"] == 3900  # a refund is not a cancellation
    assert day_row(frame, "2026-05-02")["collected"] == 3900
    assert day_row(frame, "2026-05-06")["refunded"] == 1000
    assert frame["refunded"].sum() == 1000
    assert math.isnan(end["dunning_recovery_rate"])  # nothing failed


def test_dates_read_back_as_iso_text_count_the_same() -> None:
    """SQLite hands dates back as text, PostgreSQL as ``date``: same days either way."""
    as_text = invoice("I1", 100, "2026-06-30", status="open")
    as_text["issued_on"] = "2026-06-30"
    frame = kpi_daily(inputs(invoices=[as_text]), date(2026, 6, 30), date(2026, 6, 30), TZ)
    assert frame["ar_current"].tolist() == [100]
    assert date_days(pd.Series(["2026-06-30", None])).tolist()[0] == 20634.0
