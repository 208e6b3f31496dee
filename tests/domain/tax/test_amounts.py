from __future__ import annotations

from decimal import Decimal

import pytest

from domain.tax.amounts import major, round_half_up, share, to_eur, vat_in_gross


@pytest.mark.parametrize(
    ("gross", "rate", "vat"),
    [
        (1900, "19", 303),  # 303.36
        (4900, "21", 850),  # 850.41
        (10000, "22", 1803),  # 1803.28
        (2110, "5.5", 110),  # 110.0
        (121, "21", 21),  # 21.0
        (-4900, "21", -850),  # a refund is the exact negative
        (5, "10", 0),  # 0.4545
    ],
)
def test_vat_in_a_vat_inclusive_gross(gross: int, rate: str, vat: int) -> None:
    assert vat_in_gross(gross, Decimal(rate)) == vat


def test_halves_go_away_from_zero() -> None:
    assert round_half_up(Decimal("901.5")) == 902
    assert round_half_up(Decimal("-901.5")) == -902
    assert share(1803, 5000, 10000) == 902


@pytest.mark.parametrize(
    ("amount", "currency", "rate", "eur"),
    [
        (10000, "USD", "1.1700", 8547),  # 85.470085…
        (2100, "USD", "1.1700", 1795),  # 17.948717…
        (10000, "JPY", "160", 6250),  # ¥10,000 has no minor unit
        (1000, "KWD", "0.35", 286),  # 1.000 KWD = 2.857… EUR
        (-2100, "USD", "1.1700", -1795),
        (4990, "EUR", None, 4990),
    ],
)
def test_conversion_to_euro_cents(amount: int, currency: str, rate: str | None, eur: int) -> None:
    assert to_eur(amount, currency, None if rate is None else Decimal(rate)) == eur


def test_no_rate_no_conversion() -> None:
    with pytest.raises(ValueError, match="no usable ECB rate for USD"):
        to_eur(100, "USD", None)


def test_major_units_for_files() -> None:
    assert major(123456) == Decimal("1234.56")
    assert str(major(-5)) == "-0.05"
