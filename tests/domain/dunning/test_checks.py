"""What stops or narrows an action: hard declines, GoCardless rules, exclusions, law."""

from __future__ import annotations

from datetime import date

from domain.dunning import parse_late_payment_rates

from .build import actions, as_history, at, customer, inputs, invoice, run, skipped


def _card_failure(decline: str, **more: object) -> dict:
    return {
        "payment_id": "ch_1",
        "customer_id": "cus_1",
        "invoice_id": "in_1",
        "amount": 4990,
        "failure_code": "card_declined",
        "decline_code": decline,
        "payment_method_type": "card",
        "created_at": at("2026-11-01"),
        **more,
    }


def _card_invoice(**more: object) -> dict:
    return invoice(
        "in_1", "cus_1", 4990, "2026-11-01", collection_method="charge_automatically", **more
    )


def test_a_hard_decline_is_never_retried_but_the_customer_is_told() -> None:
    data = inputs(
        customers=[customer("cus_1")],
        invoices=[_card_invoice()],
        payments=[_card_failure("stolen_card")],
    )
    plan = run(data, date(2026, 11, 2))
    assert actions(plan) == [("in_1", "reminder_1", "email")]
    assert skipped(plan) == [("in_1", "hard_decline")]
    # Seven days later, still no retry; the e-mail of the next step goes.
    later = inputs(
        customers=[customer("cus_1")],
        invoices=[_card_invoice()],
        payments=[_card_failure("stolen_card")],
        history=as_history(plan, date(2026, 11, 2)),
    )
    assert ("in_1", "reminder_2", "retry_payment") not in actions(run(later, date(2026, 11, 8)))


def test_an_expired_card_reported_as_failure_code_is_a_hard_decline_too() -> None:
    data = inputs(
        customers=[customer("cus_1")],
        invoices=[_card_invoice()],
        payments=[_card_failure(None, failure_code="expired_card")],
    )
    assert skipped(run(data, date(2026, 11, 2))) == [("in_1", "hard_decline")]


def test_a_soft_decline_is_retried_with_the_failed_charge() -> None:
    data = inputs(
        customers=[customer("cus_1")],
        invoices=[_card_invoice()],
        payments=[_card_failure("insufficient_funds")],
    )
    plan = run(data, date(2026, 11, 2))
    retry = plan.actions[plan.actions["action"] == "retry_payment"]
    assert retry[["payment_id", "idempotency_key"]].values.tolist() == [
        ["ch_1", "dunning:in_1:reminder_1:retry_payment"]
    ]


# GoCardless: PM1 failed, collected on Tuesday 3 November 2026 (the item's day).
def _gc(status: str = "failed", mandate: str = "active", history: list | None = None):
    return inputs(
        customers=[customer("CU1")],
        payments=[
            {
                "payment_id": "PM1",
                "provider": "gocardless",
                "customer_id": "CU1",
                "subscription_id": "SB1",
                "mandate_id": "MD1",
                "amount": 3000,
                "status": status,
                "payment_method_type": "sepa_debit",
                "created_at": at("2026-10-29"),
                "charge_date": date(2026, 11, 3),
            }
        ],
        mandates=[{"mandate_id": "MD1", "customer_id": "CU1", "status": mandate}],
        subscriptions=[{"subscription_id": "SB1", "provider": "gocardless", "customer_id": "CU1"}],
        history=history or [],
    )


def test_gocardless_retry_on_a_business_day() -> None:
    first = run(_gc(), date(2026, 11, 4))  # J+1: the e-mail that the debit was returned
    assert actions(first) == [("PM1", "reminder_1", "email")]
    assert first.notices[0].template == "dunning_debit_failed"
    history = as_history(first, date(2026, 11, 4))
    assert run(_gc(history=history), date(2026, 11, 6)).actions.empty  # J+3
    plan = run(_gc(history=history), date(2026, 11, 9))  # Monday J+6: retry_1 (J+4) is due
    assert actions(plan) == [("PM1", "retry_1", "retry_payment")]
    assert plan.actions["idempotency_key"].tolist() == ["dunning:PM1:retry_1:retry_payment"]


def test_gocardless_retry_waits_for_monday_and_does_not_repeat_the_email() -> None:
    # J+4 is Saturday 7 November: the retry waits.
    assert skipped(run(_gc(), date(2026, 11, 7))) == [("PM1", "not_a_retry_day")]
    assert skipped(run(_gc(), date(2026, 11, 8))) == [("PM1", "not_a_retry_day")]
    # reminder_2 (J+10) falls on Friday 13 November; take it on a Saturday instead:
    history = [
        {
            "dedupe_key": "dunning:PM1:retry_1:retry_payment",
            "as_of": date(2026, 11, 9),
            "payment_id": "PM1",
            "stage": "retry_1",
            "action": "retry_payment",
            "days_overdue": 6,
        }
    ]
    saturday = run(_gc(history=history), date(2026, 11, 14))  # J+11
    # (30,00 € is below the instalments minimum of 60,00 €: no instalment offer)
    assert actions(saturday) == [("PM1", "reminder_2", "email")]
    assert skipped(saturday) == [("PM1", "not_a_retry_day")]
    history += as_history(saturday, date(2026, 11, 14))
    assert actions(run(_gc(history=history), date(2026, 11, 15))) == []  # Sunday
    monday = run(_gc(history=history), date(2026, 11, 16))
    assert actions(monday) == [("PM1", "reminder_2", "retry_payment")]
    assert monday.notices == []


