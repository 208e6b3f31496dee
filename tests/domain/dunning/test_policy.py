"""The policy file: the default validates, every mistake names its line, and a new
ladder is YAML only."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from domain.dunning import PolicyError, load_policy, parse_policy
from templates.render import template_exists

from .build import ROOT, customer, inputs, invoice, run

DEFAULT = (ROOT / "policies" / "dunning.yaml").read_text(encoding="utf-8")


def _line_of(text: str, needle: str) -> int:
    """The 1-based line of the first line containing ``needle``."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def _broken(old: str, new: str) -> str:
    assert old in DEFAULT, old
    return DEFAULT.replace(old, new, 1)


def test_the_default_policy_loads() -> None:
    policy = load_policy(ROOT / "policies" / "dunning.yaml")
    assert [s.name for s in policy.segments][-1] == "default"
    assert policy.earliest_day == -3
    assert policy.step("business_france", "formal_notice").formal_notice


def test_a_misspelt_action_names_its_line_and_the_choices(tmp_path: Path) -> None:
    text = _broken("actions: [email, retry_payment]\n", "actions: [emial, retry_payment]\n")
    path = tmp_path / "dunning.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as error:
        load_policy(path)
    line = _line_of(text, "emial")
    assert str(error.value).startswith(f"{path} line {line}: unknown action 'emial'")
    assert "'retry_payment'" in str(error.value)


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "stage: suspension_warning\n        day: 15\n        actions: [email, retry_payment]",
            "stage: suspension_warning\n        day: 15\n        actions: [email, late_fee_notice]",
            "actions: [email, late_fee_notice]",
            "ladder 'consumer' has a late_fee_notice step but is used by consumer segment",
        ),
        (
            "  - name: default\n    ladder: consumer\n",
            "  - name: default\n    when: {locale: [fr]}\n    ladder: consumer\n",
            "when: {locale: [fr]}",
            "the last segment must be the default",
        ),
        (
            "    ladder: business_france\n",
            "    ladder: business_frnace\n",
            "ladder: business_frnace",
            "uses ladder 'business_frnace', which is not defined",
        ),
        (
            "      - {stage: retry_1, day: 4, actions: [retry_payment]}",
            "      - {stage: retry_1, day: 0, actions: [retry_payment]}",
            "stage: retry_1, day: 0",
            "steps of ladder 'consumer_direct_debit' must be in order of day",
        ),
        (
            '  start: "09:00"',
            "  start: 9:00",
            "start: 9:00",
            "write times in quotes",
        ),
        (
            "    max_retries: 3\n",
            "    max_retries: 5\n",
            "max_retries: 5",
            "at most 3 times",
        ),
        (
            "{stage: upcoming, day: -3, actions: [email], template",
            "{stage: upcoming, day: -3, actions: [email, retry_payment], template",
            "day: -3, actions: [email, retry_payment]",
            "retry_payment cannot run before the due date",
        ),
        (
            "    when: {business: true}\n",
            "    when: {business: true, colour: blue}\n",
            "colour: blue",
            "unknown setting 'colour'",
        ),
        (
            "minimum_amount: {EUR: 500,",
            "minimum_amount: {EUR: 500, EUR: 600,",
            "minimum_amount: {EUR: 500, EUR: 600,",
            "'EUR' is given twice",
        ),
        (
            "timezone: Europe/Paris",
            "timezone: Europe/Pariss",
            "timezone: Europe/Pariss",
            "unknown time zone 'Europe/Pariss'",
        ),
        (
            "    legal_mentions: true\n",
            "    legal_mentions: true\n  - name: consumers_fr\n    when: {country: [FR]}\n"
            "    ladder: business_france\n",
            "actions: [email, late_fee_notice, retry_payment]",
            "used by consumer segment 'consumers_fr'",
        ),
        (
            "exclusions:\n",
            "exclusions:\n  bogus: [\n",
            "bogus: [",
            "not valid YAML",
        ),
    ],
)
def test_each_mistake_names_the_line_to_fix(old: str, new: str, needle: str, message: str) -> None:
    text = _broken(old, new)
    with pytest.raises(PolicyError) as error:
        parse_policy(text, source="policies/dunning.yaml")
    text_of_error = str(error.value)
    assert message in text_of_error
    line = int(text_of_error.split(" line ")[1].split(":")[0])
    if message != "not valid YAML":
        assert line == _line_of(text, needle), text_of_error
    else:
        assert line >= _line_of(text, needle)


def test_a_ladder_added_in_yaml_is_used_without_code(tmp_path: Path) -> None:
    """A finance user adds a gentler ladder for Belgian consumers: YAML only."""
    extra = """  - name: belgium
    when: {business: false, country: [BE]}
    ladder: belgium_gentle
"""
    ladder = """
  belgium_gentle:
    description: Belgian consumers, a gentler first step.
    steps:
      - {stage: nudge, day: 3, actions: [email], template: dunning_reminder_1}
      - {stage: second_nudge, day: 12, actions: [email], template: dunning_reminder_2}
"""
    text = DEFAULT.replace("segments:\n", "segments:\n" + extra, 1) + ladder
    path = tmp_path / "dunning.yaml"
    path.write_text(text, encoding="utf-8")
    policy = load_policy(path)
    data = inputs(
        customers=[customer("cus_be", country="BE"), customer("cus_fr")],
        invoices=[
            invoice("in_be", "cus_be", 4990, "2026-11-01"),
            invoice("in_fr", "cus_fr", 4990, "2026-11-01"),
        ],
    )
    on_day_1 = run(data, date(2026, 11, 2), policy=policy)
    assert set(on_day_1.actions["invoice_id"]) == {"in_fr"}
    on_day_3 = run(data, date(2026, 11, 4), policy=policy)
    rows = on_day_3.actions[on_day_3.actions["invoice_id"] == "in_be"]
    assert rows[["ladder", "stage", "action"]].values.tolist() == [
        ["belgium_gentle", "nudge", "email"]
    ]
    (notice,) = [n for n in on_day_3.notices if n.invoice_id == "in_be"]
    assert (notice.template, notice.locale) == ("dunning_reminder_1", "fr")


def test_a_template_missing_in_one_language_names_its_line(tmp_path: Path) -> None:
    text = DEFAULT.replace("template: dunning_reminder_2", "template: dunning_reminder_two", 1)
    path = tmp_path / "dunning.yaml"
    path.write_text(text, encoding="utf-8")
    load_policy(path)  # without the check, the name is not looked up
    with pytest.raises(PolicyError) as error:
        load_policy(path, template_exists=template_exists)
    line = _line_of(text, "dunning_reminder_two")
    assert str(error.value) == (
        f"{path} line {line}: template 'dunning_reminder_two' does not exist in fr and en "
        "(templates/<locale>/dunning_reminder_two.*.j2)"
    )
    assert load_policy(ROOT / "policies" / "dunning.yaml", template_exists=template_exists)
