"""Load ``policies/dunning.yaml``; every mistake is reported with its line.

Finance edits this file, so an error must say where to look::

    policies/dunning.yaml line 42: unknown action 'emial' (expected one of 'email',
    'retry_payment', …)
    policies/dunning.yaml line 17: ladder 'consumer' has a late_fee_notice step but is
    used by consumer segment 'default': consumers are never charged fees

The YAML is composed into nodes first (each knows its line), then validated by the
pydantic models of :mod:`domain.dunning.model`; an error's location
(``("ladders", "consumer", "steps", 2, "actions", 0)``) is walked down the node tree
to the line it came from. The rules that tie parts together are checked afterwards,
with the same kind of path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from domain.dunning.model import (
    MAIL_ACTIONS,
    PROVIDER_ACTIONS,
    DunningPolicy,
    Ladder,
    Segment,
)

Loc = Sequence[str | int]


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the line."""


TemplateCheck = Callable[[str, str], bool]


def load_policy(path: Path, *, template_exists: TemplateCheck | None = None) -> DunningPolicy:
    """The dunning policy in ``path``, validated; :class:`PolicyError` names the line.

    With ``template_exists`` (``templates.render.template_exists``), a step naming a
    template missing in French or English is an error too."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    return parse_policy(text, source=str(path), template_exists=template_exists)


def parse_policy(
    text: str, source: str = "dunning.yaml", *, template_exists: TemplateCheck | None = None
) -> DunningPolicy:
    """The policy in ``text`` (``source`` names it in errors)."""
    root = compose(text, source)
    data = yaml.safe_load(text) if root is not None else None
    if not isinstance(data, dict):
        raise PolicyError(f"{source} line 1: expected a mapping of settings")
    try:
        policy = DunningPolicy.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        line = line_of(root, error["loc"])
        raise PolicyError(f"{source} line {line}: {_message(error)}") from None
    problem = first_problem(policy)
    if problem is None and template_exists is not None:
        problem = _templates_ok(policy, template_exists)
    if problem is not None:
        loc, message = problem
        raise PolicyError(f"{source} line {line_of(root, loc)}: {message}")
    return policy


def compose(text: str, source: str) -> yaml.Node | None:
    """The YAML node tree; bad YAML and a key given twice are errors with their line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(f"{source} line {line}: not valid YAML: {problem}") from None
    if root is not None:
        _no_duplicate_keys(root, source)
    return root


