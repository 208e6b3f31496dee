"""Customer-supplied text renders inert in every template, in French and English.

A customer's name, company, an invoice number, a plan or contract name, a carrier or a
reason come from the providers, where anyone can type anything. Each template kind
(dunning, renewal and shipment notices, the tax reminder to finance) is rendered from a
real decision's context with every text field it accepts replaced by markup and template
syntax; the HTML part must hold no live tag or attribute, and no part may evaluate the
template syntax (``{{ 12345*3 }}`` stays literal, never ``37035``).
"""

from __future__ import annotations

import json
import re
from datetime import date
from functools import cache
from html.parser import HTMLParser
from typing import Any

import pytest

from domain.notice import Notice
from domain.tax.reminders import due_reminders
from templates.render import LOCALES, Rendered, TemplateError, render
from tests.domain.notices.test_templates import NOTICES as NOTICE_NOTICES
from tests.templates.test_dunning_templates import NOTICES as DUNNING_NOTICES

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"
BREAKOUT = '" onmouseover="alert(3)'
EXPRESSION = "{{ 12345*3 }}"
STATEMENT = "{% if true %}EVALUATED{% endif %}"
HOSTILE = f"Léa {SCRIPT}{IMG}{BREAKOUT} {EXPRESSION} {STATEMENT}\r\nBcc: x@evil.example"
# Fields that always come from outside (provider objects): each must take any text.
CUSTOMER_TEXT = {
    "customer_name",
    "invoice_number",
    "plan",
    "contract",
    "carrier",
    "tracking_number",
    "order_id",
    "reason",
}


def _tax_notice() -> Notice:
    row = {
        "regime": "OSS",
        "period": "2026-Q3",
        "due_on": date(2026, 10, 31),
        "status": "open",
        "vat_due": 123456,
        "currency": "EUR",
    }
    (reminder,) = due_reminders([row], as_of=date(2026, 10, 28), reminder_days=(3,), locale="fr")
    return reminder.notice


def _one_per_template() -> list[Notice]:
    """One real notice per template (the first found), every kind covered."""
    found: dict[str, Notice] = {}
    for notice in [*DUNNING_NOTICES, *NOTICE_NOTICES, _tax_notice()]:
        found.setdefault(notice.template, notice)
    return [found[name] for name in sorted(found)]


NOTICES = _one_per_template()


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Where ``value`` holds text (keys and list indexes down to each string)."""
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [p for key, inner in value.items() for p in _paths(inner, (*path, key))]
    if isinstance(value, list):
        return [p for i, inner in enumerate(value) for p in _paths(inner, (*path, i))]
    return []


def _set(value: Any, path: tuple[Any, ...], new: str) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _set(value[path[0]], path[1:], new)
    return copy


@cache
def hostile(template: str, locale: str) -> tuple[Rendered, frozenset[str]]:
    """The template rendered with every text field that still renders replaced by
    :data:`HOSTILE` (a date or a currency code cannot be: the filters refuse it), and the
    top-level fields replaced. The context goes through JSON, as the outbox stores it."""
    notice = next(n for n in NOTICES if n.template == template)
    context: dict[str, Any] = json.loads(json.dumps(notice.context))
    replaced: set[str] = set()
    for path in _paths(context):
        attempt = _set(context, path, HOSTILE)
        try:
            render(template, locale, attempt)
        except TemplateError:
            continue
        context = attempt
        replaced.add(str(path[0]))
    return render(template, locale, context), frozenset(replaced)


class _Live(HTMLParser):
    """Tags and attributes a mail client would act on."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.handlers += [f"{tag} {name}" for name, _ in attrs if name.startswith("on")]


CASES = [(n.template, locale) for n in NOTICES for locale in LOCALES]


def test_every_kind_of_notice_is_covered() -> None:
    kinds = {n.kind for n in NOTICES}
    assert {"dunning", "tacit_renewal", "shipment_delay", "refund_overdue"} <= kinds
    assert "tax_deadline" in kinds
    assert len(NOTICES) == 22  # 12 dunning + 9 notices (with the finance item) + tax


@pytest.mark.parametrize(("template", "locale"), CASES)
def test_html_part_holds_no_live_markup(template: str, locale: str) -> None:
    out, replaced = hostile(template, locale)
    assert replaced  # the template does show outside text...
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out.html  # ...escaped, as text
    live = _Live()
    live.feed(out.html)
    assert not live.tags & {"script", "img"}
    assert live.handlers == []
    assert BREAKOUT not in out.html  # a quote cannot close an attribute


@pytest.mark.parametrize(("template", "locale"), CASES)
def test_no_part_evaluates_template_syntax_from_data(template: str, locale: str) -> None:
    out, _ = hostile(template, locale)
    for part in (out.subject, out.text, out.html):
        assert "37035" not in part
        # (a template may upper-case a field: the literal statement is then upper-case)
        assert "EVALUATED" not in re.sub(re.escape(STATEMENT), "", part, flags=re.IGNORECASE)
    assert EXPRESSION in out.text
    assert STATEMENT in out.text


@pytest.mark.parametrize(("template", "locale"), CASES)
def test_the_subject_stays_one_line(template: str, locale: str) -> None:
    out, _ = hostile(template, locale)
    assert not {"\r", "\n"} & set(out.subject)


@pytest.mark.parametrize(("template", "locale"), CASES)
def test_customer_text_fields_take_any_text(template: str, locale: str) -> None:
    """A provider's free text never breaks a render: every such field was replaced."""
    notice = next(n for n in NOTICES if n.template == template)
    present = {k for k, v in notice.context.items() if k in CUSTOMER_TEXT and v is not None}
    _, replaced = hostile(template, locale)
    assert present <= replaced
