"""French B2B late-payment rates: dated by half-year, penalties as simple interest."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.dunning import MissingRate, PolicyError, parse_late_payment_rates

from .build import RATES

SMALL = """
penalty_margin_points: "10"
fixed_indemnity: {amount: 4000, currency: EUR}
ecb_refinancing:
  - {from: 2025-07-01, rate: "2.15"}
  - {from: 2026-01-01, rate: "2.15"}
  - {from: 2026-07-01, rate: "2.40"}
"""


def test_the_rate_of_a_day_is_its_half_years_plus_ten_points() -> None:
    rates = parse_late_payment_rates(SMALL)
    assert rates.rate_on(date(2026, 1, 1)) == Decimal("12.15")
    assert rates.rate_on(date(2026, 6, 30)) == Decimal("12.15")
    assert rates.rate_on(date(2026, 7, 1)) == Decimal("12.40")
    assert rates.rate_on(date(2026, 12, 31)) == Decimal("12.40")


def test_a_half_year_without_a_rate_is_an_error_not_a_stale_rate() -> None:
    rates = parse_late_payment_rates(SMALL)
    with pytest.raises(MissingRate, match="2027-H1"):
        rates.rate_on(date(2027, 1, 1))
    assert not rates.has_rate_on(date(2027, 1, 1))


def test_penalty_is_simple_interest_day_by_day() -> None:
    # 1 000,00 € due 31 January 2026, 30 days late at 12.15 %:
    # 100000 × 0.1215 × 30 / 365 = 998.63 -> 999 cents.
    assert RATES.penalty(100000, date(2026, 1, 31), date(2026, 3, 2)) == 999


def test_penalty_across_two_half_years_uses_each_rate() -> None:
    rates = parse_late_payment_rates(SMALL)
    # Due 20 June: 10 days in H1 at 12.15 %, 10 in H2 at 12.40 %, on 5 000,00 €:
    # 500000 × (0.1215 × 10 + 0.1240 × 10) / 365 = 3363.01… -> 3363 cents.
    assert rates.penalty(500000, date(2026, 6, 20), date(2026, 7, 10)) == 3363


def test_no_penalty_before_the_day_after_the_due_date() -> None:
    assert RATES.penalty(100000, date(2026, 11, 1), date(2026, 11, 1)) == 0


def test_the_shipped_file_covers_tonight_and_states_forty_euros() -> None:
    assert RATES.rate_on(date(2026, 3, 1)) == Decimal("12.15")
    assert (RATES.indemnity_amount, RATES.indemnity_currency) == (4000, "EUR")
    assert RATES.legal_interest_on(date(2026, 3, 1)) == Decimal("2.62")
    assert RATES.legal_interest_on(date(2026, 3, 1), creditor_individual=True) == Decimal("6.67")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (SMALL.replace("2026-07-01", "2026-08-01"), 7, "1 January or 1 July"),
        (SMALL.replace('"2.40"', '"lots"'), 7, "decimal"),
        (SMALL.replace("2025-07-01", "2026-01-01"), 6, "2026-01-01 is given twice"),
        (SMALL.replace("currency: EUR", "currency: euro"), 3, "pattern"),
    ],
)
def test_a_broken_rates_file_names_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(PolicyError, match=rf"^late_payment\.yaml line {line}: .*{message}"):
        parse_late_payment_rates(text)