def test_gocardless_needs_an_active_mandate() -> None:
    plan = run(_gc(mandate="cancelled"), date(2026, 11, 9))
    assert plan.actions.empty
    assert skipped(plan) == [("PM1", "mandate_not_active")]


def test_gocardless_never_retries_a_chargeback() -> None:
    plan = run(_gc(status="charged_back"), date(2026, 11, 9))
    assert skipped(plan) == [("PM1", "payment_not_failed")]


def test_gocardless_stops_after_three_retries() -> None:
    history = [
        {
            "dedupe_key": f"dunning:PM1:earlier_{n}:retry_payment",
            "as_of": date(2026, 11, 4),
            "payment_id": "PM1",
            "stage": f"earlier_{n}",
            "action": "retry_payment",
            "days_overdue": 1,
        }
        for n in range(3)
    ]
    plan = run(_gc(history=history), date(2026, 11, 9))
    assert skipped(plan) == [("PM1", "retries_exhausted")]
    assert run(_gc(history=history[:2]), date(2026, 11, 9)).actions["action"].tolist() == [
        "retry_payment"
    ]


def test_open_dispute_excludes_the_customer_and_withdraws_waiting_notices() -> None:
    data = inputs(
        customers=[customer("cus_1")],
        invoices=[invoice("in_1", "cus_1", 4990, "2026-11-01")],
        payments=[
            {
                "payment_id": "ch_old",
                "customer_id": "cus_1",
                "amount": 1000,
                "status": "disputed",
                "created_at": at("2026-09-01"),
            }
        ],
        disputes=[{"dispute_id": "dp_1", "payment_id": "ch_old", "status": "needs_response"}],
        pending_notices=[{"dedupe_key": "dunning:in_1:upcoming", "invoice_id": "in_1"}],
    )
    plan = run(data, date(2026, 11, 2))
    assert plan.actions.empty
    assert skipped(plan) == [("in_1", "dispute_open")]
    assert plan.cancellations["reason"].tolist() == ["dispute_open"]
    won = data.disputes.assign(status="won")
    assert not run(
        type(data)(**{**data.__dict__, "disputes": won}), date(2026, 11, 2)
    ).actions.empty


def test_promise_to_pay_holds_until_its_date_then_only_the_latest_step_fires() -> None:
    hold = {"kind": "promise_to_pay", "customer_id": "cus_1", "invoice_id": "in_1"}
    data = inputs(
        customers=[customer("cus_1")],
        invoices=[invoice("in_1", "cus_1", 4990, "2026-11-01")],
        holds=[{**hold, "until_on": date(2026, 11, 20)}],
    )
    assert skipped(run(data, date(2026, 11, 8))) == [("in_1", "hold:promise_to_pay")]
    assert run(data, date(2026, 11, 20)).actions.empty
    after = run(data, date(2026, 11, 21))
    assert set(after.actions["stage"]) == {"suspension_warning"}


def test_a_lifted_or_other_invoice_hold_does_not_apply() -> None:
    data = inputs(
        customers=[customer("cus_1")],
        invoices=[invoice("in_1", "cus_1", 4990, "2026-11-01")],
        holds=[
            {"kind": "pause", "customer_id": "cus_1", "invoice_id": "in_9"},
            {"kind": "pause", "customer_id": "cus_1", "lifted_at": at("2026-11-01")},
        ],
    )
    assert set(run(data, date(2026, 11, 2)).actions["action"]) == {"email"}


def test_opt_out_stops_every_mail_but_keeps_the_retry() -> None:
    data = inputs(
        customers=[customer("cus_1")],
        invoices=[_card_invoice()],
        payments=[_card_failure("insufficient_funds")],
        holds=[{"kind": "opt_out", "customer_id": "cus_1"}],
        pending_notices=[{"dedupe_key": "dunning:in_1:upcoming", "invoice_id": "in_1"}],
    )
    plan = run(data, date(2026, 11, 2))
    assert actions(plan) == [("in_1", "reminder_1", "retry_payment")]
    assert plan.notices == []
    assert skipped(plan) == [("in_1", "hold:opt_out")]
    assert plan.cancellations["reason"].tolist() == ["hold:opt_out"]