def _no_duplicate_keys(node: yaml.Node, source: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                line = key.start_mark.line + 1
                raise PolicyError(f"{source} line {line}: {key.value!r} is given twice")
            seen.add(key.value)
            _no_duplicate_keys(value, source)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _no_duplicate_keys(item, source)


def line_of(root: yaml.Node | None, loc: Loc) -> int:
    """The 1-based line ``loc`` points at: the key of the deepest mapping entry it
    reaches, or the list item. Pydantic's own location parts (``literal['email']``,
    ``function-after[...]``) match no node and are stepped over."""
    if root is None:
        return 1
    node, line = root, root.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            entry = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if entry is not None:
                node, line = entry[1], entry[0].start_mark.line + 1
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
    return line


def _message(error: Any) -> str:
    kind, loc, given = error["type"], error["loc"], error.get("input")
    field = next((str(p) for p in reversed(loc) if isinstance(p, str) and "[" not in p), "")
    if kind == "literal_error":
        name = {"actions": "action", "opt_out_allows": "action", "offers": "offer"}.get(
            field, field
        )
        return f"unknown {name} {given!r} (expected one of {error['ctx']['expected']})"
    if kind == "extra_forbidden":
        return f"unknown setting {field!r}"
    if kind == "missing":
        return f"{field} is required"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{field}: {message}" if field and not message.startswith(field) else message


def first_problem(policy: DunningPolicy) -> tuple[Loc, str] | None:
    """The first rule broken across settings, as (location, message), or ``None``."""
    for check in (_ladders_ok, _segments_ok, _opt_out_ok, _retries_ok):
        problem = check(policy)
        if problem is not None:
            return problem
    return None


def _ladders_ok(policy: DunningPolicy) -> tuple[Loc, str] | None:
    for name, ladder in policy.ladders.items():
        problem = _ladder_ok(name, ladder)
        if problem is not None:
            return problem
    return None


def _ladder_ok(name: str, ladder: Ladder) -> tuple[Loc, str] | None:
    stages: set[str] = set()
    previous: int | None = None
    for index, step in enumerate(ladder.steps):
        where: Loc = ("ladders", name, "steps", index)
        if step.stage in stages:
            return (*where, "stage"), f"stage {step.stage!r} appears twice in ladder {name!r}"
        stages.add(step.stage)
        if previous is not None and step.day <= previous:
            return (*where, "day"), (
                f"steps of ladder {name!r} must be in order of day, each later than the "
                f"one before ({step.day} after {previous})"
            )
        previous = step.day
        if len(set(step.actions)) != len(step.actions):
            return (*where, "actions"), f"an action appears twice in stage {step.stage!r}"
        mails = MAIL_ACTIONS.intersection(step.actions)
        if mails and step.template is None:
            return where, f"stage {step.stage!r} writes to the customer: it needs a template"
        if step.template is not None and not mails:
            return (*where, "template"), (
                f"stage {step.stage!r} has a template but no e-mail action to send it"
            )
        early = PROVIDER_ACTIONS.intersection(step.actions)
        if step.day < 0 and early:
            action = sorted(early)[0]
            return (*where, "actions", step.actions.index(action)), (  # type: ignore[arg-type]
                f"{action} cannot run before the due date (day {step.day})"
            )
        if step.formal_notice and step.deadline_days is None:
            return where, f"formal notice {step.stage!r} needs deadline_days (8 to 15 is usual)"
    return None


def _segments_ok(policy: DunningPolicy) -> tuple[Loc, str] | None:
    names: set[str] = set()
    for index, segment in enumerate(policy.segments):
        where: Loc = ("segments", index)
        if segment.name in names:
            return (*where, "name"), f"segment {segment.name!r} appears twice"
        names.add(segment.name)
        if segment.ladder not in policy.ladders:
            known = ", ".join(repr(n) for n in policy.ladders)
            return (*where, "ladder"), (
                f"segment {segment.name!r} uses ladder {segment.ladder!r}, which is not "
                f"defined (ladders: {known})"
            )
        when = segment.when
        if when.amount is not None and when.currency is None:
            return (*where, "when", "amount"), (
                "an amount condition needs a currency condition beside it "
                "(amounts are minor units of one currency)"
            )
        if segment.legal_mentions and when.business is not True:
            return (*where, "legal_mentions"), (
                f"segment {segment.name!r} states business late-payment terms: it must "
                "have `business: true`"
            )
        problem = _fees_ok(policy, index, segment)
        if problem is not None:
            return problem
    if not policy.segments[-1].when.empty:
        return ("segments", len(policy.segments) - 1, "when"), (
            "the last segment must be the default: no `when` conditions, so every "
            "customer finds a ladder"
        )
    return None


def _fees_ok(policy: DunningPolicy, index: int, segment: Segment) -> tuple[Loc, str] | None:
    """Consumers are never charged or threatened with fees (CPCE L111-8); a late-fee
    notice states the legal rate and indemnity, so its segments must carry them."""
    ladder = policy.ladders[segment.ladder]
    for step_index, step in enumerate(ladder.steps):
        if "late_fee_notice" not in step.actions:
            continue
        where = (
            "ladders",
            segment.ladder,
            "steps",
            step_index,
            "actions",
            step.actions.index("late_fee_notice"),
        )
        if segment.when.business is not True:
            return where, (
                f"ladder {segment.ladder!r} has a late_fee_notice step but is used by "
                f"consumer segment {segment.name!r}: consumers are never charged fees"
            )
        if not segment.legal_mentions:
            return where, (
                f"ladder {segment.ladder!r} has a late_fee_notice step but segment "
                f"{segment.name!r} does not set legal_mentions: the notice must state the "
                "penalty rate and the fixed indemnity"
            )
    return None


def _templates_ok(policy: DunningPolicy, exists: TemplateCheck) -> tuple[Loc, str] | None:
    for name, ladder in policy.ladders.items():
        for index, step in enumerate(ladder.steps):
            if step.template is None:
                continue
            missing = [locale for locale in ("fr", "en") if not exists(step.template, locale)]
            if missing:
                return ("ladders", name, "steps", index, "template"), (
                    f"template {step.template!r} does not exist in "
                    f"{' and '.join(missing)} (templates/<locale>/{step.template}.*.j2)"
                )
    return None


def _retries_ok(policy: DunningPolicy) -> tuple[Loc, str] | None:
    if policy.retries.gocardless.max_retries > 3:
        return ("retries", "gocardless", "max_retries"), (
            "GoCardless retries a payment at most 3 times (max_retries <= 3)"
        )
    return None


def _opt_out_ok(policy: DunningPolicy) -> tuple[Loc, str] | None:
    allowed = policy.exclusions.opt_out_allows
    mails = sorted(MAIL_ACTIONS.intersection(allowed))
    if mails:
        return ("exclusions", "opt_out_allows", allowed.index(mails[0])), (  # type: ignore[arg-type]
            f"an opted-out customer cannot be written to: {mails[0]} is not allowed here"
        )
    return None
