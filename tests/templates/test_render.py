"""The renderer: locale-aware money and dates, strict variables, escaped HTML, fallback."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from templates.render import TemplateError, render, resolve_locale, template_exists

PROBE = {
    "subject": "Invoice {{ number }}\n  for {{ name }}",
    "txt": "{{ amount | money(currency) }} due {{ due_on | day }} ({{ rate | percent }})",
    "html": '{% extends "_base.html.j2" %}{% block content %}<p>{{ name }}: '
    "{{ amount | money(currency) }}</p>{% endblock %}",
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    base = Path(__file__).resolve().parents[2] / "templates"
    for language in ("fr", "en"):
        (tmp_path / language).mkdir()
        layout = (base / language / "_base.html.j2").read_text(encoding="utf-8")
        (tmp_path / language / "_base.html.j2").write_text(layout, encoding="utf-8")
        for part, text in PROBE.items():
            (tmp_path / language / f"probe.{part}.j2").write_text(text, encoding="utf-8")
    return tmp_path


def _context(**changes: object) -> dict[str, object]:
    context: dict[str, object] = {
        "number": "F-42",
        "name": "Léa",
        "amount": 4990,
        "currency": "EUR",
        "due_on": "2026-11-26",
        "rate": "12.15",
    }
    context.update(changes)
    return context


def test_french_formats_money_dates_and_rates_the_french_way(folder: Path) -> None:
    out = render("probe", "fr", _context(), directory=folder)
    assert out.text == "49,90\xa0€ due 26 novembre 2026 (12,15\xa0%)\n"
    assert out.subject == "Invoice F-42 for Léa"
    assert '<html lang="fr">' in out.html


def test_english_formats_money_and_dates_the_british_way(folder: Path) -> None:
    out = render("probe", "en", _context(due_on=date(2026, 11, 6)), directory=folder)
    assert out.text == "€49.90 due 6 November 2026 (12.15%)\n"


def test_zero_decimal_currency_is_not_divided_by_a_hundred(folder: Path) -> None:
    out = render("probe", "en", _context(amount=4990, currency="jpy"), directory=folder)
    assert out.text.startswith("JP¥4,990 ")


def test_large_amount_keeps_every_cent(folder: Path) -> None:
    out = render("probe", "fr", _context(amount=123456789012345), directory=folder)
    assert out.text.startswith("1\u202f234\u202f567\u202f890\u202f123,45\xa0€")


def test_unknown_locale_falls_back_to_english(folder: Path) -> None:
    assert render("probe", "de", _context(), directory=folder).text.startswith("€49.90")
    assert resolve_locale("fr-BE") == "fr"
    assert resolve_locale(None) == "en"


def test_missing_variable_names_the_file_and_the_variable(folder: Path) -> None:
    context = _context()
    del context["number"]
    with pytest.raises(TemplateError, match=r"fr/probe\.subject\.j2: 'number' is undefined"):
        render("probe", "fr", context, directory=folder)


def test_html_is_escaped_and_text_is_not(folder: Path) -> None:
    out = render("probe", "en", _context(name="<b>Tom & Jerry</b>"), directory=folder)
    assert "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in out.html
    assert "<b>Tom & Jerry</b>" in out.subject


def test_float_money_is_refused(folder: Path) -> None:
    with pytest.raises(TemplateError, match="integer minor units"):
        render("probe", "en", _context(amount=49.9), directory=folder)


def test_missing_template_is_a_clear_error(folder: Path) -> None:
    assert template_exists("probe", "fr", directory=folder)
    assert not template_exists("nothing", "fr", directory=folder)
    with pytest.raises(TemplateError, match=r"en/nothing\.subject\.j2 not found"):
        render("nothing", "en", {}, directory=folder)
