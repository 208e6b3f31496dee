"""The notices policy: timings as data (``policies/notices.yaml``), checked line by line.

One section per notice kind; each becomes a frozen dataclass, and a mistake names its
line and key::

    trial_ending:
      days_ahead: [7]          -> TrialEndingRule(days_ahead=(7,))
      days_ahead: [seven]      -> PolicyError("notices.yaml:2: trial_ending.days_ahead:
                                  expected whole numbers of days >= 0, got 'seven'")

Keys left out keep the defaults below; an unknown key is an error. Limits that come from
the law are enforced here, so no policy edit can make a notice illegal: the tacit-renewal
window stays inside 3 months .. 1 month before the deadline to refuse (L215-1), the
withdrawal period is at least 14 days (L221-18) and a refund is overdue after 14 days at
the latest (L221-24).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

import yaml

LOCALES = ("fr", "en")


class PolicyError(ValueError):
    """A policy file that cannot be used, with ``file:line:`` in front of the reason."""


@dataclass(frozen=True)
class TacitRenewalRule:
    earliest_months: int = 3
    latest_months: int = 1
    default_notice_days: int = 0
    include_businesses: bool = True


@dataclass(frozen=True)
class UpcomingRenewalRule:
    days_ahead: tuple[int, ...] = (30, 7)
    intervals: tuple[str, ...] = ("year",)


@dataclass(frozen=True)
class TrialEndingRule:
    days_ahead: tuple[int, ...] = (7,)


@dataclass(frozen=True)
class CardExpiringRule:
    days_ahead: int = 30


@dataclass(frozen=True)
class MandateProblemRule:
    statuses: tuple[str, ...] = ("cancelled", "expired", "failed")


@dataclass(frozen=True)
class ShipmentRule:
    delay_margin_days: int = 2
    delay_statuses: tuple[str, ...] = ("pending", "info_received", "in_transit")
    exception_statuses: tuple[str, ...] = ("exception", "attempt_fail")
    max_age_days: int = 30


@dataclass(frozen=True)
class ReturnWindowRule:
    enabled: bool = True
    days: int = 14
    remind_days_before: int = 3


@dataclass(frozen=True)
class RefundOverdueRule:
    days: int = 14


@dataclass(frozen=True)
class NoticePolicy:
    """Every rule of ``notices.yaml``, plus what comes from the settings (time zone, the
    customer portal where notices send people to cancel or update a card)."""

    send_hour: int | None = 9
    finance_locale: str = "fr"
    tacit_renewal: TacitRenewalRule = TacitRenewalRule()
    upcoming_renewal: UpcomingRenewalRule = UpcomingRenewalRule()
    trial_ending: TrialEndingRule = TrialEndingRule()
    card_expiring: CardExpiringRule = CardExpiringRule()
    mandate_problem: MandateProblemRule = MandateProblemRule()
    shipment: ShipmentRule = ShipmentRule()
    return_window: ReturnWindowRule = ReturnWindowRule()
    refund_overdue: RefundOverdueRule = RefundOverdueRule()
    timezone: str = "Europe/Paris"
    portal_url: str = "https://shop.example.com/account"


_FROM_SETTINGS = {"timezone", "portal_url"}


def parse_policy(text: str, source: str = "notices.yaml") -> NoticePolicy:
    """The policy in ``text``; :class:`PolicyError` with the line of the first mistake."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise PolicyError(f"{source}:{line}: not valid YAML: {exc}") from None
    if root is None:
        return NoticePolicy()
    policy = _section(NoticePolicy(), root, source, prefix="", skip=_FROM_SETTINGS)
    _check_law(policy, source, root)
    return policy


def load_policy(folder: Path | str) -> NoticePolicy:
    """``<folder>/notices.yaml`` (the ``ECHEANCIER_POLICIES`` folder); absent: defaults."""
    path = Path(folder) / "notices.yaml"
    if not path.exists():
        return NoticePolicy()
    return parse_policy(path.read_text(encoding="utf-8"), source=path.name)


