"""ECB reference rates: both CSV layouts, and the art. 369h choice of rate."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.tax.fx import FxError, FxRate, FxTable, Pick, parse_ecb_csv
from tests.domain.tax.scenario import FIXTURES


def test_the_history_file_is_read_without_its_gaps() -> None:
    rates = parse_ecb_csv((FIXTURES / "eurofxref-hist.csv").read_text())

    assert FxRate("USD", date(2026, 9, 30), Decimal("1.1700")) in rates
    assert FxRate("JPY", date(2026, 9, 30), Decimal("172.35")) in rates
    assert not [r for r in rates if r.currency == "BGN"]  # N/A everywhere
    assert len(rates) == 7 * 6


def test_the_daily_file_with_its_spaces_and_long_dates() -> None:
    text = "Date, USD, JPY, \n30 September 2026, 1.1700, 172.35, \n"

    assert parse_ecb_csv(text) == [
        FxRate("USD", date(2026, 9, 30), Decimal("1.1700")),
        FxRate("JPY", date(2026, 9, 30), Decimal("172.35")),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Day,USD\n", r"rates.csv:1: expected a header"),
        ("Date,USX\n2026-09-30,1.1\n", r"rates.csv:1: column 2: 'USX' is not"),
        ("Date,USD\n2026-09-31,1.1\n", r"rates.csv:2: not a date"),
        ("Date,USD\n2026-09-30,1,1\n2026-09-29,abc\n", r"rates.csv:3: USD: not a rate"),
        ("Date,USD\n2026-09-30,-1.1\n", r"rates.csv:2: USD: a rate must be > 0"),
    ],
)
def test_a_bad_file_names_its_line(text: str, message: str) -> None:
    with pytest.raises(FxError, match=message):
        parse_ecb_csv(text, source="rates.csv")


def _table(*days: str) -> FxTable:
    return FxTable(
        FxRate("USD", date.fromisoformat(d), Decimal(f"1.1{n}")) for n, d in enumerate(days)
    )


def test_the_rate_of_the_last_day_of_the_period() -> None:
    table = _table("2026-09-29", "2026-09-30", "2026-10-01")

    assert table.pick("USD", date(2026, 9, 30)) == Pick(Decimal("1.11"), date(2026, 9, 30), False)


def test_no_publication_on_the_last_day_takes_the_next_one() -> None:
    # 2027-03-31 is a Wednesday; suppose no publication until Thursday 1 April
    table = _table("2027-03-30", "2027-04-01")

    assert table.pick("USD", date(2027, 3, 31)) == Pick(Decimal("1.11"), date(2027, 4, 1), False)


def test_before_the_next_publication_is_loaded_the_rate_is_provisional() -> None:
    table = _table("2026-09-28", "2026-09-29")

    assert table.pick("USD", date(2026, 9, 30)) == Pick(Decimal("1.11"), date(2026, 9, 29), True)


def test_a_gap_in_the_loaded_rates_is_not_a_next_publication() -> None:
    assert _table("2026-11-20").pick("USD", date(2026, 9, 30)) is None
    assert _table("2026-09-01").pick("JPY", date(2026, 9, 30)) is None
