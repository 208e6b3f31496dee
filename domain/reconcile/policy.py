"""The reconciliation policy: thresholds as data (``policies/reconciliation.yaml``).

The YAML is a flat mapping; each key becomes a field of the frozen
:class:`ReconPolicy`, checked for its type and range, and a mistake names its line::

    shipping_promise_days: 7        -> ReconPolicy(shipping_promise_days=7, ...)
    shipping_promise_days: seven    -> PolicyError("reconciliation.yaml:1:
                                       shipping_promise_days: expected a whole number
                                       of days >= 0, got 'seven'")

Keys left out take the defaults below; an unknown key is an error (a typo must not
silently fall back to a default).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

PROVIDERS = ("stripe", "gocardless")


class PolicyError(ValueError):
    """A policy file that cannot be used, with ``file:line:`` in front of the reason."""


@dataclass(frozen=True)
class ReconPolicy:
    """Thresholds of the reconciliation rules (meaning: see the YAML's comments)."""

    shipping_promise_days: int = 7
    payment_grace_days: int = 7
    refund_deadline_days: int = 14
    return_deadline_days: int = 14
    duplicate_window_hours: int = 24
    payout_tolerance: int = 0
    orphan_providers: tuple[str, ...] = ("stripe",)
    timezone: str = "Europe/Paris"


_INTEGERS = {
    "shipping_promise_days",
    "payment_grace_days",
    "refund_deadline_days",
    "return_deadline_days",
    "duplicate_window_hours",
    "payout_tolerance",
}


def parse_policy(text: str, source: str = "reconciliation.yaml") -> ReconPolicy:
    """The policy in ``text``; :class:`PolicyError` with the line of the first mistake."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise PolicyError(f"{source}:{line}: not valid YAML: {exc}") from None
    if root is None:
        return ReconPolicy()
    if not isinstance(root, yaml.MappingNode):
        raise PolicyError(f"{source}:{root.start_mark.line + 1}: expected a mapping of settings")
    known = {f.name for f in fields(ReconPolicy)}
    values: dict[str, Any] = {}
    for key_node, value_node in root.value:
        key, line = key_node.value, key_node.start_mark.line + 1
        if key not in known:
            raise PolicyError(f"{source}:{line}: unknown setting {key!r}")
        if key in values:
            raise PolicyError(f"{source}:{line}: {key} is set twice")
        value = yaml.safe_load(yaml.serialize(value_node))
        values[key] = _checked(key, value, f"{source}:{line}")
    return ReconPolicy(**values)


def load_policy(folder: Path | str) -> ReconPolicy:
    """``<folder>/reconciliation.yaml`` (the ``ECHEANCIER_POLICIES`` folder)."""
    path = Path(folder) / "reconciliation.yaml"
    return parse_policy(path.read_text(encoding="utf-8"), source=str(path))


def _checked(key: str, value: Any, where: str) -> Any:
    if key in _INTEGERS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            unit = "hours" if key.endswith("hours") else "days"
            if key == "payout_tolerance":
                unit = "minor units"
            raise PolicyError(
                f"{where}: {key}: expected a whole number of {unit} >= 0, got {value!r}"
            )
        return value
    if key == "orphan_providers":
        if not isinstance(value, list) or any(v not in PROVIDERS for v in value):
            raise PolicyError(
                f"{where}: {key}: expected a list of providers among {list(PROVIDERS)}, "
                f"got {value!r}"
            )
        return tuple(value)
    if not isinstance(value, str) or not value:
        raise PolicyError(f"{where}: {key}: expected a time zone name, got {value!r}")
    return value
