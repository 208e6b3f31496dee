"""Recovery analytics, hand-computed: credited to the month of failure, by stage and
channel, with time-to-recovery buckets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.dunning import RECOVERY_COLUMNS, recovery

from .build import at, inputs, invoice

AS_OF = date(2026, 11, 30)


def _auto(invoice_id: str, amount: int, **more: object) -> dict:
    """An invoice charged automatically (no due date: it fails with its payment)."""
    row = invoice(
        invoice_id, "cus_1", amount, "2026-10-01", collection_method="charge_automatically"
    )
    return {**row, "due_on": None, **more}


def _failed(payment_id: str, invoice_id: str, day: str, status: str = "failed") -> dict:
    return {
        "payment_id": payment_id,
        "customer_id": "cus_1",
        "invoice_id": invoice_id,
        "amount": 1,
        "status": status,
        "created_at": at(day),
    }


def _did(item: str, stage: str, action: str, night: str, days: int, **more: object) -> dict:
    key = f"dunning:{item}:{stage}:{action}"
    return {
        "dedupe_key": key,
        "as_of": date.fromisoformat(night),
        "stage": stage,
        "action": action,
        "days_overdue": days,
        "status": "done",
        **more,
    }


def test_recovery_by_month_stage_and_channel() -> None:
    paid = {"status": "paid", "amount_remaining": 0}
    data = inputs(
        invoices=[
            # in_1 fails 30 Oct, reminded 31 Oct, paid 3 Nov: reminder, 4 days.
            _auto("in_1", 4990, **paid, paid_at=at("2026-11-03")),
            # in_2 fails 5 Oct, retried 6 Oct and paid that day: retry, 1 day.
            _auto("in_2", 10000, **paid, paid_at=at("2026-10-06")),
            # in_3 fails 10 Oct, two reminders, still open.
            _auto("in_3", 2000),
            # in_4 fails and is paid on 20 Oct before anything was done.
            _auto("in_4", 3000, **paid, paid_at=at("2026-10-20")),
            # in_5 (sent invoice) due 10 Sep, paid 20 Oct with no action: 39 days.
            invoice("in_5", "cus_1", 7000, "2026-09-10", **paid, paid_at=at("2026-10-20")),
            # in_6 void, in_7 paid before its due date: neither failed.
            _auto("in_6", 999, status="void"),
            invoice("in_7", "cus_1", 800, "2026-10-10", **paid, paid_at=at("2026-10-09")),
            # in_8 in pounds, fails 12 Oct, open.
            _auto("in_8", 1500, currency="GBP"),
        ],
        payments=[
            _failed("ch_1", "in_1", "2026-10-30"),
            _failed("ch_2a", "in_2", "2026-10-05"),
            _failed("ch_2b", "in_2", "2026-10-06", status="succeeded"),
            _failed("ch_3", "in_3", "2026-10-10"),
            _failed("ch_4", "in_4", "2026-10-20"),
            _failed("ch_6", "in_6", "2026-10-20"),
            {**_failed("ch_8", "in_8", "2026-10-12"), "currency": "GBP"},
            # PM1: a GoCardless debit due 3 Nov, returned, retried on 7 Nov, collected 12 Nov.
            {
                "payment_id": "PM1",
                "provider": "gocardless",
                "customer_id": "CU1",
                "subscription_id": "SB1",
                "amount": 5000,
                "status": "succeeded",
                "created_at": at("2026-10-28"),
                "charge_date": date(2026, 11, 12),
            },
        ],
        history=[
            _did("in_1", "reminder_1", "email", "2026-10-31", 1, invoice_id="in_1"),
            _did("in_2", "reminder_1", "email", "2026-10-06", 1, invoice_id="in_2"),
            _did("in_2", "reminder_1", "retry_payment", "2026-10-06", 1, invoice_id="in_2"),
            _did("in_3", "reminder_1", "email", "2026-10-11", 1, invoice_id="in_3"),
            _did("in_3", "reminder_2", "email", "2026-10-17", 7, invoice_id="in_3"),
            _did("PM1", "reminder_1", "email", "2026-11-04", 1, payment_id="PM1"),
            _did("PM1", "retry_1", "retry_payment", "2026-11-07", 4, payment_id="PM1"),
            # A dry run's planned row is not an action taken.
            _did("in_4", "reminder_1", "email", "2026-10-19", 1, status="planned"),
        ],
    )
    table = recovery(data, AS_OF)
    assert list(table.columns) == list(RECOVERY_COLUMNS)
    rows = [tuple(r[c] for c in RECOVERY_COLUMNS[:13]) for r in table.to_dict("records")]
    one = Decimal("1.000000")
    assert rows == [
        ("2026-09", "stripe", "none", "none", "EUR", 1, 7000, 1, 7000, one, 0, 0, 1),
        ("2026-10", "stripe", "none", "none", "EUR", 1, 3000, 1, 3000, one, 1, 0, 0),
        ("2026-10", "stripe", "none", "open", "GBP", 1, 1500, 0, 0, Decimal("0.000000"), 0, 0, 0),
        ("2026-10", "stripe", "reminder_1", "reminder", "EUR", 1, 4990, 1, 4990, one, 1, 0, 0),
        ("2026-10", "stripe", "reminder_1", "retry", "EUR", 1, 10000, 1, 10000, one, 1, 0, 0),
        (
            "2026-10",
            "stripe",
            "reminder_2",
            "open",
            "EUR",
            1,
            2000,
            0,
            0,
            Decimal("0.000000"),
            0,
            0,
            0,
        ),
        ("2026-11", "gocardless", "retry_1", "retry", "EUR", 1, 5000, 1, 5000, one, 0, 1, 0),
    ]
    assert set(table["as_of"]) == {AS_OF}


def test_a_recovery_after_as_of_is_not_counted_yet() -> None:
    data = inputs(
        invoices=[_auto("in_1", 4990, status="paid", amount_remaining=0, paid_at=at("2026-11-03"))],
        payments=[_failed("ch_1", "in_1", "2026-10-30")],
    )
    (row,) = recovery(data, date(2026, 11, 1)).to_dict("records")
    assert (row["channel"], row["recovered_count"], row["recovered_amount"]) == ("open", 0, 0)


def test_rates_add_up_per_group() -> None:
    data = inputs(
        invoices=[
            _auto("in_1", 3000, status="paid", amount_remaining=0, paid_at=at("2026-10-03")),
            _auto("in_2", 1000),
            _auto("in_3", 2000),
        ],
        payments=[
            _failed("ch_1", "in_1", "2026-10-01"),
            _failed("ch_2", "in_2", "2026-10-01"),
            _failed("ch_3", "in_3", "2026-10-01"),
        ],
    )
    table = recovery(data, AS_OF).set_index("channel")
    assert table.loc["open", "failed_amount"] == 3000
    assert table.loc["open", "recovery_rate"] == Decimal("0.000000")
    assert table.loc["none", "recovery_rate"] == Decimal("1.000000")
    assert recovery(inputs(), AS_OF).empty
