"""Returns computed from the hand-made shop (tests/domain/tax/scenario.py), to the cent."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from domain.tax.ledger import (
    DEADLINE_COLUMNS,
    VAT_LINE_COLUMNS,
    Ledger,
    ReturnKey,
    TieOutError,
    build_ledger,
    check_tie_out,
    needed_lines,
    return_periods,
    vat_due,
)
from domain.tax.lines import Facts, supply_lines
from domain.tax.policy import TaxCalendar, VatRates
from tests.domain.tax import scenario
from tests.domain.tax.shop import ShopBuilder

NO_DEADLINES = pd.DataFrame(columns=list(DEADLINE_COLUMNS))
NOTHING_FILED = pd.DataFrame(columns=list(VAT_LINE_COLUMNS))


def ledger(
    facts: Facts,
    as_of: date,
    rates: VatRates,
    calendar: TaxCalendar,
    deadlines: pd.DataFrame = NO_DEADLINES,
    filed: pd.DataFrame = NOTHING_FILED,
) -> Ledger:
    lines, problems = supply_lines(facts, rates, seller_country="FR", timezone="Europe/Paris")
    assert problems == []
    return build_ledger(
        lines,
        as_of=as_of,
        calendar=calendar,
        fx=scenario.ecb(),
        deadlines=deadlines,
        filed_lines=filed,
    )


def rows(book: Ledger, regime: str, period: str) -> list[tuple[Any, ...]]:
    """(section, treatment, country, rate, corrected, base, vat, corrections, lines)."""
    totals = book.totals_of(ReturnKey(regime, period))
    found = [
        (
            r["section"],
            r["treatment"],
            r["country"],
            r["rate"],
            r["corrected_period"],
            r["taxable_base"],
            r["vat"],
            r["corrections"],
            r["lines"],
        )
        for r in totals.astype(object).where(totals.notna(), None).to_dict("records")
    ]
    # in reading order: section, treatment, country, then the rate as written ("20" < "5.5")
    return sorted(found, key=lambda r: (*r[:3], str(r[3].normalize()), r[4] or ""))


def D(value: str) -> Decimal:
    return Decimal(value)


def test_the_oss_return_of_a_quarter_by_country_and_rate(
    rates: VatRates, calendar: TaxCalendar
) -> None:
    book = ledger(scenario.facts(), date(2026, 10, 1), rates, calendar)

    assert book.returns == [
        ReturnKey("OSS", "2026-Q3"),
        ReturnKey("OSS", "2026-Q4"),
        ReturnKey("FR_CA3", "2026-09"),
        ReturnKey("FR_CA3", "2026-10"),
    ]
    assert rows(book, "OSS", "2026-Q3") == [
        # the July refund of a June sale corrects the second quarter
        ("correction", "oss", "DE", D("19"), "2026-Q2", -10000, 0, -1900, 1),
        ("supplies", "oss", "BE", D("21"), None, 4050, 850, 0, 1),  # derived from 49.00
        ("supplies", "oss", "DE", D("19"), None, 1597, 303, 0, 1),
        ("supplies", "oss", "IT", D("22"), None, 4099, 901, 0, 2),  # sale less half refund
        ("supplies", "oss", "NL", D("21"), None, 8547, 1795, 0, 1),  # USD at 1.1700
    ]
    q3 = book.totals_of(ReturnKey("OSS", "2026-Q3"))
    assert vat_due(q3, "OSS") == 850 + 303 + 901 + 1795 - 1900
    deadline = book.deadline_of(ReturnKey("OSS", "2026-Q3"))
    assert (deadline["due_on"], deadline["status"], deadline["vat_due"], deadline["lines"]) == (
        date(2026, 10, 31),
        "open",
        1949,
        6,
    )
    # the French and reverse-charged sales are not in the OSS return
    assert set(book.lines_of(ReturnKey("OSS", "2026-Q3"))["treatment"]) == {"oss"}


def test_the_ca3_months_domestic_by_rate_and_the_rest_apart(
    rates: VatRates, calendar: TaxCalendar
) -> None:
    july = ledger(scenario.facts(), date(2026, 8, 1), rates, calendar)
    august = ledger(scenario.facts(), date(2026, 9, 1), rates, calendar)
    september = ledger(scenario.facts(), date(2026, 10, 1), rates, calendar)

    assert rows(july, "FR_CA3", "2026-07") == [
        ("supplies", "domestic", "FR", D("20"), None, 15000, 3000, 0, 2),
        ("supplies", "domestic", "FR", D("5.5"), None, 2000, 110, 0, 1),
        ("supplies", "oss", "BE", D("21"), None, 4050, 850, 0, 1),
        # the CA3 shows the refund in the month it is made
        ("supplies", "oss", "DE", D("19"), None, -10000, -1900, 0, 1),
    ]
    assert july.deadline_of(ReturnKey("FR_CA3", "2026-07"))["vat_due"] == 3110
    assert july.deadline_of(ReturnKey("FR_CA3", "2026-07"))["due_on"] == date(2026, 8, 24)
    assert rows(august, "FR_CA3", "2026-08") == [
        ("supplies", "oss", "DE", D("19"), None, 1597, 303, 0, 1),
        ("supplies", "oss", "NL", D("21"), None, 8621, 1810, 0, 1),  # USD at 1.1600
        ("supplies", "reverse_charge", "DE", D("0"), None, 49000, 0, 0, 1),
    ]
    assert august.deadline_of(ReturnKey("FR_CA3", "2026-08"))["vat_due"] == 0
    assert rows(september, "FR_CA3", "2026-09") == [
        ("supplies", "domestic", "FR", D("20"), None, 49000, 9800, 0, 1),  # French B2B
        ("supplies", "oss", "IT", D("22"), None, 4099, 901, 0, 2),
    ]
    assert september.deadline_of(ReturnKey("FR_CA3", "2026-09"))["vat_due"] == 9800


def test_the_detail_lines_sum_to_every_return(rates: VatRates, calendar: TaxCalendar) -> None:
    book = ledger(scenario.facts(), date(2026, 10, 1), rates, calendar)

    for key in book.returns:
        lines, totals = book.lines_of(key), book.totals_of(key)
        assert int(lines["taxable_base_eur"].sum()) == int(totals["taxable_base"].sum())
        assert int(lines["vat_eur"].sum()) == int((totals["vat"] + totals["corrections"]).sum())
    usd = book.lines[book.lines["currency"] == "USD"]
    assert list(zip(usd["regime"], usd["fx_rate"], usd["fx_on"], strict=True)) == [
        ("OSS", D("1.1700"), date(2026, 9, 30))
    ]


def test_a_return_that_does_not_sum_to_its_lines_is_refused(
    rates: VatRates, calendar: TaxCalendar
) -> None:
    book = ledger(scenario.facts(), date(2026, 10, 1), rates, calendar)
    tampered = book.totals.copy()
    tampered.loc[tampered.index[0], "vat"] += 1

    with pytest.raises(TieOutError):
        check_tie_out(book.lines, tampered)


def _filed(book: Ledger, *keys: ReturnKey) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The deadlines and stored lines as they are once finance filed ``keys``."""
    deadlines = book.deadlines.copy()
    for key in keys:
        mine = (deadlines["regime"] == key.regime) & (deadlines["period"] == key.period)
        deadlines.loc[mine, "status"] = "filed"
    filed = pd.concat([book.lines_of(k) for k in keys], ignore_index=True)
    return deadlines, filed


