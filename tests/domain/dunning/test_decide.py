"""Tonight's decisions: the right step on the right day, once, and never after payment."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain.dunning import ACTION_COLUMNS

from .build import (
    as_history,
    at,
    customer,
    inputs,
    invoice,
    run,
    skipped,
)

NOV_1 = date(2026, 11, 1)


def test_courtesy_notice_three_days_before_the_due_date() -> None:
    data = inputs(
        customers=[customer("cus_1")], invoices=[invoice("in_1", "cus_1", 4990, "2026-11-04")]
    )
    assert run(data, date(2026, 10, 31)).actions.empty
    plan = run(data, date(2026, 11, 1))
    assert list(plan.actions["dedupe_key"]) == ["dunning:in_1:upcoming:email"]
    assert [n.template for n in plan.notices] == ["dunning_upcoming"]
    assert plan.actions["days_overdue"].tolist() == [-3]


def test_first_reminder_the_day_after_the_due_date_with_its_keys() -> None:
    data = inputs(
        customers=[customer("cus_1")],
        invoices=[
            invoice("in_1", "cus_1", 4990, "2026-11-01", collection_method="charge_automatically")
        ],
        payments=[
            {
                "payment_id": "ch_1",
                "customer_id": "cus_1",
                "invoice_id": "in_1",
                "amount": 4990,
                "decline_code": "insufficient_funds",
                "failure_code": "card_declined",
                "payment_method_type": "card",
                "created_at": at("2026-11-01"),
            }
        ],
    )
    plan = run(data, date(2026, 11, 2))
    rows = plan.actions.set_index("action")
    assert list(plan.actions.columns) == list(ACTION_COLUMNS)
    assert sorted(rows.index) == ["email", "retry_payment"]
    retry = rows.loc["retry_payment"]
    assert retry["dedupe_key"] == "dunning:in_1:reminder_1:retry_payment"
    assert retry["idempotency_key"] == retry["dedupe_key"]
    assert retry["payment_id"] == "ch_1"
    assert retry["notice_key"] is None or str(retry["notice_key"]) == "<NA>"
    email = rows.loc["email"]
    assert email["notice_key"] == "dunning:in_1:reminder_1"
    assert str(email["idempotency_key"]) == "<NA>"
    assert (email["ladder"], email["stage"], email["amount"], email["currency"]) == (
        "consumer",
        "reminder_1",
        4990,
        "EUR",
    )
    (notice,) = plan.notices
    assert notice.dedupe_key == "dunning:in_1:reminder_1"
    assert (notice.kind, notice.locale, notice.template) == ("dunning", "fr", "dunning_reminder_1")
    assert notice.planned_for == date(2026, 11, 2)
    assert notice.send_after.isoformat() == "2026-11-02T08:00:00+00:00"  # 09:00 in Paris
    assert notice.context["amount"] == 4990
    assert notice.context["due_on"] == "2026-11-01"
    assert notice.context["customer_name"] == "Client cus_1"
    assert notice.context["method"] == "card"
    assert notice.context["legal"] is None
    assert plan.counts() == {"email": 1, "notices": 1, "cancellations": 0, "retry_payment": 1}


def test_nothing_between_steps_and_no_step_twice() -> None:
    data = inputs(
        customers=[customer("cus_1")], invoices=[invoice("in_1", "cus_1", 4990, "2026-11-01")]
    )
    first = run(data, date(2026, 11, 2))
    history = as_history(first, date(2026, 11, 2))
    later = inputs(
        customers=[customer("cus_1")],
        invoices=[invoice("in_1", "cus_1", 4990, "2026-11-01")],
        history=history,
    )
    for night in range(3, 8):  # J+2 .. J+6
        assert run(later, date(2026, 11, night)).actions.empty
    assert set(run(later, date(2026, 11, 8)).actions["stage"]) == {"reminder_2"}


def test_missed_nights_fire_only_the_latest_due_step() -> None:
    data = inputs(
        customers=[customer("cus_1")],
        invoices=[invoice("in_1", "cus_1", 4990, "2026-11-01")],
        history=[
            {
                "dedupe_key": "dunning:in_1:reminder_1:email",
                "as_of": date(2026, 11, 2),
                "invoice_id": "in_1",
                "stage": "reminder_1",
                "action": "email",
                "days_overdue": 1,
            }
        ],
    )
    # Nothing ran from J+2 to J+16: only J+15's step fires, never reminder_2 as well.
    plan = run(data, date(2026, 11, 17))
    assert set(plan.actions["stage"]) == {"suspension_warning"}
    assert [n.stage for n in plan.notices] == ["suspension_warning"]


def test_an_earlier_step_is_never_sent_once_a_later_one_was() -> None:
    data = inputs(
        customers=[customer("cus_1")],
        invoices=[invoice("in_1", "cus_1", 4990, "2026-11-01")],
        history=[
            {
                "dedupe_key": "dunning:in_1:reminder_2:email",
                "as_of": date(2026, 11, 8),
                "invoice_id": "in_1",
                "stage": "reminder_2",
                "action": "email",
                "days_overdue": 7,
            }
        ],
    )
    assert run(data, date(2026, 11, 9)).actions.empty


def test_a_dry_run_decides_nothing_for_later_nights() -> None:
    """A dry run's ``planned`` rows are not steps taken: the real run does them."""
    invoices = [invoice("in_1", "cus_1", 4990, "2026-11-01")]
    dry = run(inputs(customers=[customer("cus_1")], invoices=invoices), date(2026, 11, 2))
    data = inputs(
        customers=[customer("cus_1")],
        invoices=invoices,
        history=as_history(dry, date(2026, 11, 2), status="planned"),
    )
    real = run(data, date(2026, 11, 2))
    assert list(real.actions["dedupe_key"]) == list(dry.actions["dedupe_key"])
    assert set(run(data, date(2026, 11, 3)).actions["stage"]) == {"reminder_1"}