def _section(default: Any, node: yaml.Node, source: str, prefix: str, skip: set[str]) -> Any:
    if not isinstance(node, yaml.MappingNode):
        where = prefix.rstrip(".") or "the file"
        raise PolicyError(f"{source}:{node.start_mark.line + 1}: {where}: expected a mapping")
    known = {f.name: getattr(default, f.name) for f in fields(default) if f.name not in skip}
    values: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key, line = str(key_node.value), key_node.start_mark.line + 1
        name = f"{prefix}{key}"
        if key not in known:
            raise PolicyError(f"{source}:{line}: unknown setting {name!r}")
        if key in values:
            raise PolicyError(f"{source}:{line}: {name} is set twice")
        current = known[key]
        if is_dataclass(current):
            values[key] = _section(current, value_node, source, f"{name}.", set())
        else:
            value = yaml.safe_load(yaml.serialize(value_node))
            values[key] = _value(name, current, value, f"{source}:{line}")
    return replace(default, **values)


def _value(name: str, default: Any, value: Any, where: str) -> Any:
    def fail(expected: str) -> PolicyError:
        return PolicyError(f"{where}: {name}: expected {expected}, got {value!r}")

    if name == "send_hour":
        if value is None:
            return None
        if not _whole(value) or value > 23:
            raise fail("an hour 0-23 or null")
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise fail("true or false")
        return value
    if isinstance(default, int):
        if not _whole(value):
            raise fail("a whole number >= 0")
        return value
    if isinstance(default, str):
        if name == "finance_locale" and value not in LOCALES:
            raise fail(" or ".join(LOCALES))
        return value
    if isinstance(default, tuple):
        items = value if isinstance(value, list) else None
        if default and isinstance(default[0], int):
            if not items or not all(_whole(v) for v in items):
                raise fail("a list of whole numbers of days >= 0")
            return tuple(sorted(set(items), reverse=True))
        if items is None or not all(isinstance(v, str) and v for v in items):
            raise fail("a list of names")
        return tuple(items)
    raise fail(type(default).__name__)  # pragma: no cover - every field is typed above


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_law(policy: NoticePolicy, source: str, root: yaml.Node) -> None:
    """The limits no policy may cross (see the module docstring); the error names the
    line of the first key involved."""
    tacit = policy.tacit_renewal
    back = policy.return_window
    checks = (
        (
            1 <= tacit.latest_months < tacit.earliest_months <= 3,
            "tacit_renewal.latest_months",
            "tacit_renewal: the notice window must lie within 3 months .. 1 month before "
            "the deadline to refuse (L215-1): 3 >= earliest_months > latest_months >= 1, "
            f"got {tacit.earliest_months} and {tacit.latest_months}",
        ),
        (
            back.days >= 14,
            "return_window.days",
            f"return_window.days: the withdrawal period is at least 14 days (L221-18), "
            f"got {back.days}",
        ),
        (
            back.remind_days_before < back.days,
            "return_window.remind_days_before",
            "return_window.remind_days_before must be less than return_window.days",
        ),
        (
            1 <= policy.refund_overdue.days <= 14,
            "refund_overdue.days",
            "refund_overdue.days: 1-14 (a refund is due within 14 days, L221-24), "
            f"got {policy.refund_overdue.days}",
        ),
        (
            policy.shipment.delay_margin_days >= 1,
            "shipment.delay_margin_days",
            "shipment.delay_margin_days: at least 1 day",
        ),
    )
    for ok, path, message in checks:
        if not ok:
            raise PolicyError(f"{source}:{_line_of(root, path)}: {message}")


def _line_of(root: yaml.Node, path: str) -> int:
    """The line of ``section.key`` in the file (of its section, or 1, when absent)."""
    node, line = root, root.start_mark.line + 1
    for part in path.split("."):
        if not isinstance(node, yaml.MappingNode):
            break
        found = next(((k, v) for k, v in node.value if k.value == part), None)
        if found is None:
            break
        line, node = found[0].start_mark.line + 1, found[1]
    return line
