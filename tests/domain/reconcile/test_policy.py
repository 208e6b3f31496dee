"""The policy file: parsed into a frozen dataclass; mistakes name their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.reconcile import PolicyError, ReconPolicy, load_policy, parse_policy

ROOT = Path(__file__).resolve().parents[3]


def test_the_shipped_policy_loads() -> None:
    policy = load_policy(ROOT / "policies")
    assert policy == ReconPolicy()
    assert policy.refund_deadline_days == 14


def test_settings_override_defaults_and_missing_ones_keep_them() -> None:
    policy = parse_policy("shipping_promise_days: 3\norphan_providers: [stripe, gocardless]\n")
    assert policy.shipping_promise_days == 3
    assert policy.orphan_providers == ("stripe", "gocardless")
    assert policy.payment_grace_days == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "payment_grace_days: 7\nshipping_promise_days: seven\n",
            "x.yaml:2: shipping_promise_days",
        ),
        ("\n\nshiping_promise_days: 7\n", "x.yaml:3: unknown setting 'shiping_promise_days'"),
        ("payout_tolerance: -1\n", "x.yaml:1: payout_tolerance: expected a whole number of minor"),
        ("orphan_providers: [paypal]\n", "x.yaml:1: orphan_providers: expected a list"),
        ("a: [1\n", "x.yaml:2: not valid YAML"),
        ("- 1\n", "x.yaml:1: expected a mapping"),
        (
            "payment_grace_days: 1\npayment_grace_days: 2\n",
            "x.yaml:2: payment_grace_days is set twice",
        ),
    ],
)
def test_a_mistake_names_its_line(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source="x.yaml")
    assert str(caught.value).startswith(message)
