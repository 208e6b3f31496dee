"""Tacit renewals (L215-1) and upcoming renewals, night by night over months."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

from domain.notices import plan as p
from domain.notices.common import notice_id
from domain.notices.policy import NoticePolicy, TacitRenewalRule
from tests.domain.notices.build import (
    POLICY,
    customers,
    outbox,
    paris,
    queued_on,
    register,
    simulate_renewals,
    subscriptions,
)

TACIT = {
    "subscription_id": "sub_T",
    "tacit_renewal": True,
    "notice_days": 30,
    "contract": "annual_plan",
    # 00:09 in Paris on 19 January 2027: the renewal day is the 19th
    "current_period_end": paris("2027-01-19", 0, 9),
}


def test_tacit_renewal_notice_once_on_the_first_day_of_the_legal_window() -> None:
    """Renewal 19 Jan 2027, 30 days' notice: deadline 20 Dec 2026, window 20 Sep .. 20 Nov."""
    nights, box = simulate_renewals(subscriptions(TACIT), date(2026, 8, 1), date(2027, 2, 15))

    assert queued_on(nights) == {
        "tacit_renewal:sub_T:2027-01-19": date(2026, 9, 20),
        "upcoming_renewal:sub_T:2027-01-19:30": date(2026, 12, 20),
        "upcoming_renewal:sub_T:2027-01-19:7": date(2027, 1, 12),
    }
    notice = box.rows["tacit_renewal:sub_T:2027-01-19"]
    assert (notice.customer_id, notice.subscription_id, notice.locale) == ("cus_1", "sub_T", "fr")
    assert notice.context["deadline_on"] == "2026-12-20"
    assert notice.context["renewal_on"] == "2027-01-19"
    assert notice.context["cancel_url"] == "https://shop.example.com/account"
    assert box.exceptions == {}  # it went out in time: nothing for finance


def test_the_window_edges_exactly_three_months_and_exactly_one_month() -> None:
    frames = p.RenewalFrames(subscriptions(TACIT), customers())

    def tacit_on(day: date) -> list[str]:
        plan = p.plan_renewal_notices(frames, day, POLICY)
        return [n.dedupe_key for n in plan.notices if n.kind == "tacit_renewal"]

    assert tacit_on(date(2026, 9, 19)) == []
    assert tacit_on(date(2026, 9, 20)) == ["tacit_renewal:sub_T:2027-01-19"]
    # first seen on the last day of the window: still in time
    assert tacit_on(date(2026, 11, 20)) == ["tacit_renewal:sub_T:2027-01-19"]
    # one day later only finance hears of it
    late = p.plan_renewal_notices(frames, date(2026, 11, 21), POLICY)
    assert [(n.kind, n.audience, n.stage) for n in late.notices] == [
        ("tacit_renewal", "finance", "unnoticed")
    ]


def test_the_renewal_day_is_the_paris_date() -> None:
    """23:30 UTC on 31 December is 1 January in Paris: deadline 1 January (no notice
    period), window 1 October .. 1 December."""
    sub = {**TACIT, "notice_days": 0, "current_period_end": paris("2027-01-01", 0, 30)}
    nights, _ = simulate_renewals(subscriptions(sub), date(2026, 9, 25), date(2026, 10, 5))

    assert queued_on(nights) == {"tacit_renewal:sub_T:2027-01-01": date(2026, 10, 1)}


def test_month_end_and_leap_year_deadlines() -> None:
    # deadline 31 May 2028 (renewal 30 June, 30 days): 29 Feb is 3 months before 29 May
    # only, so the window opens on 1 March
    end_of_may = {**TACIT, "current_period_end": paris("2028-06-30", 10)}
    nights, _ = simulate_renewals(subscriptions(end_of_may), date(2028, 2, 25), date(2028, 3, 3))
    assert queued_on(nights) == {"tacit_renewal:sub_T:2028-06-30": date(2028, 3, 1)}

    # deadline 29 May 2028 (no notice period): 29 February is exactly 3 months before
    leap = {**TACIT, "notice_days": 0, "current_period_end": paris("2028-05-29", 10)}
    nights, _ = simulate_renewals(subscriptions(leap), date(2028, 2, 25), date(2028, 3, 3))
    assert queued_on(nights) == {"tacit_renewal:sub_T:2028-05-29": date(2028, 2, 29)}

    # deadline 31 March 2027: the window closes on 28 February, the last day in time
    march = {**TACIT, "notice_days": 0, "current_period_end": paris("2027-03-31", 10)}
    frames = p.RenewalFrames(subscriptions(march), customers())
    on_28 = p.plan_renewal_notices(frames, date(2027, 2, 28), POLICY)
    on_1 = p.plan_renewal_notices(frames, date(2027, 3, 1), POLICY)
    assert [n.audience for n in on_28.notices if n.kind == "tacit_renewal"] == ["customer"]
    assert [n.audience for n in on_1.notices if n.kind == "tacit_renewal"] == ["finance"]


