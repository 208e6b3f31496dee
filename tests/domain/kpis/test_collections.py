"""Failed-payment rate and recovery credited to the month of failure, by hand.

The shop in March (amounts in cents):
- invoice A (subscription, 30.00): first charge fails on 3 March, a retry succeeds on
  10 March (paid, before any dunning);
- invoice B (subscription, 20.00): first charge succeeds on 4 March;
- GoCardless payment P (subscription, 40.00, charged 20 March): fails, not recovered;
- invoice O (a one-off order, 50.00): its charge fails on 5 March (not recurring);
  dunning never touches it and it is never paid;
- invoice C (B2B, 100.00, due 5 March, sent): dunning e-mails a reminder on 15 March
  (stage ``reminder_1``) and a formal notice on 10 April; paid on 2 April.
"""

from __future__ import annotations

import math

import pytest

from domain.kpis import failures, recovery_by_stage
from tests.domain.kpis.build import TZ, action, inputs, invoice, payment
from tests.domain.kpis.test_mrr import day_row, kpis


@pytest.fixture
def shop():  # type: ignore[no-untyped-def]
    return inputs(
        invoices=[
            invoice("A", 3000, "2026-03-03", paid="2026-03-10", subscription="sA"),
            invoice("B", 2000, "2026-03-04", paid="2026-03-04", subscription="sB"),
            invoice("O", 5000, "2026-03-05", status="open"),
            invoice("C", 10000, "2026-02-03", due="2026-03-05", paid="2026-04-02"),
        ],
        payments=[
            payment("a1", 3000, "2026-03-03", status="failed", invoice_id="A"),
            payment("a2", 3000, "2026-03-10", invoice_id="A"),
            payment("b1", 2000, "2026-03-04", invoice_id="B"),
            payment(
                "P",
                4000,
                "2026-03-15",
                status="failed",
                provider="gocardless",
                subscription="sP",
                charge_date="2026-03-20",
            ),
            payment("o1", 5000, "2026-03-05", status="failed", invoice_id="O"),
            payment("c1", 10000, "2026-04-02", invoice_id="C"),
        ],
        actions=[
            action("2026-03-15", "reminder_1", invoice_id="C"),
            action("2026-04-10", "formal_notice", invoice_id="C"),
        ],
    )


def test_failed_payment_rate_counts_recurring_first_attempts(shop) -> None:  # type: ignore[no-untyped-def]
    end = day_row(kpis(shop, "2026-03-31", "2026-03-31"), "2026-03-31")
    # recurring first attempts: a1 (failed), b1, P (failed); the retry a2 and the
    # one-off o1 do not count
    assert end["recurring_attempts"] == 3
    assert end["failed_payment_rate"] == pytest.approx(2 / 3, abs=1e-6)


def test_recovery_is_credited_to_the_month_of_failure(shop) -> None:  # type: ignore[no-untyped-def]
    frame = kpis(shop, "2026-03-01", "2026-04-30")
    # March: A (30.00, recovered 10 March), P (40.00), O (50.00), C (100.00, due 5 March
    # so failed on the 6th, under dunning) failed; only A is back by 31 March.
    march = day_row(frame, "2026-03-31")
    assert march["failed_amount"] == 3000 + 4000 + 5000 + 10000
    assert march["recovered_amount"] == 3000
    assert march["dunning_recovery_rate"] == pytest.approx(3000 / 22000, abs=1e-6)
    assert day_row(frame, "2026-03-09")["recovered_amount"] == 0
    # C comes back on 2 April: March's cohort, not April's (nothing failed in April)
    april = day_row(frame, "2026-04-30")
    assert april["failed_amount"] == 0
    assert math.isnan(april["dunning_recovery_rate"])


def test_recovery_by_stage_names_the_last_dunning_step_before_payment(shop) -> None:  # type: ignore[no-untyped-def]
    units = failures(shop.payments, shop.invoices, shop.dunning_actions, TZ)
    table = recovery_by_stage(units)
    got = {(r["failure_month"], r["stage"]): (r["count"], r["amount"]) for _, r in table.iterrows()}
    # A paid before any dunning: none; C paid after the reminder of 15 March (the
    # formal notice of 10 April came after it); P and O never came back: open
    assert got == {
        ("2026-03", "none"): (1, 3000),
        ("2026-03", "reminder_1"): (1, 10000),
        ("2026-03", "open"): (2, 9000),
    }


def test_a_direct_debit_retried_by_dunning_is_recovered_on_the_retry_day() -> None:
    shop = inputs(
        payments=[
            payment(
                "PM9",
                2500,
                "2026-05-01",
                status="succeeded",
                provider="gocardless",
                charge_date="2026-05-04",
            )
        ],
        actions=[action("2026-05-11", "retry_1", payment_id="PM9", kind="retry_payment")],
    )
    frame = kpis(shop, "2026-05-01", "2026-05-31")
    assert day_row(frame, "2026-05-10")["recovered_amount"] == 0
    assert day_row(frame, "2026-05-11")["recovered_amount"] == 2500
    assert day_row(frame, "2026-05-31")["dunning_recovery_rate"] == 1.0


def test_an_invoice_paid_late_failed_the_day_after_its_due_date() -> None:
    # sent on 1 April with 10 days to pay, paid on 20 April, no dunning: it failed on
    # 11 April and came back on the 20th; one paid on time never failed
    shop = inputs(
        invoices=[
            invoice("L", 6000, "2026-04-01", due="2026-04-10", paid="2026-04-20"),
            invoice("T", 7000, "2026-04-01", due="2026-04-10", paid="2026-04-10"),
        ]
    )
    frame = kpis(shop, "2026-04-01", "2026-04-30")
    assert day_row(frame, "2026-04-10")["failed_amount"] == 0
    assert day_row(frame, "2026-04-11")["failed_amount"] == 6000
    assert day_row(frame, "2026-04-19")["dunning_recovery_rate"] == 0.0
    assert day_row(frame, "2026-04-20")["dunning_recovery_rate"] == 1.0


def test_a_failed_direct_debit_is_recovered_by_the_next_collection_of_its_subscription() -> None:
    debit = {"provider": "gocardless", "subscription": "SB7"}
    shop = inputs(
        payments=[
            payment("PMa", 3000, "2026-05-01", status="failed", charge_date="2026-05-05", **debit),
            payment("PMb", 3000, "2026-05-20", charge_date="2026-05-25", **debit),
        ]
    )
    units = failures(shop.payments, shop.invoices, shop.dunning_actions, TZ)
    assert units[["unit", "amount"]].to_dict("records") == [{"unit": "PMa", "amount": 3000}]
    frame = kpis(shop, "2026-05-01", "2026-05-31")
    assert day_row(frame, "2026-05-24")["recovered_amount"] == 0
    assert day_row(frame, "2026-05-25")["recovered_amount"] == 3000
