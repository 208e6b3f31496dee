"""The dated VAT rates and the tax calendar, as data with line-numbered errors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.tax.policy import (
    EU_COUNTRIES,
    PolicyError,
    RateMissing,
    TaxCalendar,
    VatRates,
    parse_tax_calendar,
    parse_vat_rates,
)


def test_the_shipped_rates_cover_the_27_member_states(rates: VatRates) -> None:
    assert set(rates.countries) == EU_COUNTRIES
    assert len(EU_COUNTRIES) == 27
    assert all(c.standard[0].source for c in rates.countries.values())


@pytest.mark.parametrize(
    ("country", "category", "day", "rate"),
    [
        ("DE", "standard", date(2020, 8, 1), "16"),  # the cut of the second half of 2020
        ("DE", "standard", date(2021, 1, 1), "19"),
        ("EE", "standard", date(2025, 6, 30), "22"),
        ("EE", "standard", date(2025, 7, 1), "24"),
        ("FI", "standard", date(2024, 9, 1), "25.5"),
        ("RO", "standard", date(2025, 7, 31), "19"),
        ("RO", "reduced_low", date(2025, 8, 1), "11"),
        ("FR", "reduced_low", date(2026, 5, 1), "5.5"),
        ("FR", "reduced_high", date(2026, 5, 1), "10"),
        ("FR", "super_reduced", date(2026, 5, 1), "2.1"),
        ("DE", "reduced_high", date(2026, 5, 1), "7"),  # one reduced rate: low = high
    ],
)
def test_a_rate_is_the_one_in_force_that_day(
    rates: VatRates, country: str, category: str, day: date, rate: str
) -> None:
    assert rates.rate(country, category, day) == Decimal(rate)


def test_a_rate_not_on_file_is_an_error_not_a_guess(rates: VatRates) -> None:
    with pytest.raises(RateMissing, match="no reduced_low rate of PL recorded on 2026-01-01"):
        rates.rate("PL", "reduced_low", date(2026, 1, 1))  # history starts at the snapshot
    with pytest.raises(RateMissing, match="no super_reduced rate of DE"):
        rates.rate("DE", "super_reduced", date(2026, 1, 1))
    with pytest.raises(RateMissing, match="not an EU member state"):
        rates.rate("CH", "standard", date(2026, 1, 1))


def test_the_rates_in_force_list_every_category(rates: VatRates) -> None:
    assert rates.rates_on("FR", date(2026, 1, 1)) == {
        Decimal(r) for r in ("20", "10", "5.5", "2.1")
    }
    assert rates.rates_on("DK", date(2026, 1, 1)) == {Decimal(25)}


def _rates_yaml(fr_entry: str) -> str:
    others = "\n".join(
        f'  {c}:\n    standard:\n      - {{from: 2016-01-01, rate: "20", source: t}}'
        for c in sorted(EU_COUNTRIES - {"FR"})
    )
    return f"countries:\n  FR:\n    standard:\n{fr_entry}\n{others}\n"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('      - {from: 2016-13-01, rate: "20", source: t}', r":4: FR standard: 'from' must"),
        ("      - {from: 2016-01-01, rate: 20.5, source: t}", r":4: FR standard: rate: write"),
        ('      - {from: 2016-01-01, rate: "20"}', r":4: FR standard: every rate needs"),
        (
            '      - {from: 2020-01-01, rate: "20", source: t}\n'
            '      - {from: 2019-01-01, rate: "19", source: t}',
            r":5: FR standard: dates must increase",
        ),
    ],
)
def test_a_mistake_in_the_rates_names_its_line(entry: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_vat_rates(_rates_yaml(entry))


def test_a_missing_member_state_is_an_error() -> None:
    text = _rates_yaml('      - {from: 2016-01-01, rate: "20", source: t}').replace(
        "  DE:", "  XX:"
    )
    with pytest.raises(PolicyError, match="'XX' is not an EU member state"):
        parse_vat_rates(text)


def test_due_dates(calendar: TaxCalendar) -> None:
    assert calendar.due_on("OSS", "2026-Q1") == date(2026, 4, 30)
    assert calendar.due_on("OSS", "2026-Q4") == date(2027, 1, 31)
    assert calendar.due_on("FR_CA3", "2026-10") == date(2026, 11, 24)
    assert calendar.reminder_days == (10, 3)
    assert calendar.finance_locale == "fr"


def test_a_due_day_past_the_end_of_the_month_is_its_last_day() -> None:
    text = (
        "returns:\n  OSS: {period: quarter, due_months_after: 1, due_day: last}\n"
        "  FR_CA3: {period: month, due_months_after: 1, due_day: 31}\n"
    )
    calendar = parse_tax_calendar(text)
    assert calendar.due_on("FR_CA3", "2027-01") == date(2027, 2, 28)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("reminder_days: [10, -3]\n", r":1: reminder_days must be"),
        ("finance_locale: de\n", r":1: finance_locale must be"),
        (
            "returns:\n  OSS: {period: week, due_months_after: 1, due_day: last}\n",
            r":2: OSS.period",
        ),
        ("remind: [3]\n", r":1: unknown setting 'remind'"),
    ],
)
def test_a_mistake_in_the_calendar_names_its_line(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_tax_calendar(text)