def test_a_contract_found_after_its_window_is_listed_once_for_finance() -> None:
    """Renewal 23 July 2026, 30 days' notice: the window closed on 23 May."""
    sub = {**TACIT, "current_period_end": paris("2026-07-23"), "provider": "gocardless"}
    nights, box = simulate_renewals(subscriptions(sub), date(2026, 6, 30), date(2026, 7, 25))

    key = "tacit_renewal_unnoticed:sub_T:2026-07-23"
    assert {k: d for k, d in queued_on(nights).items() if k.startswith("tacit")} == {
        key: date(2026, 6, 30)
    }
    item = box.rows[key]
    assert (item.kind, item.audience, item.stage, item.template, item.locale) == (
        "tacit_renewal",
        "finance",
        "unnoticed",
        "tacit_renewal_unnoticed",
        "fr",
    )
    assert item.context["notice_status"] == "none"
    assert item.context["window_to"] == "2026-05-23"
    (row,) = box.exceptions.values()
    assert row["exception_id"] == notice_id(key)
    assert (row["kind"], row["event_on"], row["due_on"]) == (
        "tacit_renewal_unnoticed",
        date(2026, 7, 23),
        date(2026, 5, 23),
    )
    assert (row["first_seen_on"], row["last_seen_on"]) == (date(2026, 6, 30), date(2026, 7, 22))
    assert (row["status"], row["closed_on"], row["outcome"]) == (
        "closed",
        date(2026, 7, 23),
        "renewed_without_notice",
    )


def test_a_notice_that_failed_is_not_a_notice_given() -> None:
    frames = p.RenewalFrames(
        subscriptions(TACIT),
        customers(),
        outbox=outbox({"tacit_renewal:sub_T:2027-01-19": "failed"}),
    )
    plan = p.plan_renewal_notices(frames, date(2026, 11, 21), POLICY)
    (item,) = [n for n in plan.notices if n.kind == "tacit_renewal"]
    assert (item.audience, item.context["notice_status"]) == ("finance", "failed")

    sent = replace(frames, outbox=outbox({"tacit_renewal:sub_T:2027-01-19": "sent"}))
    assert [
        n
        for n in p.plan_renewal_notices(sent, date(2026, 11, 21), POLICY).notices
        if n.kind == "tacit_renewal"
    ] == []


def test_open_exceptions_close_with_what_happened() -> None:
    key = "tacit_renewal_unnoticed:sub_T:2027-01-19"
    stored = register(
        [
            {
                "exception_id": notice_id(key),
                "kind": "tacit_renewal_unnoticed",
                "subscription_id": "sub_T",
                "customer_id": "cus_1",
                "event_on": date(2027, 1, 19),
                "due_on": date(2026, 11, 20),
                "first_seen_on": date(2026, 11, 21),
                "last_seen_on": date(2026, 11, 30),
                "status": "open",
            }
        ]
    )
    as_of = date(2026, 12, 1)
    sent_late = p.RenewalFrames(
        subscriptions(TACIT),
        customers(),
        outbox=outbox({"tacit_renewal:sub_T:2027-01-19": "sent"}),
        register=stored,
    )
    (row,) = p.plan_renewal_notices(sent_late, as_of, POLICY).register
    assert (row["status"], row["closed_on"], row["outcome"]) == (
        "closed",
        as_of,
        "notice_sent_late",
    )

    cancelled = p.RenewalFrames(
        subscriptions({**TACIT, "cancel_at_period_end": True}), customers(), register=stored
    )
    plan = p.plan_renewal_notices(cancelled, as_of, POLICY)
    (row,) = plan.register
    assert (row["status"], row["outcome"]) == ("closed", "cancelled")
    assert plan.register_tally == {"opened": 0, "still_open": 0, "closed": 1}

    still = p.RenewalFrames(subscriptions(TACIT), customers(), register=stored)
    plan = p.plan_renewal_notices(still, as_of, POLICY)
    (row,) = plan.register
    assert (row["status"], row["first_seen_on"], row["last_seen_on"]) == (
        "open",
        date(2026, 11, 21),
        as_of,
    )
    assert json.loads(row["details"])["notice_status"] == "none"