def test_re_running_the_same_night_gives_the_same_plan() -> None:
    invoices = [invoice("in_1", "cus_1", 4990, "2026-11-01")]
    first = run(inputs(customers=[customer("cus_1")], invoices=invoices), date(2026, 11, 2))
    again = inputs(
        customers=[customer("cus_1")],
        invoices=invoices,
        history=as_history(first, date(2026, 11, 2), status="done"),
    )
    second = run(again, date(2026, 11, 2))
    assert second.actions.equals(first.actions)
    assert second.notices == first.notices


def test_a_month_of_nights_with_one_customer_paying_between_two_steps() -> None:
    """Two customers fall due on 1 November; the second pays on 10 November. Each night
    feeds its actions back as history; notices leave overnight, except in_b's second
    reminder, still waiting in the outbox when the payment arrives."""
    customers = [customer("cus_a"), customer("cus_b")]
    history: list[dict] = []
    pending: list[dict] = []
    sent: dict[str, list[tuple[date, str]]] = {"in_a": [], "in_b": []}
    cancelled: list[tuple[date, str, str]] = []
    for offset in range(-5, 31):
        night = NOV_1 + timedelta(days=offset)
        b = invoice("in_b", "cus_b", 2500, "2026-11-01")
        if night >= date(2026, 11, 10):
            b |= {"status": "paid", "amount_paid": 2500, "amount_remaining": 0}
        data = inputs(
            customers=customers,
            invoices=[invoice("in_a", "cus_a", 4990, "2026-11-01"), b],
            history=history,
            pending_notices=pending,
        )
        plan = run(data, night)
        history += as_history(plan, night)
        cancelled += [(night, k, r) for k, r in plan.cancellations.itertuples(index=False)]
        withdrawn = set(plan.cancellations["dedupe_key"])
        pending = [p for p in pending if p["dedupe_key"] not in withdrawn]
        for notice in plan.notices:
            sent[notice.invoice_id].append((night, notice.stage))
            if notice.dedupe_key == "dunning:in_b:reminder_2":
                pending.append({"dedupe_key": notice.dedupe_key, "invoice_id": "in_b"})
    assert sent["in_a"] == [
        (date(2026, 10, 29), "upcoming"),
        (date(2026, 11, 2), "reminder_1"),
        (date(2026, 11, 8), "reminder_2"),
        (date(2026, 11, 16), "suspension_warning"),
        (date(2026, 12, 1), "final_notice"),
    ]
    # in_b gets nothing after paying, and its waiting reminder is withdrawn, once.
    assert sent["in_b"] == [
        (date(2026, 10, 29), "upcoming"),
        (date(2026, 11, 2), "reminder_1"),
        (date(2026, 11, 8), "reminder_2"),
    ]
    assert cancelled == [(date(2026, 11, 10), "dunning:in_b:reminder_2", "paid")]


