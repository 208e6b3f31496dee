"""How long personal data is kept, and what happens to it then (``policies/retention.yaml``).

GDPR art. 5(1)(e): personal data is kept no longer than needed. Each kind of record has a
period, counted back from the run's ``as_of`` (a business date), and a fixed fate once
older than it:

=====================  ========================  ===========================================
record                 older than its period by  then
=====================  ========================  ===========================================
``raw_payloads``       ``raw_objects.synced_at``  the JSON's personal keys are pseudonymised
                       (last change seen)         (ids, amounts, statuses, country kept, so
                                                  lookups and audits still work)
``notifications``      ``updated_at`` of a row    its ``context`` (names, links) is
                       no longer waiting          pseudonymised; the row stays: its
                                                  ``dedupe_key`` still stops a second send
``quarantine``         ``last_seen_at``           a resolved row is deleted; an open one keeps
                       (``resolved_at``)          its reason and ids, its payload pseudonymised
``pipeline_runs``      ``started_at``             deleted (counts and control totals only)
``inactive_customers`` the customer's last        name, e-mail and postal code pseudonymised
                       activity (created,         (CNIL: 3 years after the end of the
                       invoiced, paid, last       relationship); never while an invoice is
                       subscription ended)        still open or a subscription still runs
=====================  ========================  ===========================================

The financial facts (invoices, payments, refunds, payouts, VAT lines and returns) are
never deleted here: the law sets their period (``legal``), which the file may lengthen
but not shorten — accounting documents 10 years (Code de commerce L123-22), the tax
audit right 6 years (LPF L102 B), OSS records 10 years (VAT Directive art. 369k). Once
the longest of them has passed, the one personal value they keep, the customer's VAT
number, is cleared (``financial_records``); amounts, dates and countries stay.

Worked example, ``as_of`` 2027-06-30 with the shipped file: a raw Stripe charge last
synced 2026-05-01 (older than 13 months, cut-off 2026-05-30) gets ``billing_details``
reduced to its country and ``receipt_email`` replaced by
``erased-…@erased.invalid``; the same charge synced 2026-06-01 is left alone. Every fate is
idempotent: a second run with the same ``as_of`` finds nothing left to change.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from domain import erasure
from domain.dunning.policy import compose, line_of

Unit = Literal["days", "months", "years"]
_PERIOD = re.compile(r"^\s*(\d+)\s*(day|days|month|months|year|years)\s*$")
# A subscription in one of these states has ended; any other state is still running.
ENDED_SUBSCRIPTIONS = frozenset(
    {"canceled", "cancelled", "finished", "incomplete_expired", "customer_approval_denied"}
)
# Outbox rows no longer waiting to be sent: their context is history.
CLOSED_NOTIFICATIONS = ("sent", "failed", "cancelled", "planned")


class PolicyError(ValueError):
    """A retention file that cannot be used; the message names the file and the line."""


@dataclass(frozen=True, order=True)
class Period:
    """``13 months``: a count of calendar days, months or years."""

    count: int
    unit: Unit

    @classmethod
    def parse(cls, value: Any) -> Period:
        if isinstance(value, Period):
            return value
        match = _PERIOD.match(str(value)) if isinstance(value, str) else None
        if match is None:
            raise ValueError(f"expected a period such as '90 days', '13 months', got {value!r}")
        unit = match.group(2) if match.group(2).endswith("s") else match.group(2) + "s"
        return cls(int(match.group(1)), unit)  # type: ignore[arg-type]

    def before(self, day: date) -> date:
        """The day this period before ``day`` (the 31st of a shorter month: its last)."""
        if self.unit == "days":
            return date.fromordinal(day.toordinal() - self.count)
        months = self.count * (12 if self.unit == "years" else 1)
        index = day.year * 12 + day.month - 1 - months
        year, month = divmod(index, 12)
        last = calendar.monthrange(year, month + 1)[1]
        return date(year, month + 1, min(day.day, last))

    def mean_days(self) -> float:
        """Its mean length in days (Gregorian), to compare periods of different units."""
        per = {"days": 1.0, "months": 365.2425 / 12, "years": 365.2425}[self.unit]
        return self.count * per

    def __str__(self) -> str:
        return f"{self.count} {self.unit}"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


LEGAL_MINIMUM = {
    "accounting_records": (Period(10, "years"), "Code de commerce L123-22"),
    "tax_records": (Period(6, "years"), "LPF L102 B"),
    "oss_records": (Period(10, "years"), "VAT Directive art. 369k"),
}


class Legal(_Frozen):
    """Periods the law imposes on the financial facts: a floor, never shortened."""

    accounting_records: Period = Period(10, "years")
    tax_records: Period = Period(6, "years")
    oss_records: Period = Period(10, "years")

    @field_validator("*", mode="before")
    @classmethod
    def _not_below_the_law(cls, value: Any, info: ValidationInfo) -> Period:
        period = Period.parse(value)
        floor, law = LEGAL_MINIMUM[str(info.field_name)]
        if period.mean_days() < floor.mean_days():
            raise ValueError(f"the law requires at least {floor} ({law}), got {period}")
        return period

    def longest(self) -> Period:
        return max(
            (self.accounting_records, self.tax_records, self.oss_records), key=Period.mean_days
        )


class Keep(_Frozen):
    """How long each record keeps its personal data (see the module docstring)."""

    raw_payloads: Period = Period(13, "months")
    notifications: Period = Period(3, "years")
    quarantine: Period = Period(13, "months")
    pipeline_runs: Period = Period(13, "months")
    inactive_customers: Period = Period(3, "years")

    @field_validator("*", mode="before")
    @classmethod
    def _period(cls, value: Any) -> Period:
        period = Period.parse(value)
        if period.count < 1:
            raise ValueError("a period must be at least 1 day: 0 would erase what is in use")
        return period


class RetentionPolicy(_Frozen):
    legal: Legal = Legal()
    keep: Keep = Keep()


RECORDS = (*Keep.model_fields, "financial_records")


def parse_policy(text: str, source: str = "retention.yaml") -> RetentionPolicy:
    """The policy in ``text``; :class:`PolicyError` names the line of the first mistake."""
    try:
        root = compose(text, source)
    except ValueError as exc:  # the dunning loader's own PolicyError, same wording
        raise PolicyError(str(exc)) from None
    data = yaml.safe_load(text) if root is not None else {}
    if not isinstance(data, dict):
        raise PolicyError(f"{source} line 1: expected a mapping of settings")
    try:
        return RetentionPolicy.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [p for p in error["loc"] if not str(p).startswith("function-")]
        where = ".".join(str(p) for p in loc)
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = f"unknown setting {where!r}"
        elif not message.startswith(str(loc[-1]) if loc else "\0"):
            message = f"{where}: {message}"
        raise PolicyError(f"{source} line {line_of(root, loc)}: {message}") from None


def load_policy(folder: Path | str) -> RetentionPolicy:
    """``<folder>/retention.yaml`` (the ``ECHEANCIER_POLICIES`` folder); absent: defaults."""
    path = Path(folder) / "retention.yaml"
    if not path.exists():
        return RetentionPolicy()
    return parse_policy(path.read_text(encoding="utf-8"), source=str(path))


@dataclass(frozen=True)
class Cutoff:
    """Records older than ``day`` (their clock before ``at``, its midnight in the business
    time zone, as UTC) have outlived their period."""

    record: str
    period: Period
    day: date
    at: datetime


def cutoffs(policy: RetentionPolicy, as_of: date, timezone: str) -> dict[str, Cutoff]:
    """The cut-off of every record for a run on ``as_of``."""
    zone = ZoneInfo(timezone)
    periods: dict[str, Period] = {name: getattr(policy.keep, name) for name in Keep.model_fields}
    periods["financial_records"] = policy.legal.longest()
    out = {}
    for name, period in periods.items():
        day = period.before(as_of)
        at = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
        out[name] = Cutoff(name, period, day, at)
    return out


def payload_owner(payload: Any, object_id: str) -> str:
    """The customer a provider object is about (its pseudonym's seed): Stripe's
    ``customer``, GoCardless's ``links.customer``, else the object itself."""
    if isinstance(payload, Mapping):
        owner = payload.get("customer")
        if isinstance(owner, Mapping):
            owner = owner.get("id")
        links = payload.get("links")
        if not owner and isinstance(links, Mapping):
            owner = links.get("customer")
        if isinstance(owner, str) and owner:
            return owner
    return object_id


def pseudonymised(text: str | None, owner: str) -> str | None:
    """A JSON payload or context with its personal data pseudonymised as an erasure does
    (:mod:`domain.erasure`), free text quoting it included; the same text when there is
    nothing personal left, so a second pass changes nothing."""
    if text is None:
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return text  # not JSON: the stored payloads and contexts always are
    values: list[str] = []
    if isinstance(parsed, Mapping):  # free text quoting a name or an address is scrubbed too
        values = [v for v in erasure.personal_values(parsed) if _scrubbable(v)]
    return erasure.redact_json_text(text, values, owner)


def _scrubbable(value: str) -> bool:
    """Safe to replace inside free text: four characters or more with a letter (a postal
    code must not turn amounts into pseudonyms), and not a pseudonym already."""
    return len(value) >= 4 and any(c.isalpha() for c in value) and not value.startswith("erased-")


def inactive_customers(
    customers: pd.DataFrame,
    invoices: pd.DataFrame,
    payments: pd.DataFrame,
    subscriptions: pd.DataFrame,
    cutoff: datetime,
) -> list[str]:
    """Customers whose last activity is older than ``cutoff`` and who owe nothing.

    Activity: the customer's creation, an invoice created or paid, a payment, the end of
    a subscription. A subscription not ended, or an invoice still ``open`` with money
    remaining, keeps the customer (dunning and notices still need the address). Already
    pseudonymised customers are left out (nothing to change).

    ``customers``: customer_id, email, created_at; ``invoices``: customer_id, status,
    amount_remaining, created_at, paid_at; ``payments``: customer_id, created_at;
    ``subscriptions``: customer_id, status, ended_at, canceled_at, current_period_end.
    """
    if customers.empty:
        return []
    live = customers.loc[~customers["email"].map(erasure.is_erased_email).astype(bool)]
    keep: set[str] = set()
    keep |= set(
        invoices.loc[
            (invoices["status"] == "open") & (invoices["amount_remaining"].fillna(0) > 0),
            "customer_id",
        ]
    )
    running = ~subscriptions["status"].isin(ENDED_SUBSCRIPTIONS)
    keep |= set(subscriptions.loc[running, "customer_id"])
    moments = [
        live[["customer_id", "created_at"]].rename(columns={"created_at": "at"}),
        *(
            frame[["customer_id", column]].rename(columns={column: "at"})
            for frame, columns in (
                (invoices, ("created_at", "paid_at")),
                (payments, ("created_at",)),
                (subscriptions, ("ended_at", "canceled_at", "current_period_end")),
            )
            for column in columns
        ),
    ]
    stacked = pd.concat([m for m in moments if len(m.index)] or moments[:1], ignore_index=True)
    stacked["at"] = pd.to_datetime(stacked["at"], utc=True)
    last = stacked.dropna(subset=["at"]).groupby("customer_id")["at"].max()
    old = set(last[last < pd.Timestamp(cutoff)].index)
    return sorted((old & set(live["customer_id"])) - keep)


@dataclass(frozen=True)
class RetentionReport:
    """Rows changed per record and fate (a second run on the same ``as_of``: none)."""

    run_id: str
    as_of: date
    dry_run: bool
    cutoffs: dict[str, date] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return dict(self.changed)

    def text(self) -> str:
        rows = ", ".join(f"{k} {n}" for k, n in self.changed.items() if n) or "nothing"
        verb = "would change" if self.dry_run else "changed"
        return f"retention {self.as_of}: {verb} {rows}"

    def markdown(self) -> str:
        lines = [f"# Retention on {self.as_of}", "", self.text(), ""]
        lines += ["| record | older than | rows |", "|---|---|---|"]
        for record, day in self.cutoffs.items():
            n = sum(v for k, v in self.changed.items() if k.split(":")[0] == record)
            lines.append(f"| {record} | {day} | {n} |")
        return "\n".join(lines) + "\n"
