"""Money in ``domain/``: integer minor units with the ISO 4217 currency beside them.

Adding two amounts of different currencies is a bug, never a conversion:
``Money(4990, "EUR") + Money(1000, "EUR") == Money(5990, "EUR")``, while
``Money(4990, "EUR") + Money(1000, "GBP")`` raises :class:`CurrencyMismatch`.
There is no float anywhere: 49.90 € is ``Money(4990, "EUR")``. VAT rounding is not
here (it lives in one function on ``Decimal`` with the tax rules).
"""

from __future__ import annotations

from dataclasses import dataclass


class CurrencyMismatch(ValueError):
    """Two amounts of different currencies were combined."""


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units (``4990`` EUR = 49.90 €) and its uppercase currency."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError(f"amount must be an integer of minor units, not {self.amount!r}")
        code = self.currency
        if not (isinstance(code, str) and len(code) == 3 and code.isalpha() and code.isupper()):
            raise ValueError(f"currency must be an uppercase ISO 4217 code, not {code!r}")

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)