def test_a_payment_through_the_other_provider_settles_the_invoice() -> None:
    """The Stripe invoice failed; the same person (same e-mail, another customer id)
    paid the same amount by GoCardless: no reminder, and the waiting one is withdrawn."""
    data = inputs(
        customers=[
            customer("cus_1", email="Lea@Example.com"),
            customer("CU1", email="lea@example.com "),
        ],
        invoices=[invoice("in_1", "cus_1", 4990, "2026-11-01")],
        payments=[
            {
                "payment_id": "PM1",
                "provider": "gocardless",
                "customer_id": "CU1",
                "amount": 4990,
                "status": "succeeded",
                "created_at": at("2026-11-05"),
                "charge_date": date(2026, 11, 5),
            }
        ],
        pending_notices=[
            {"dedupe_key": "dunning:in_1:reminder_1", "customer_id": "cus_1", "invoice_id": "in_1"}
        ],
    )
    plan = run(data, date(2026, 11, 8))
    assert plan.actions.empty
    assert plan.cancellations.to_dict("records") == [
        {"dedupe_key": "dunning:in_1:reminder_1", "reason": "paid"}
    ]


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        (
            {"payments": [{"payment_id": "ch_9", "invoice_id": "in_1", "status": "succeeded"}]},
            "paid",
        ),
        (
            {
                "payments": [
                    {"payment_id": "ch_9", "payment_intent_id": "pi_9", "status": "succeeded"}
                ],
                "invoice_payments": [{"invoice_id": "in_1", "payment_intent_id": "pi_9"}],
            },
            "paid",
        ),
        ({"invoice_payments": [{"invoice_id": "in_1", "status": "paid"}]}, "paid"),
        (
            {"payments": [{"payment_id": "ch_9", "invoice_id": "in_1", "status": "pending"}]},
            "payment_pending",
        ),
    ],
)
def test_a_linked_payment_stops_the_reminders(link: dict, expected: str) -> None:
    payments = [
        {"customer_id": "cus_1", "amount": 4990, "created_at": at("2026-11-03"), **p}
        for p in link.get("payments", [])
    ]
    data = inputs(
        customers=[customer("cus_1")],
        invoices=[invoice("in_1", "cus_1", 4990, "2026-11-01")],
        payments=payments,
        invoice_payments=link.get("invoice_payments", []),
        pending_notices=[{"dedupe_key": "dunning:in_1:reminder_1", "invoice_id": "in_1"}],
    )
    plan = run(data, date(2026, 11, 8))
    assert plan.actions.empty
    assert plan.cancellations["reason"].tolist() == [expected]


def test_a_later_step_supersedes_a_notice_still_waiting() -> None:
    data = inputs(
        customers=[customer("cus_1")],
        invoices=[invoice("in_1", "cus_1", 4990, "2026-11-01")],
        history=[
            {
                "dedupe_key": "dunning:in_1:reminder_1:email",
                "as_of": date(2026, 11, 2),
                "invoice_id": "in_1",
                "stage": "reminder_1",
                "action": "email",
                "days_overdue": 1,
            }
        ],
        pending_notices=[{"dedupe_key": "dunning:in_1:reminder_1", "invoice_id": "in_1"}],
    )
    plan = run(data, date(2026, 11, 8))
    assert [n.stage for n in plan.notices] == ["reminder_2"]
    assert plan.cancellations.to_dict("records") == [
        {"dedupe_key": "dunning:in_1:reminder_1", "reason": "superseded"}
    ]


def test_gocardless_failed_payment_without_invoice_is_an_item() -> None:
    data = inputs(
        customers=[customer("CU1", country="GB", locale="en")],
        payments=[
            {
                "payment_id": "PM1",
                "provider": "gocardless",
                "customer_id": "CU1",
                "subscription_id": "SB1",
                "mandate_id": "MD1",
                "amount": 2000,
                "currency": "GBP",
                "status": "failed",
                "created_at": at("2026-10-28"),
                "charge_date": date(2026, 11, 2),
            }
        ],
        mandates=[{"mandate_id": "MD1", "customer_id": "CU1"}],
        subscriptions=[{"subscription_id": "SB1", "provider": "gocardless", "customer_id": "CU1"}],
    )
    plan = run(data, date(2026, 11, 3))
    assert list(plan.actions["dedupe_key"]) == ["dunning:PM1:reminder_1:email"]
    assert str(plan.actions["invoice_id"].iloc[0]) == "<NA>"
    assert plan.actions["ladder"].tolist() == ["consumer_direct_debit"]
    (notice,) = plan.notices
    assert (notice.template, notice.locale, notice.payment_id) == (
        "dunning_debit_failed",
        "en",
        "PM1",
    )
    assert notice.send_after.isoformat() == "2026-11-03T09:00:00+00:00"  # 09:00 in London
    # Next month's regular collection on the same subscription pays next month, not this
    # one: the failed debit is still chased.
    later = data.payments.copy()
    later.loc[1] = later.loc[0]
    later.loc[1, ["payment_id", "status", "created_at"]] = ["PM2", "succeeded", at("2026-11-04")]
    still = run(type(data)(**{**data.__dict__, "payments": later}), date(2026, 11, 5))
    assert still.actions["payment_id"].tolist() == ["PM1"]
    # A one-off payment of the same amount by the same customer (collected again by hand)
    # ends it.
    later.loc[1, "subscription_id"] = None
    settled = run(type(data)(**{**data.__dict__, "payments": later}), date(2026, 11, 5))
    assert settled.actions.empty


def test_below_threshold_is_left_alone() -> None:
    data = inputs(
        customers=[customer("cus_1")], invoices=[invoice("in_1", "cus_1", 499, "2026-11-01")]
    )
    plan = run(data, date(2026, 11, 2))
    assert plan.actions.empty
    assert skipped(plan) == [("in_1", "below_threshold")]