def test_a_late_refund_corrects_the_filed_quarter_in_the_next_return(
    rates: VatRates, calendar: TaxCalendar
) -> None:
    shop = scenario.shop()
    shop.invoice("in_de3", "c_de", "2026-05-10", [("DE", "19", 5000, 950)], payment="ch_de3")
    first = ledger(shop.facts(), date(2026, 7, 2), rates, calendar)
    q2 = ReturnKey("OSS", "2026-Q2")
    assert rows(first, "OSS", "2026-Q2") == [
        ("supplies", "oss", "DE", D("19"), None, 15000, 2850, 0, 2)
    ]
    deadlines, filed = _filed(first, q2)
    # A refund dated 2026-06-28 reaches the warehouse after Q2 was filed:
    # half of 59.50: VAT 950 × 2975 / 5950 = 475, base 2975 − 475 = 2500.
    shop.refund("re_late", "ch_de3", "2026-06-28", 2975)

    later = ledger(shop.facts(), date(2026, 8, 2), rates, calendar, deadlines, filed)

    assert q2 not in later.returns
    assert q2 in later.filed
    assert later.lines_of(q2).empty  # nothing of Q2 is rewritten
    assert rows(later, "OSS", "2026-Q3") == [
        # the July refund of a June sale (-100.00 / -19.00) and the late June refund
        ("correction", "oss", "DE", D("19"), "2026-Q2", -12500, 0, -2375, 2),
        ("supplies", "oss", "BE", D("21"), None, 4050, 850, 0, 1),
    ]
    late = later.lines[later.lines["source_id"] == "re_late"]
    corrected = late["corrected_period"].fillna("-")
    assert list(zip(late["regime"], late["period"], corrected, strict=True)) == [
        ("FR_CA3", "2026-06", "-"),  # June's CA3 was not filed: it simply has the refund
        ("OSS", "2026-Q3", "2026-Q2"),
    ]
    assert later.deadline_of(ReturnKey("OSS", "2026-Q3"))["vat_due"] == 850 - 2375


def test_a_payment_that_fails_after_its_return_was_filed_is_corrected(
    rates: VatRates, calendar: TaxCalendar
) -> None:
    shop = ShopBuilder()
    shop.customer("c_be", "BE")
    shop.payment("pm_late", "c_be", "2026-06-15", 4900)
    first = ledger(shop.facts(), date(2026, 7, 1), rates, calendar)
    deadlines, filed = _filed(first, ReturnKey("OSS", "2026-Q2"))
    shop.rows["payments"][0]["status"] = "failed"  # GoCardless late failure

    later = ledger(shop.facts(), date(2026, 7, 10), rates, calendar, deadlines, filed)

    assert rows(later, "OSS", "2026-Q3") == [
        ("correction", "oss", "BE", D("21"), "2026-Q2", -4050, 0, -850, 1)
    ]


