"""Trial endings, expiring cards and direct-debit mandate problems, night by night."""

from __future__ import annotations

from datetime import date

from domain.notices import plan as p
from tests.domain.notices.build import (
    POLICY,
    customers,
    mandates,
    paris,
    queued_on,
    simulate_renewals,
    subscriptions,
)

MONTHLY = {"interval": "month", "description": "Essentiel", "amount": 1900}


def test_trial_ending_once_seven_days_before() -> None:
    trial = {
        **MONTHLY,
        "subscription_id": "sub_TR",
        "status": "trialing",
        "trial_end": paris("2026-07-04", 16, 30),
        "current_period_end": paris("2026-07-04", 16, 30),
        "payment_method_id": "pm_1",
    }
    nights, box = simulate_renewals(subscriptions(trial), date(2026, 6, 20), date(2026, 7, 10))

    assert queued_on(nights) == {"trial_ending:sub_TR:2026-07-04:7": date(2026, 6, 27)}
    context = box.rows["trial_ending:sub_TR:2026-07-04:7"].context
    assert (context["trial_ends_on"], context["has_payment_method"]) == ("2026-07-04", True)


def test_a_trial_found_on_its_last_day_is_still_told_and_a_cancelled_one_never() -> None:
    trial = {
        **MONTHLY,
        "subscription_id": "sub_TR",
        "status": "trialing",
        "trial_end": paris("2026-07-04", 16, 30),
        "current_period_end": paris("2026-07-04", 16, 30),
    }
    nights, _ = simulate_renewals(subscriptions(trial), date(2026, 7, 4), date(2026, 7, 5))
    assert queued_on(nights) == {"trial_ending:sub_TR:2026-07-04:7": date(2026, 7, 4)}

    leaving = {**trial, "cancel_at_period_end": True}
    nights, _ = simulate_renewals(subscriptions(leaving), date(2026, 6, 20), date(2026, 7, 10))
    assert queued_on(nights) == {}


def test_card_expiring_before_the_next_charge_once() -> None:
    """Card 07/2026 works for the 16 July charge, not the 16 August one: notice on
    17 July, when that charge is 30 days away."""
    sub = {
        **MONTHLY,
        "subscription_id": "sub_C",
        "current_period_end": paris("2026-07-16", 10),
        "payment_method_id": "pm_1",
        "card_brand": "visa",
        "card_last4": "4242",
        "card_exp_month": 7,
        "card_exp_year": 2026,
    }
    nights, box = simulate_renewals(subscriptions(sub), date(2026, 6, 1), date(2026, 9, 30))

    assert queued_on(nights) == {"card_expiring:pm_1:2026-07": date(2026, 7, 17)}
    context = box.rows["card_expiring:pm_1:2026-07"].context
    assert (context["next_charge_on"], context["expires"], context["card_last4"]) == (
        "2026-08-16",
        "07/2026",
        "4242",
    )
    assert context["expired"] is False


def test_one_notice_per_card_and_none_for_invoiced_or_ending_subscriptions() -> None:
    card = {"payment_method_id": "pm_1", "card_exp_month": 6, "card_exp_year": 2026}
    base = {**MONTHLY, **card, "current_period_end": paris("2026-07-10", 10)}
    subs = subscriptions(
        {**base, "subscription_id": "sub_A"},
        {**base, "subscription_id": "sub_B"},
        {
            **base,
            "subscription_id": "sub_I",
            "payment_method_id": "pm_2",
            "collection_method": "send_invoice",
        },
        {**base, "subscription_id": "sub_X", "payment_method_id": "pm_3", "status": "canceled"},
    )
    plan = p.plan_renewal_notices(p.RenewalFrames(subs, customers()), date(2026, 7, 1), POLICY)
    cards = [n for n in plan.notices if n.kind == "card_expiring"]
    assert [(n.dedupe_key, n.subscription_id) for n in cards] == [
        ("card_expiring:pm_1:2026-06", "sub_A")
    ]
    assert cards[0].context["expired"] is True


def test_mandate_problem_on_an_active_direct_debit_subscription() -> None:
    sub = {
        **MONTHLY,
        "subscription_id": "SB1",
        "provider": "gocardless",
        "customer_id": "CU1",
        "mandate_id": "MD1",
        "mandate_status": "active",
        "current_period_end": paris("2026-07-18"),
    }
    people = customers({"customer_id": "CU1", "locale": "en", "country": "DE"})
    cancelled = mandates({"mandate_id": "MD1", "status": "cancelled"})
    nights, box = simulate_renewals(
        subscriptions(sub),
        date(2026, 7, 1),
        date(2026, 7, 31),
        people=people,
        mandate_rows=cancelled,
    )
    assert queued_on(nights) == {"mandate_problem:MD1:cancelled": date(2026, 7, 1)}
    notice = box.rows["mandate_problem:MD1:cancelled"]
    assert (notice.locale, notice.stage, notice.context["next_charge_on"]) == (
        "en",
        "cancelled",
        "2026-07-18",
    )


def test_the_mandates_table_is_fresher_than_the_subscription() -> None:
    sub = {
        **MONTHLY,
        "subscription_id": "SB1",
        "provider": "gocardless",
        "mandate_id": "MD1",
        "mandate_status": "cancelled",  # as it stood when the subscription was synced
        "current_period_end": paris("2026-07-18"),
    }
    active = p.RenewalFrames(subscriptions(sub), customers(), mandates({"mandate_id": "MD1"}))
    assert p.plan_renewal_notices(active, date(2026, 7, 1), POLICY).notices == ()

    unknown = p.RenewalFrames(subscriptions({**sub, "mandate_status": "expired"}), customers())
    (notice,) = p.plan_renewal_notices(unknown, date(2026, 7, 1), POLICY).notices
    assert notice.dedupe_key == "mandate_problem:MD1:expired"

    ended = p.RenewalFrames(
        subscriptions({**sub, "status": "cancelled"}),
        customers(),
        mandates({"mandate_id": "MD1", "status": "cancelled"}),
    )
    assert p.plan_renewal_notices(ended, date(2026, 7, 1), POLICY).notices == ()
