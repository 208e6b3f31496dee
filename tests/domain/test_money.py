"""Money refuses to mix currencies and floats."""

from __future__ import annotations

import pytest

from domain.money import CurrencyMismatch, Money


def test_same_currency_adds() -> None:
    assert Money(4990, "EUR") + Money(1000, "EUR") == Money(5990, "EUR")
    assert Money(4990, "EUR") - Money(5000, "EUR") == Money(-10, "EUR")
    assert -Money(1, "EUR") == Money(-1, "EUR")


def test_two_currencies_do_not_add() -> None:
    with pytest.raises(CurrencyMismatch):
        Money(4990, "EUR") + Money(1000, "GBP")


@pytest.mark.parametrize(("amount", "currency"), [(49.9, "EUR"), (True, "EUR"), (1, "eur")])
def test_bad_money_is_refused(amount: object, currency: str) -> None:
    with pytest.raises((TypeError, ValueError)):
        Money(amount, currency)  # type: ignore[arg-type]
