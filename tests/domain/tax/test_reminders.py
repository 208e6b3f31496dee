"""Finance's reminders before each deadline, and their e-mails in French and English."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from domain.tax.reminders import due_reminders
from templates.render import render

OSS_Q3 = {
    "regime": "OSS",
    "period": "2026-Q3",
    "due_on": date(2026, 10, 31),
    "status": "open",
    "vat_due": 123456,
    "currency": "EUR",
}


def remind(as_of: str, row: dict[str, Any] = OSS_Q3) -> list[tuple[str, date]]:
    found = due_reminders(
        [row], as_of=date.fromisoformat(as_of), reminder_days=(10, 3), locale="fr"
    )
    return [(r.notice.dedupe_key, r.notice.planned_for) for r in found]


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2026-10-20", []),
        ("2026-10-21", [("tax_deadline:OSS:2026-Q3:10", date(2026, 10, 21))]),
        ("2026-10-27", [("tax_deadline:OSS:2026-Q3:10", date(2026, 10, 21))]),
        ("2026-10-28", [("tax_deadline:OSS:2026-Q3:3", date(2026, 10, 28))]),
        ("2026-10-31", [("tax_deadline:OSS:2026-Q3:3", date(2026, 10, 28))]),
        ("2026-11-01", []),  # past the due date: overdue, not reminded
    ],
)
def test_the_most_urgent_window_reached_is_the_reminder(
    as_of: str, expected: list[tuple[str, date]]
) -> None:
    assert remind(as_of) == expected


def test_a_filed_return_is_not_reminded() -> None:
    assert remind("2026-10-28", {**OSS_Q3, "status": "filed"}) == []


def test_the_notice_goes_to_finance_with_what_the_template_needs() -> None:
    (reminder,) = due_reminders(
        [OSS_Q3], as_of=date(2026, 10, 28), reminder_days=(10, 3), locale="fr"
    )
    notice = reminder.notice

    assert (notice.kind, notice.audience, notice.template, notice.locale) == (
        "tax_deadline",
        "finance",
        "tax_deadline",
        "fr",
    )
    fr = render("tax_deadline", "fr", notice.context)
    en = render("tax_deadline", "en", notice.context)
    assert (
        fr.subject
        == "[Échéance fiscale] Déclaration OSS 2026-Q3 à déposer avant le 31 octobre 2026"
    )
    assert en.subject == "[Tax deadline] OSS return 2026-Q3 due by 31 October 2026"
    assert "dans 3 jours" in fr.text
    assert "1 234,56 €" in fr.text.replace("\u202f", " ").replace("\xa0", " ")
    assert "€1,234.56" in en.text
    assert "echeancier tax filed OSS 2026-Q3" in en.html
    assert "OSS_2026-Q3.xlsx" in fr.html
