"""Every notice kind renders in French and English from the context its decision gives
(through JSON, as the outbox stores it), and says what the law asks it to say."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from domain.notice import Notice
from domain.notices import plan as p
from templates.render import render, template_exists
from tests.domain.notices.build import (
    POLICY,
    customers,
    mandates,
    paris,
    payments,
    shipments,
    subscriptions,
)


def renewal_side() -> list[Notice]:
    subs = subscriptions(
        {
            "subscription_id": "sub_T",
            "tacit_renewal": True,
            "notice_days": 30,
            "contract": "annual_plan",
            "current_period_end": paris("2026-09-19", 3),
        },
        {
            "subscription_id": "sub_L",
            "tacit_renewal": True,
            "notice_days": 30,
            "amount": None,
            "current_period_end": paris("2026-07-23"),
        },
        {
            "subscription_id": "sub_TR",
            "status": "trialing",
            "interval": "month",
            "trial_end": paris("2026-07-04", 16),
            "current_period_end": paris("2026-07-04", 16),
        },
        {
            "subscription_id": "sub_C",
            "interval": "month",
            "current_period_end": paris("2026-07-16", 10),
            "card_brand": "visa",
            "card_last4": "4242",
            "card_exp_month": 6,
            "card_exp_year": 2026,
            "payment_method_id": "pm_1",
        },
        {
            "subscription_id": "SB1",
            "provider": "gocardless",
            "interval": "month",
            "mandate_id": "MD1",
            "current_period_end": paris("2026-07-18"),
        },
    )
    frames = p.RenewalFrames(subs, customers(), mandates({"mandate_id": "MD1", "status": "failed"}))
    return list(p.plan_renewal_notices(frames, date(2026, 6, 30), POLICY).notices)


def shipment_side() -> list[Notice]:
    parcels = shipments(
        {"tracking_id": "T1", "order_id": "ORD-1", "expected_delivery_on": date(2026, 7, 1)},
        {
            "tracking_id": "T2",
            "order_id": "ORD-1",
            "status": "exception",
            "subtag": "Exception_007",
            "updated_at": paris("2026-07-02", 9),
        },
        {
            "tracking_id": "T3",
            "order_id": "ORD-1",
            "status": "attempt_fail",
            "updated_at": paris("2026-07-02", 9),
        },
        {
            "tracking_id": "T4",
            "order_id": "ORD-2",
            "status": "delivered",
            "delivered_at": paris("2026-06-22", 10),
        },
        {
            "tracking_id": "R5",
            "order_id": "ORD-3",
            "direction": "return",
            "status": "delivered",
            "delivered_at": paris("2026-06-10", 10),
        },
    )
    paid = payments(
        *(
            {"payment_id": f"ch_{n}", "order_id": f"ORD-{n}", "customer_id": "cus_1"}
            for n in (1, 2, 3)
        )
    )
    frames = p.ShipmentFrames(parcels, customers(), payments=paid)
    return list(p.plan_shipment_notices(frames, date(2026, 7, 3), POLICY).notices)


NOTICES = renewal_side() + shipment_side()


def test_the_cases_cover_every_kind_and_template() -> None:
    assert {n.kind for n in NOTICES} == set(p.RENEWAL_KINDS) | set(p.SHIPMENT_KINDS)
    assert {n.template for n in NOTICES} == {
        *p.RENEWAL_KINDS,
        *p.SHIPMENT_KINDS,
        "tacit_renewal_unnoticed",
    }


@pytest.mark.parametrize("locale", ["fr", "en"])
@pytest.mark.parametrize("notice", NOTICES, ids=lambda n: n.dedupe_key)
def test_every_notice_renders(notice: Notice, locale: str) -> None:
    assert template_exists(notice.template, locale)
    context = json.loads(json.dumps(notice.context, default=str))
    mail = render(notice.template, locale, context)
    assert mail.subject
    assert "\n" not in mail.subject
    assert "{{" not in mail.text + mail.html
    assert "None" not in mail.subject + mail.text
    assert mail.html.lstrip().startswith("<!DOCTYPE html>")


def _spaces(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


def _one(kind: str, audience: str = "customer") -> Notice:
    return next(n for n in NOTICES if n.kind == kind and n.audience == audience)


def test_the_tacit_renewal_notice_boxes_the_deadline_and_links_the_cancellation() -> None:
    notice = _one("tacit_renewal")
    fr = render(notice.template, "fr", notice.context)
    en = render(notice.template, "en", notice.context)
    # renewal 19 September 2026, 30 days' notice: refuse by 20 August
    assert "20 août 2026" in fr.subject
    assert "19 septembre 2026" in fr.subject
    box = re.search(r"border:2px solid[^>]*>.*?</table>", fr.html, re.S)
    assert box is not None
    assert "Date limite pour refuser la reconduction : 20 août 2026" in box[0]
    assert "DATE LIMITE POUR REFUSER LA RECONDUCTION : 20 août 2026" in fr.text
    assert "Résilier votre contrat" in fr.html
    assert "https://shop.example.com/account" in fr.html
    assert "L215-1" in fr.text
    assert "Deadline to refuse the renewal: 20 August 2026" in en.html
    assert "390,00 € par an" in _spaces(fr.text)  # Babel's narrow no-break space
    assert "€390.00 per year" in en.text


def test_finance_items_carry_ids_and_law_not_addresses() -> None:
    late = _one("tacit_renewal", "finance")
    overdue = _one("refund_overdue", "finance")
    assert late.context["notice_status"] == "none"
    assert late.context["amount"] is None
    for notice in (late, overdue):
        mail = render(notice.template, "fr", notice.context)
        assert "@" not in mail.text + mail.subject
    assert "L221-24" in render(overdue.template, "fr", overdue.context).text
    text = render(overdue.template, "en", overdue.context).text
    assert "refund due by: 24 June 2026 (9 days late)" in text
