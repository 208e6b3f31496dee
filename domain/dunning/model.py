"""The shape of ``policies/dunning.yaml``, as frozen pydantic models.

Pydantic checks each value (types, ranges, allowed names, no unknown keys); the rules
that tie parts together (a segment names a ladder that exists, a consumer ladder has no
late-fee step…) live in :mod:`domain.dunning.policy`, which also turns every error into
``<file> line N: …``. docs/dunning.md explains each setting to finance.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    field_validator,
    model_validator,
)

Action = Literal[
    "email",
    "retry_payment",
    "late_fee_notice",
    "suspend",
    "cancel_at_period_end",
    "mark_uncollectible",
    "offer_direct_debit",
    "offer_instalments",
]
ACTIONS: tuple[str, ...] = Action.__args__  # type: ignore[attr-defined]
#: Actions that write to the customer: the step's one notice carries them.
MAIL_ACTIONS = frozenset({"email", "late_fee_notice", "offer_direct_debit", "offer_instalments"})
#: Actions that call a provider: they carry an idempotency key.
PROVIDER_ACTIONS = frozenset(
    {"retry_payment", "suspend", "cancel_at_period_end", "mark_uncollectible"}
)
Provider = Literal["stripe", "gocardless"]
Method = Literal["card", "direct_debit", "other"]
Offer = Literal["direct_debit", "instalments"]
Locale = Literal["fr", "en"]

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_HOLIDAY = re.compile(r"^(\d{2}-\d{2}|\d{4}-\d{2}-\d{2}|easter[+-]\d{1,2})$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None
    return name


def _currencies(amounts: dict[str, int]) -> dict[str, int]:
    bad = [code for code in amounts if not _CURRENCY.match(code)]
    if bad:
        raise ValueError(f"currencies must be uppercase ISO 4217 codes, not {bad}")
    return amounts


class SendWindow(_Frozen):
    """Local hours in the customer's time zone between which mail may leave."""

    start: time
    end: time

    @field_validator("start", "end", mode="before")
    @classmethod
    def _quoted(cls, value: object) -> object:
        # YAML 1.1 reads an unquoted 09:00 as the number 540 (base 60).
        if not isinstance(value, str | time):
            raise ValueError('write times in quotes, e.g. "09:00"')
        return value

    @model_validator(mode="after")
    def _ordered(self) -> SendWindow:
        if self.start >= self.end:
            raise ValueError("send_window: start must be before end")
        return self


class Locales(_Frozen):
    default: Locale = "en"
    by_country: dict[str, Locale] = Field(default_factory=dict)


class Amount(_Frozen):
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)


class Conditions(_Frozen):
    """All conditions given must hold (AND); a condition left out always holds."""

    business: bool | None = None
    method: tuple[Method, ...] | None = None
    provider: tuple[Provider, ...] | None = None
    country: tuple[str, ...] | None = None
    locale: tuple[Locale, ...] | None = None
    currency: tuple[str, ...] | None = None
    amount: Amount | None = None

    @field_validator("country")
    @classmethod
    def _countries(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and not all(_COUNTRY.match(c) for c in value):
            raise ValueError("countries are uppercase ISO 3166 codes such as FR")
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and not all(_CURRENCY.match(c) for c in value):
            raise ValueError("currencies are uppercase ISO 4217 codes such as EUR")
        return value

    @property
    def empty(self) -> bool:
        return all(getattr(self, name) is None for name in type(self).model_fields)


class Segment(_Frozen):
    name: str = Field(pattern=r"^[a-z0-9_]+$")
    when: Conditions = Field(default_factory=Conditions)
    ladder: str
    offers: tuple[Offer, ...] = ()
    legal_mentions: bool = False


class Step(_Frozen):
    stage: str = Field(pattern=r"^[a-z0-9_]+$", max_length=32)
    day: int = Field(ge=-60, le=365)
    actions: tuple[Action, ...] = Field(min_length=1)
    template: str | None = Field(default=None, pattern=r"^[a-z0-9_]+$")
    formal_notice: bool = False
    deadline_days: int | None = Field(default=None, ge=1, le=60)


class Ladder(_Frozen):
    description: str = ""
    steps: tuple[Step, ...] = Field(min_length=1)


class Exclusions(_Frozen):
    open_dispute: bool = True
    max_days_overdue: int | None = Field(default=None, ge=1)
    opt_out_allows: tuple[Action, ...] = ("retry_payment",)


class ProviderRetries(_Frozen):
    max_retries: int = Field(ge=0, le=10)
    hard_declines: tuple[str, ...] = ()
    business_days_only: bool = False


class RetryCalendar(_Frozen):
    holidays: tuple[str, ...] = ()
    avoid_days_of_month: tuple[int, ...] = ()

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [v for v in value if not _HOLIDAY.match(v)]
        if bad:
            raise ValueError(f"holidays are MM-DD, YYYY-MM-DD or easter+N / easter-N, not {bad}")
        return value

    @field_validator("avoid_days_of_month")
    @classmethod
    def _days(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 1 <= d <= 31 for d in value):
            raise ValueError("days of the month run from 1 to 31")
        return value


class Retries(_Frozen):
    stripe: ProviderRetries
    gocardless: ProviderRetries
    calendar: RetryCalendar = Field(default_factory=RetryCalendar)


class Instalments(_Frozen):
    count: int = Field(default=3, ge=2, le=12)
    minimum_amount: dict[str, NonNegativeInt] = Field(default_factory=dict)

    @field_validator("minimum_amount")
    @classmethod
    def _amounts(cls, value: dict[str, int]) -> dict[str, int]:
        return _currencies(value)


class DunningPolicy(_Frozen):
    """The whole dunning policy, validated (see docs/dunning.md)."""

    sender_name: str = ""
    timezone: str = "Europe/Paris"
    send_window: SendWindow = SendWindow(start=time(9), end=time(19))
    locales: Locales = Field(default_factory=Locales)
    time_zones: dict[str, str] = Field(default_factory=dict)
    minimum_amount: dict[str, NonNegativeInt] = Field(default_factory=dict)
    exclusions: Exclusions = Field(default_factory=Exclusions)
    retries: Retries
    instalments: Instalments = Field(default_factory=Instalments)
    segments: tuple[Segment, ...] = Field(min_length=1)
    ladders: dict[str, Ladder] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _zone(value)

    @field_validator("minimum_amount")
    @classmethod
    def _amounts(cls, value: dict[str, int]) -> dict[str, int]:
        return _currencies(value)

    @field_validator("time_zones")
    @classmethod
    def _zones(cls, value: dict[str, str]) -> dict[str, str]:
        for country, zone in value.items():
            if not _COUNTRY.match(country):
                raise ValueError(f"{country!r} is not an uppercase ISO 3166 country code")
            _zone(zone)
        return value

    def step(self, ladder: str, stage: str) -> Step:
        """The step ``stage`` of ``ladder`` (KeyError when there is none)."""
        for step in self.ladders[ladder].steps:
            if step.stage == stage:
                return step
        raise KeyError(f"{ladder}:{stage}")

    @property
    def earliest_day(self) -> int:
        """The earliest step of any ladder (negative: a courtesy notice before the due date)."""
        return min(step.day for ladder in self.ladders.values() for step in ladder.steps)
