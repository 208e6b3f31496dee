"""The dunning mails: every template in both languages, personalised, lawful."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from domain.notice import Notice
from templates.render import render, template_exists
from tests.domain.dunning.build import POLICY, as_history, at, customer, inputs, invoice, run

CONSUMER_LADDERS = {s.ladder for s in POLICY.segments if s.when.business is not True}
CONSUMER_TEMPLATES = sorted(
    {
        step.template
        for name in CONSUMER_LADDERS
        for step in POLICY.ladders[name].steps
        if step.template
    }
)
ALL_TEMPLATES = sorted(
    {s.template for ladder in POLICY.ladders.values() for s in ladder.steps if s.template}
)
# Words that would charge or threaten a consumer with fees (CPCE L111-8), in both languages.
FEE_WORDS = re.compile(
    r"\bfees?\b|penalt|indemnit|interest|compensation|L441|D441|"
    r"\bfrais\b|pénalit|intérêt|40,00|40\.00",
    re.IGNORECASE,
)


def _notices() -> list[Notice]:
    """Real notices from the decisions: every stage of every default ladder."""
    found: list[Notice] = []
    people = [
        customer("cus_c", name="Léa <Martin>"),
        customer("cus_e", country="GB", locale="en", name=None),
        customer("cus_b", is_business=True),
        customer("cus_d", country="DE", locale="en", is_business=True),
        customer("CU1", country="FR", locale="fr"),
    ]
    invoices = [
        invoice("in_c", "cus_c", 124990, "2026-10-01", subscription_id="sub_c"),
        invoice("in_e", "cus_e", 7000, "2026-10-01"),
        invoice("in_b", "cus_b", 120000, "2026-10-01", is_business=True),
        invoice("in_d", "cus_d", 80000, "2026-10-01", is_business=True),
    ]
    failed = {
        "payment_id": "PM1",
        "provider": "gocardless",
        "customer_id": "CU1",
        "subscription_id": "SB1",
        "mandate_id": "MD1",
        "amount": 9900,
        "status": "failed",
        "created_at": at("2026-09-28"),
        "charge_date": date(2026, 10, 1),
    }
    history: list[dict[str, Any]] = []
    for day in (-3, 1, 7, 10, 15, 20, 30, 35):
        data = inputs(
            customers=people,
            invoices=invoices,
            payments=[failed],
            subscriptions=[{"subscription_id": "sub_c", "customer_id": "cus_c"}],
            mandates=[{"mandate_id": "MD1", "customer_id": "CU1"}],
            history=history,
        )
        night = date.fromordinal(date(2026, 10, 1).toordinal() + day)
        plan = run(data, night)
        history += as_history(plan, night)
        found += plan.notices
    return found


NOTICES = _notices()


def test_every_template_of_the_policy_exists_in_french_and_english() -> None:
    missing = [
        (name, locale)
        for name in ALL_TEMPLATES
        for locale in ("fr", "en")
        if not template_exists(name, locale)
    ]
    assert missing == []
    assert {n.template for n in NOTICES} == set(ALL_TEMPLATES)


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_every_notice_renders_personalised_in_both_languages(locale: str) -> None:
    for notice in NOTICES:
        out = render(notice.template, locale, notice.context)
        context = notice.context
        assert out.subject
        assert "\n" not in out.subject
        for part in (out.text, out.html):
            assert context["pay_url"] in part, notice.dedupe_key
            if context["invoice_number"]:
                assert context["invoice_number"] in part
        if context["customer_name"] == "Léa <Martin>":
            assert "Léa &lt;Martin&gt;" in out.html
            assert "Léa <Martin>" in out.text


def test_amounts_and_dates_follow_the_language() -> None:
    (notice,) = [n for n in NOTICES if n.dedupe_key == "dunning:in_c:reminder_1"]
    fr = render(notice.template, "fr", notice.context)
    en = render(notice.template, "en", notice.context)
    assert "1\u202f249,90\xa0€" in fr.text
    assert "1er octobre 2026" in fr.text
    assert "€1,249.90" in en.text
    assert "1 October 2026" in en.text


@pytest.mark.parametrize("locale", ["fr", "en"])
@pytest.mark.parametrize("template", CONSUMER_TEMPLATES)
def test_consumer_mails_never_mention_fees(template: str, locale: str) -> None:
    """Even handed the business legal terms, a consumer template does not show them."""
    (sample,) = [n for n in NOTICES if n.dedupe_key == "dunning:in_b:late_fees"]
    context: dict[str, Any] = {
        **sample.context,
        "is_business": False,
        "offers": [
            {"kind": "direct_debit", "url": "https://pay.example.com/dd"},
            {
                "kind": "instalments",
                "url": "https://pay.example.com/i",
                "count": 3,
                "amounts": [40000, 40000, 40000],
            },
        ],
        "actions": ["email", "suspend"],
        "next_actions": ["suspend", "cancel_at_period_end"],
        "formal_notice": {"deadline_on": "2026-11-08"},
    }
    for item in ({}, {"invoice_number": None}):
        out = render(template, locale, {**context, **item})
        for part in (out.subject, out.text, out.html):
            assert FEE_WORDS.search(part) is None, (template, locale, FEE_WORDS.search(part))


def test_consumer_notices_as_decided_never_mention_fees() -> None:
    consumers = [n for n in NOTICES if not n.context["is_business"]]
    assert consumers
    for notice in consumers:
        for locale in ("fr", "en"):
            out = render(notice.template, locale, notice.context)
            assert FEE_WORDS.search(out.text + out.html + out.subject) is None


def test_french_business_notices_carry_the_dated_rate_and_the_indemnity() -> None:
    french = [n for n in NOTICES if n.customer_id == "cus_b"]
    assert {n.template for n in french} == {
        "dunning_b2b_upcoming",
        "dunning_b2b_reminder_1",
        "dunning_b2b_reminder_2",
        "dunning_b2b_late_fee",
        "dunning_b2b_formal_notice",
    }
    for notice in french:
        fr = render(notice.template, "fr", notice.context)
        en = render(notice.template, "en", notice.context)
        for part in (fr.text, fr.html):
            assert "L441-10" in part
            assert "12,4\xa0%" in part
            assert "40,00\xa0€" in part
        for part in (en.text, en.html):
            assert "L441-10" in part
            assert "12.4%" in part
            assert "€40.00" in part
    (late,) = [n for n in french if n.template == "dunning_b2b_late_fee"]
    # 120000 × 12.40 % × 15 / 365 = 611.51 -> 6,12 € of penalties so far.
    assert (
        "pénalités de retard s'élèvent à 6,12\xa0€"
        in render(late.template, "fr", late.context).text
    )


def test_the_rate_stated_is_the_one_of_the_half_year() -> None:
    data = inputs(
        customers=[customer("cus_b", is_business=True)],
        invoices=[invoice("in_b", "cus_b", 120000, "2026-03-01", is_business=True)],
    )
    (notice,) = run(data, date(2026, 3, 2)).notices
    assert "12,15\xa0%" in render(notice.template, "fr", notice.context).text


def test_the_formal_notices_say_so() -> None:
    business = [n for n in NOTICES if n.template == "dunning_b2b_formal_notice"]
    consumer = [n for n in NOTICES if n.template == "dunning_final_notice"]
    assert business
    assert consumer
    for notice in business + consumer:
        fr = render(notice.template, "fr", notice.context)
        en = render(notice.template, "en", notice.context)
        assert fr.subject.startswith("Mise en demeure de payer")
        assert "en demeure de" in fr.text
        assert en.subject.startswith("Formal notice to pay")
        assert "formal notice to pay" in en.text
        deadline = date.fromisoformat(notice.context["formal_notice"]["deadline_on"])
        assert deadline == notice.planned_for.fromordinal(notice.planned_for.toordinal() + 8)
        assert f"{deadline.day} novembre 2026" in fr.text
