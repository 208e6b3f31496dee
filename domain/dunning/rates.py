"""French B2B late-payment terms as dated data (``policies/late_payment.yaml``).

Code de commerce L441-10: unless the contract says otherwise, a business that pays late
owes penalties at the ECB's main refinancing rate plus 10 points, where the rate for
January–June is the one in force on 1 January and for July–December the one in force
on 1 July; plus a fixed recovery indemnity of 40 € per invoice (D441-5). The penalties
run from the day after the due date with no reminder needed, as simple interest::

    ECB rate on 1 January 2026: 2.15 %  ->  penalty rate for 2026-H1: 12.15 %
    1 000,00 € due 31 January 2026, paid 2 March 2026 (30 days late):
        100000 × 12.15 % × 30 / 365 = 998.63…  ->  999 (cents, half up)

Every half-year needs its own line: a date in a half-year with no rate recorded is an
error (:class:`MissingRate`) rather than a stale rate stated in a legal notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from domain.dunning.policy import PolicyError, compose, line_of


class MissingRate(LookupError):
    """No ECB rate is recorded for the half-year of a date."""


def half_year_start(day: date) -> date:
    """1 January or 1 July of ``day``'s half-year."""
    return date(day.year, 1 if day.month <= 6 else 7, 1)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EcbRate(_Frozen):
    from_: date = Field(alias="from")
    rate: Decimal = Field(ge=Decimal("-5"), le=Decimal("25"))
    source: str = ""

    @field_validator("from_")
    @classmethod
    def _half_year(cls, value: date) -> date:
        if value != half_year_start(value):
            raise ValueError("a rate applies from 1 January or 1 July")
        return value


class LegalInterest(_Frozen):
    from_: date = Field(alias="from")
    creditor_business: Decimal = Field(ge=0, le=Decimal("25"))
    creditor_individual: Decimal = Field(ge=0, le=Decimal("25"))
    source: str = ""


class Indemnity(_Frozen):
    amount: int = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class _RatesFile(_Frozen):
    penalty_margin_points: Decimal = Field(ge=0, le=Decimal("30"))
    fixed_indemnity: Indemnity
    ecb_refinancing: tuple[EcbRate, ...] = Field(min_length=1)
    legal_interest: tuple[LegalInterest, ...] = ()


@dataclass(frozen=True)
class LatePaymentRates:
    """The dated rates; ``rate_on(day)`` is the B2B penalty rate in percentage points."""

    margin: Decimal
    ecb: tuple[tuple[date, Decimal], ...]
    indemnity_amount: int
    indemnity_currency: str
    legal_interest: tuple[tuple[date, Decimal, Decimal], ...] = ()

    def ecb_rate_on(self, day: date) -> Decimal:
        start = half_year_start(day)
        for since, rate in self.ecb:
            if since == start:
                return rate
        half = "H1" if start.month == 1 else "H2"
        raise MissingRate(
            f"no ECB refinancing rate recorded for {start.year}-{half} in late_payment.yaml "
            f"(add the rate in force on {start.isoformat()})"
        )

    def rate_on(self, day: date) -> Decimal:
        """The L441-10 penalty rate for a day: ECB rate of its half-year + the margin."""
        return self.ecb_rate_on(day) + self.margin

    def has_rate_on(self, day: date) -> bool:
        try:
            self.ecb_rate_on(day)
        except MissingRate:
            return False
        return True

    def legal_interest_on(self, day: date, *, creditor_individual: bool = False) -> Decimal:
        """The taux de l'intérêt légal in force on ``day`` (set per half-year by arrêté)."""
        found = [row for row in self.legal_interest if row[0] <= day]
        if not found:
            raise MissingRate(f"no legal interest rate recorded for {day.isoformat()}")
        _, business, individual = max(found)
        return individual if creditor_individual else business

    def penalty(self, amount_minor: int, due_on: date, as_of: date) -> int:
        """Penalties accrued on ``amount_minor`` (tax included) from the day after
        ``due_on`` to ``as_of``, each day at its half-year's rate, in minor units."""
        total = Decimal(0)
        day = due_on + timedelta(days=1)
        while day <= as_of:
            start = half_year_start(day)
            end = date(start.year, 6, 30) if start.month == 1 else date(start.year, 12, 31)
            last = min(end, as_of)
            days = (last - day).days + 1
            total += Decimal(amount_minor) * self.rate_on(day) / 100 * days / 365
            day = last + timedelta(days=1)
        return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def load_late_payment_rates(path: Path) -> LatePaymentRates:
    """``policies/late_payment.yaml``; a mistake is a :class:`PolicyError` naming the line."""
    path = Path(path)
    return parse_late_payment_rates(path.read_text(encoding="utf-8"), source=str(path))


def parse_late_payment_rates(text: str, source: str = "late_payment.yaml") -> LatePaymentRates:
    root = compose(text, source)
    data: Any = yaml.safe_load(text) if root is not None else None
    if not isinstance(data, dict):
        raise PolicyError(f"{source} line 1: expected a mapping of settings")
    try:
        parsed = _RatesFile.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple("from" if part == "from_" else part for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        raise PolicyError(f"{source} line {line_of(root, loc)}: {message}") from None
    starts = [row.from_ for row in parsed.ecb_refinancing]
    for index, start in enumerate(starts):
        if start in starts[:index]:
            line = line_of(root, ("ecb_refinancing", index))
            raise PolicyError(f"{source} line {line}: {start.isoformat()} is given twice")
    return LatePaymentRates(
        margin=parsed.penalty_margin_points,
        ecb=tuple((row.from_, row.rate) for row in parsed.ecb_refinancing),
        indemnity_amount=parsed.fixed_indemnity.amount,
        indemnity_currency=parsed.fixed_indemnity.currency,
        legal_interest=tuple(
            (row.from_, row.creditor_business, row.creditor_individual)
            for row in parsed.legal_interest
        ),
    )
