"""Render a customer or finance e-mail from our own Jinja2 templates, in fr or en.

A template is three files beside each other in ``templates/{locale}/``::

    dunning_reminder.subject.j2   ->  "Rappel : facture F-2026-0042"
    dunning_reminder.txt.j2       ->  the plain-text part
    dunning_reminder.html.j2      ->  the HTML part, usually ``{% extends "_base.html.j2" %}``

``render("dunning_reminder", "fr", {"amount": 4990, "currency": "EUR", ...})`` returns
the three parts; the SendGrid sender uses it when no dynamic template id is configured,
and the dry run uses it for previews. Context values travel through the outbox as JSON,
so amounts are integer minor units and dates are ISO strings: the filters turn them into
the customer's conventions with Babel (the text part's runs of blank lines, which
template logic leaves behind, are folded into one):

- ``{{ amount | money(currency) }}`` -> ``49,90 €`` (fr) / ``€49.90`` (en); ``4990 JPY``
  is ``JP¥4,990`` (Babel knows JPY has no minor unit). Never a float: ``Decimal``.
- ``{{ due_on | day }}`` -> ``26 novembre 2026``, ``1er décembre 2026`` (fr) /
  ``26 November 2026`` (en).
- ``{{ rate | percent }}`` (percentage points, e.g. ``"12.15"``) -> ``12,15 %`` / ``12.15%``.

A variable the context lacks is an error naming the file and the variable
(``StrictUndefined``), never a blank in a customer's mail; the HTML part is
autoescaped, the text and subject parts are not (they are not HTML). An unknown
locale falls back to English.

Customer text is inert: a value is only ever printed, never parsed as a template, so a
name written ``{{ 7*7 }}`` stays ``{{ 7*7 }}`` in every part; in the HTML part
``<script>`` becomes ``&lt;script&gt;`` (quotes too, so no attribute can be closed);
the subject's whitespace, CR and LF included, is folded into single spaces, so it is one
line. A value a filter cannot format is a :class:`TemplateError`, never a crash.
(``tests/templates/test_hostile_values.py`` renders every template with such values.)
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from babel.dates import format_date
from babel.numbers import format_currency, format_percent, get_currency_precision

__all__ = [
    "LOCALES",
    "TEMPLATES_DIR",
    "Rendered",
    "TemplateError",
    "render",
    "resolve_locale",
    "template_exists",
]

TEMPLATES_DIR = Path(__file__).resolve().parent

#: Our languages and the Babel locale that formats for them. English readers are
#: European customers: ``en_GB`` writes "26 November 2026", not "November 26, 2026".
LOCALES: Mapping[str, str] = {"fr": "fr_FR", "en": "en_GB"}
DEFAULT_LOCALE = "en"
PARTS = ("subject", "txt", "html")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")


class TemplateError(ValueError):
    """A template that is missing or cannot be rendered with the given context."""


@dataclass(frozen=True)
class Rendered:
    """The three parts of one e-mail."""

    subject: str
    text: str
    html: str


def resolve_locale(locale: str | None) -> str:
    """``fr``/``en`` from ``fr``, ``fr-FR``, ``fr_BE``, ``EN``…; anything else is ``en``."""
    language = (locale or "").replace("-", "_").split("_")[0].lower()
    return language if language in LOCALES else DEFAULT_LOCALE


def template_exists(template: str, locale: str, *, directory: Path | None = None) -> bool:
    """Whether the subject, text and HTML files of ``template`` exist for ``locale``."""
    folder = (directory or TEMPLATES_DIR) / resolve_locale(locale)
    return all((folder / f"{template}.{part}.j2").is_file() for part in PARTS)


def render(
    template: str,
    locale: str,
    context: Mapping[str, Any],
    *,
    directory: Path | None = None,
) -> Rendered:
    """The subject, text and HTML of ``template`` in ``locale`` (unknown: English).

    Raises :class:`TemplateError` naming the file when a part is missing, a variable is
    not in ``context`` or a filter gets a value it cannot format.
    """
    language = resolve_locale(locale)
    env = _environment(str(directory or TEMPLATES_DIR), language)
    parts: dict[str, str] = {}
    for part in PARTS:
        name = f"{template}.{part}.j2"
        try:
            parts[part] = env.get_template(name).render(**context)
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"template {language}/{name} not found ({exc.name})") from None
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"template {language}/{name}: {exc.message}") from None
        except (TypeError, ValueError) as exc:
            raise TemplateError(f"template {language}/{name}: {exc}") from None
    subject = " ".join(parts["subject"].split())
    text = _BLANK_LINES.sub("\n\n", parts["txt"]).strip() + "\n"
    return Rendered(subject=subject, text=text, html=parts["html"])


@lru_cache(maxsize=16)
def _environment(directory: str, language: str) -> jinja2.Environment:
    """One environment per folder and language: its filters format for that language."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(directory) / language),
        undefined=jinja2.StrictUndefined,
        autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    babel_locale = LOCALES[language]
    env.filters["money"] = lambda amount, currency: money(amount, currency, babel_locale)
    env.filters["day"] = lambda value: day(value, babel_locale)
    env.filters["percent"] = lambda value: percent(value, babel_locale)
    env.globals["locale"] = language
    return env


def money(amount_minor: Any, currency: str, babel_locale: str) -> str:
    """Minor units to the locale's way of writing the amount (``4990 EUR`` -> ``49,90 €``)."""
    if isinstance(amount_minor, bool | float):
        raise TypeError(f"money: amount must be integer minor units, got {amount_minor!r}")
    if isinstance(amount_minor, str):
        if not amount_minor.lstrip("-").isdigit():
            raise ValueError(f"money: amount must be integer minor units, got {amount_minor!r}")
        minor = int(amount_minor)
    else:
        try:
            minor = operator.index(amount_minor)
        except TypeError:
            raise TypeError(
                f"money: amount must be integer minor units, got {amount_minor!r}"
            ) from None
    code = str(currency).upper()
    digits = get_currency_precision(code)
    return format_currency(Decimal(minor).scaleb(-digits), code, locale=babel_locale)


def day(value: Any, babel_locale: str) -> str:
    """A date (or an ISO date/datetime string) in words: ``26 novembre 2026``."""
    if isinstance(value, datetime):
        value = value.date()
    elif isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            raise ValueError(f"day: expected an ISO date, got {value!r}") from None
    if not isinstance(value, date):
        raise TypeError(f"day: expected a date or an ISO date string, got {value!r}")
    written = format_date(value, format="long", locale=babel_locale)
    if babel_locale.startswith("fr") and value.day == 1:
        written = "1er" + written[1:]  # French writes the first of the month "1er"
    return written


def percent(value: Any, babel_locale: str) -> str:
    """Percentage points (``"12.15"`` or ``Decimal("12.15")``) as ``12,15 %`` / ``12.15%``."""
    if isinstance(value, bool | float):
        raise TypeError(f"percent: expected a Decimal or a string, got {value!r}")
    try:
        points = Decimal(str(value))
    except ArithmeticError:  # decimal.InvalidOperation: not a number at all
        raise ValueError(f"percent: expected a number, got {value!r}") from None
    return format_percent(points / 100, locale=babel_locale, decimal_quantization=False)