def test_cancelled_or_ending_contracts_get_nothing() -> None:
    for change in (
        {"status": "canceled"},
        {"cancel_at_period_end": True},
        {"cancel_at": paris("2027-01-19")},
        {"status": "paused"},
    ):
        nights, box = simulate_renewals(  # the window, and the nights just after it
            subscriptions({**TACIT, **change}), date(2026, 9, 19), date(2026, 11, 23)
        )
        assert queued_on(nights) == {}, change
        assert box.exceptions == {}, change


def test_businesses_only_when_the_policy_includes_them() -> None:
    pro = customers({"customer_id": "cus_1", "is_business": True, "locale": "en", "country": "DE"})
    maintenance = {**TACIT, "contract": "maintenance", "amount": 120000}
    nights, box = simulate_renewals(
        subscriptions(maintenance), date(2026, 9, 20), date(2026, 9, 20), people=pro
    )
    assert box.rows["tacit_renewal:sub_T:2027-01-19"].locale == "en"

    strict = replace(POLICY, tacit_renewal=TacitRenewalRule(include_businesses=False))
    nights, _ = simulate_renewals(
        subscriptions(maintenance), date(2026, 9, 20), date(2026, 11, 30), people=pro, policy=strict
    )
    assert [k for k in queued_on(nights) if k.startswith("tacit")] == []


def test_a_quarantined_subscription_is_withheld() -> None:
    frames = p.RenewalFrames(subscriptions(TACIT), customers(), quarantined=frozenset({"sub_T"}))
    plan = p.plan_renewal_notices(frames, date(2026, 9, 20), POLICY)
    assert plan.notices == ()
    assert [n.dedupe_key for n in plan.held] == ["tacit_renewal:sub_T:2027-01-19"]


def test_a_missing_notice_period_takes_the_policy_default() -> None:
    sub = {**TACIT, "notice_days": None}
    frames = p.RenewalFrames(subscriptions(sub), customers())
    policy = replace(POLICY, tacit_renewal=TacitRenewalRule(default_notice_days=15))
    (notice,) = [
        n
        for n in p.plan_renewal_notices(frames, date(2026, 10, 4), policy).notices
        if n.kind == "tacit_renewal"
    ]  # deadline 4 January 2027, window from 4 October
    assert notice.context["deadline_on"] == "2027-01-04"
    assert p.plan_renewal_notices(frames, date(2026, 10, 3), policy).notices == ()


def test_upcoming_renewals_only_for_annual_plans_still_renewing() -> None:
    monthly = {
        "subscription_id": "sub_M",
        "interval": "month",
        "current_period_end": paris("2026-07-16", 10),
    }
    annual = {"subscription_id": "sub_Y", "current_period_end": paris("2026-08-31", 10)}
    trial = {**annual, "subscription_id": "sub_TR", "status": "trialing"}
    nights, _ = simulate_renewals(
        subscriptions(monthly, annual, trial), date(2026, 7, 1), date(2026, 9, 5)
    )
    assert queued_on(nights) == {
        "upcoming_renewal:sub_Y:2026-08-31:30": date(2026, 8, 1),
        "upcoming_renewal:sub_Y:2026-08-31:7": date(2026, 8, 24),
    }


def test_a_renewal_first_seen_inside_the_last_stage_sends_only_that_stage() -> None:
    annual = {"subscription_id": "sub_Y", "current_period_end": paris("2026-08-31", 10)}
    nights, _ = simulate_renewals(subscriptions(annual), date(2026, 8, 26), date(2026, 8, 31))
    assert queued_on(nights) == {"upcoming_renewal:sub_Y:2026-08-31:7": date(2026, 8, 26)}


def test_send_window_is_nine_in_paris_for_customers_and_at_once_for_finance() -> None:
    late = {**TACIT, "subscription_id": "sub_L", "current_period_end": paris("2026-07-23")}
    frames = p.RenewalFrames(subscriptions(TACIT, late), customers())
    plan = p.plan_renewal_notices(frames, date(2026, 9, 20), NoticePolicy())
    sends = {(n.kind, n.audience): n.send_after for n in plan.notices}
    assert sends[("tacit_renewal", "customer")] == paris("2026-09-20", 9)
    late_plan = p.plan_renewal_notices(frames, date(2026, 7, 1), NoticePolicy())
    assert {n.send_after for n in late_plan.notices if n.audience == "finance"} == {None}