def test_quarantined_objects_exclude_the_item() -> None:
    for parked in ("in_1", "cus_1", "ch_1"):
        data = inputs(
            customers=[customer("cus_1")],
            invoices=[_card_invoice()],
            payments=[_card_failure("insufficient_funds")],
            quarantined=[{"provider": "stripe", "object_type": "x", "object_id": parked}],
        )
        plan = run(data, date(2026, 11, 2))
        assert plan.actions.empty, parked
        assert skipped(plan) == [("in_1", "quarantined")]


def _b2b(country: str = "FR", locale: str = "fr"):
    return inputs(
        customers=[customer("cus_b", country=country, locale=locale, is_business=True)],
        invoices=[invoice("in_b", "cus_b", 120000, "2026-10-01", is_business=True)],
    )


def test_french_business_notices_state_the_rate_in_force_and_forty_euros() -> None:
    (notice,) = run(_b2b(), date(2026, 10, 2)).notices
    assert notice.template == "dunning_b2b_reminder_1"
    assert notice.context["legal"] == {
        "penalty_rate": "12.40",  # ECB 2.40 % on 1 July 2026 + 10 points
        "ecb_rate": "2.40",
        "margin_points": "10",
        "indemnity_amount": 4000,
        "indemnity_currency": "EUR",
    }
    assert notice.context["late_fee"] is None


def test_the_late_fee_step_claims_the_accrued_penalties() -> None:
    plan = run(_b2b(), date(2026, 10, 16))  # J+15
    assert ("in_b", "late_fees", "late_fee_notice") in actions(plan)
    (notice,) = plan.notices
    # 120000 × 12.40 % × 15 / 365 = 611.51 -> 612 cents (half up).
    assert notice.context["late_fee"] == {
        "penalty_amount": 612,
        "currency": "EUR",
        "days_late": 15,
        "indemnity_amount": 4000,
        "indemnity_currency": "EUR",
    }


def test_the_last_business_step_is_a_formal_notice_with_a_deadline() -> None:
    (notice,) = run(_b2b(), date(2026, 10, 31)).notices  # J+30
    assert notice.template == "dunning_b2b_formal_notice"
    assert notice.context["formal_notice"] == {"deadline_on": "2026-11-08"}


def test_business_outside_france_gets_no_french_penalty_terms() -> None:
    (notice,) = run(_b2b(country="DE", locale="en"), date(2026, 10, 2)).notices
    assert notice.context["legal"] is None
    assert notice.locale == "en"


def test_consumers_never_get_penalty_terms() -> None:
    data = inputs(
        customers=[customer("cus_1")],
        invoices=[invoice("in_1", "cus_1", 120000, "2026-10-01")],
    )
    for night in (date(2026, 10, 2), date(2026, 10, 16), date(2026, 10, 31)):
        plan = run(data, night)
        assert "late_fee_notice" not in set(plan.actions["action"])
        assert all(
            n.context["legal"] is None and n.context["late_fee"] is None for n in plan.notices
        )


def test_a_missing_rate_holds_back_french_business_notices_only() -> None:
    rates = parse_late_payment_rates(
        'penalty_margin_points: "10"\nfixed_indemnity: {amount: 4000, currency: EUR}\n'
        'ecb_refinancing:\n  - {from: 2026-01-01, rate: "2.15"}\n'
    )
    plan = run(_b2b(), date(2026, 10, 2), rates=rates)
    assert plan.notices == []
    assert skipped(plan) == [("in_b", "missing_late_payment_rate"), ("in_b", "nothing_to_retry")]


def test_suspension_needs_a_live_stripe_subscription() -> None:
    base = dict(
        customers=[customer("cus_1")],
        invoices=[invoice("in_1", "cus_1", 4990, "2026-10-01", subscription_id="sub_1")],
    )
    live = inputs(**base, subscriptions=[{"subscription_id": "sub_1", "customer_id": "cus_1"}])
    plan = run(live, date(2026, 10, 31))  # J+30: final notice + suspend
    assert ("in_1", "final_notice", "suspend") in actions(plan)
    assert plan.notices[0].context["actions"] == ["email", "suspend"]
    gone = inputs(
        **base,
        subscriptions=[{"subscription_id": "sub_1", "customer_id": "cus_1", "status": "canceled"}],
    )
    plan = run(gone, date(2026, 10, 31))
    assert ("in_1", "final_notice", "suspend") not in actions(plan)
    assert ("in_1", "not_applicable:suspend") in skipped(plan)


def test_a_debt_older_than_the_limit_is_left_to_finance() -> None:
    data = inputs(
        customers=[customer("cus_1")],
        invoices=[invoice("in_1", "cus_1", 4990, "2026-01-05")],
        pending_notices=[{"dedupe_key": "dunning:in_1:closure", "invoice_id": "in_1"}],
    )
    plan = run(data, date(2026, 4, 5))  # 90 days: still chased (the closure step)
    assert set(plan.actions["stage"]) == {"closure"}
    plan = run(data, date(2026, 4, 6))  # 91 days
    assert plan.actions.empty
    assert skipped(plan) == [("in_1", "too_old")]
    assert plan.cancellations["reason"].tolist() == ["too_old"]
