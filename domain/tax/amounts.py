"""VAT arithmetic on ``Decimal`` with one rounding rule, and conversion to euro.

Every amount is integer minor units; every rounding is half-up (away from zero, so a
refund is the exact negative of its sale) and happens once per invoice or payment and
rate — never per unit, never on a float:

- VAT in a VAT-inclusive gross: ``vat_in_gross(1900, Decimal("19")) == 303``
  (1900 × 19 / 119 = 303.36 → 303), the taxable base is 1900 − 303 = 1597;
- a share of an amount: ``share(303, 950, 1900) == 152`` (half of a refund's VAT, 151.5 → 152);
- to euro cents at an ECB rate (units per euro): ``to_eur(10000, "USD", Decimal("1.1700"))
  == 8547`` (100.00 USD / 1.17 = 85.470… EUR), ``to_eur(10000, "JPY", Decimal("160"))
  == 6250`` (JPY has no minor unit: ¥10,000 / 160 = 62.50 EUR).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from domain.normalise.codes import minor_exponent

HUNDRED = Decimal(100)


def round_half_up(value: Decimal) -> int:
    """The one rounding of the tax domain: to the unit, halves away from zero."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def vat_in_gross(gross: int, rate: Decimal) -> int:
    """The VAT contained in a VAT-inclusive ``gross`` at ``rate`` percent."""
    return round_half_up(Decimal(gross) * rate / (HUNDRED + rate))


def share(amount: int, part: int, whole: int) -> int:
    """``amount × part / whole``, rounded half-up (a refund's share of a line)."""
    if whole == 0:
        raise ZeroDivisionError("cannot take a share of a zero total")
    return round_half_up(Decimal(amount) * Decimal(part) / Decimal(whole))


def to_eur(amount: int, currency: str, rate: Decimal | None) -> int:
    """``amount`` minor units of ``currency`` in euro cents at ``rate`` (units per euro)."""
    if currency == "EUR":
        return amount
    if rate is None or rate <= 0:
        raise ValueError(f"no usable ECB rate for {currency}")
    exponent = minor_exponent(currency)
    return round_half_up(Decimal(amount).scaleb(2 - exponent) / rate)


def major(cents: int) -> Decimal:
    """Euro cents as a two-decimal ``Decimal`` for files people read (``123456`` -> 1234.56)."""
    return Decimal(cents).scaleb(-2).quantize(Decimal("0.01"))