def test_the_returns_read_the_open_and_the_filed_periods_only(
    rates: VatRates, calendar: TaxCalendar
) -> None:
    """What the tax step keeps of each slice of customers (``needed_lines``) is all the
    ledger reads: the ledger of those lines is the ledger of every line."""
    shop = scenario.shop()
    shop.invoice("in_de3", "c_de", "2026-05-10", [("DE", "19", 5000, 950)], payment="ch_de3")
    shop.invoice("in_old", "c_de", "2025-02-10", [("DE", "19", 10000, 1900)], payment="ch_o")
    first = ledger(shop.facts(), date(2026, 7, 2), rates, calendar)
    deadlines, filed = _filed(first, ReturnKey("OSS", "2026-Q2"))
    shop.refund("re_late", "ch_de3", "2026-06-28", 2975)  # after Q2 was filed
    shop.refund("re_old", "ch_o", "2026-07-20", 5950)  # of a 2025 sale
    shop.refund("re_next", "ch_o", "2026-08-20", 100)  # after as_of: not known yet
    as_of = date(2026, 8, 2)

    assert return_periods(as_of, calendar, deadlines) == {
        "OSS": (["2026-Q3"], ["2026-Q2"]),
        "FR_CA3": (["2026-06", "2026-07", "2026-08"], []),  # June computed, not filed
    }
    lines, _ = supply_lines(shop.facts(), rates, seller_country="FR", timezone="Europe/Paris")
    kept = needed_lines(lines, as_of=as_of, calendar=calendar, deadlines=deadlines)
    assert {"in_de3", "re_late", "re_old"} <= set(kept["source_id"])  # OSS Q2 and Q3
    assert {"in_old", "re_next"} <= set(lines["source_id"])
    assert not {"in_old", "re_next"} & set(kept["source_id"])  # 2025; after as_of
    assert len(kept) < len(lines)

    def book(supply: pd.DataFrame) -> Ledger:
        return build_ledger(
            supply,
            as_of=as_of,
            calendar=calendar,
            fx=scenario.ecb(),
            deadlines=deadlines,
            filed_lines=filed,
        )

    every, some = book(lines), book(kept.reset_index(drop=True))
    for name in ("lines", "totals", "deadlines"):
        pd.testing.assert_frame_equal(getattr(some, name), getattr(every, name))
    assert (some.returns, some.filed, some.problems) == (every.returns, every.filed, every.problems)


def test_recomputing_the_same_day_gives_the_same_ledger(
    rates: VatRates, calendar: TaxCalendar
) -> None:
    one = ledger(scenario.facts(), date(2026, 10, 1), rates, calendar)
    two = ledger(scenario.facts(), date(2026, 10, 1), rates, calendar)

    pd.testing.assert_frame_equal(one.lines, two.lines)
    pd.testing.assert_frame_equal(one.totals, two.totals)


def test_an_unfiled_earlier_return_is_still_recomputed_and_overdue(
    rates: VatRates, calendar: TaxCalendar
) -> None:
    first = ledger(scenario.facts(), date(2026, 7, 2), rates, calendar)

    later = ledger(scenario.facts(), date(2026, 11, 2), rates, calendar, first.deadlines)

    q2 = ReturnKey("OSS", "2026-Q2")
    assert q2 in later.returns
    assert later.deadline_of(q2)["status"] == "overdue"
    assert rows(later, "OSS", "2026-Q2") == [
        ("supplies", "oss", "DE", D("19"), None, 10000, 1900, 0, 1)
    ]


def test_events_after_as_of_are_not_known_yet(rates: VatRates, calendar: TaxCalendar) -> None:
    book = ledger(scenario.facts(), date(2026, 7, 12), rates, calendar)

    assert rows(book, "FR_CA3", "2026-07") == [
        ("supplies", "domestic", "FR", D("20"), None, 10000, 2000, 0, 1),
        ("supplies", "oss", "DE", D("19"), None, -10000, -1900, 0, 1),
    ]


def test_a_quarterly_ca3_is_periodised_by_quarter(rates: VatRates, calendar: TaxCalendar) -> None:
    rule = replace(calendar.returns["FR_CA3"], period="quarter")
    quarterly = replace(calendar, returns={**calendar.returns, "FR_CA3": rule})

    book = ledger(scenario.facts(), date(2026, 10, 1), rates, quarterly)

    ca3 = book.totals_of(ReturnKey("FR_CA3", "2026-Q3"))
    assert vat_due(ca3, "FR_CA3") == 3000 + 110 + 9800
    assert book.deadline_of(ReturnKey("FR_CA3", "2026-Q3"))["due_on"] == date(2026, 10, 24)
