"""policies/notices.yaml: defaults, the shipped file, line-level errors, the law's limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.notices.policy import NoticePolicy, PolicyError, load_policy, parse_policy

SHIPPED = Path(__file__).resolve().parents[3] / "policies"


def test_the_shipped_policy_is_the_documented_defaults() -> None:
    assert load_policy(SHIPPED) == NoticePolicy()
    policy = NoticePolicy()
    assert policy.upcoming_renewal.days_ahead == (30, 7)
    assert policy.trial_ending.days_ahead == (7,)
    assert (policy.tacit_renewal.earliest_months, policy.tacit_renewal.latest_months) == (3, 1)


def test_a_missing_file_means_the_defaults(tmp_path: Path) -> None:
    assert load_policy(tmp_path) == NoticePolicy()


def test_sections_override_only_what_they_name() -> None:
    policy = parse_policy(
        "send_hour: null\nupcoming_renewal:\n  days_ahead: [7, 60, 30]\nshipment:\n"
        "  delay_margin_days: 3\n"
    )
    assert policy.send_hour is None
    assert policy.upcoming_renewal.days_ahead == (60, 30, 7)
    assert policy.upcoming_renewal.intervals == ("year",)
    assert policy.shipment.delay_margin_days == 3
    assert policy.shipment.max_age_days == 30


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("trial_ending:\n  days_ahead: [seven]\n", "notices.yaml:2: trial_ending.days_ahead"),
        ("trial_ending:\n  day_ahead: [7]\n", "notices.yaml:2: unknown setting 'trial_ending.day_"),
        ("send_hour: 25\n", "notices.yaml:1: send_hour: expected an hour 0-23 or null"),
        ("finance_locale: de\n", "notices.yaml:1: finance_locale"),
        ("timezone: UTC\n", "unknown setting 'timezone'"),
        ("shipment: 3\n", "notices.yaml:1: shipment: expected a mapping"),
        ("return_window:\n  enabled: maybe\n", "return_window.enabled: expected true or false"),
        ("a: [\n", "notices.yaml:2: not valid YAML"),
    ],
)
def test_mistakes_name_their_line(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse_policy(text)


@pytest.mark.parametrize(
    ("text", "line", "law"),
    [
        ("tacit_renewal:\n  earliest_months: 4\n", 1, "L215-1"),  # earlier than 3 months
        ("tacit_renewal:\n  earliest_months: 3\n  latest_months: 0\n", 3, "L215-1"),
        ("tacit_renewal:\n  latest_months: 3\n", 2, "L215-1"),  # empty window
        ("return_window:\n  days: 10\n", 2, "L221-18"),
        ("refund_overdue:\n  days: 30\n", 2, "L221-24"),
    ],
)
def test_no_policy_can_make_a_notice_illegal(text: str, line: int, law: str) -> None:
    with pytest.raises(PolicyError, match=rf"notices.yaml:{line}: .*{law}"):
        parse_policy(text)


def test_a_narrower_legal_window_is_allowed() -> None:
    policy = parse_policy("tacit_renewal:\n  earliest_months: 2\n  latest_months: 1\n")
    assert policy.tacit_renewal.earliest_months == 2
