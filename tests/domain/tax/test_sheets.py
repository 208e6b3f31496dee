"""The files of a return: byte-identical on every run, and the detail sums to the return."""

from __future__ import annotations

import csv
import io
import random
import zipfile
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from openpyxl import load_workbook

import domain.tax.sheets as sheets
from domain.tax.ledger import DEADLINE_COLUMNS, VAT_LINE_COLUMNS, ReturnKey, build_ledger
from domain.tax.lines import supply_lines
from domain.tax.policy import TaxCalendar, VatRates
from domain.tax.sheets import (
    DETAIL_HEADER,
    RETURN_HEADER,
    _plain,
    csv_bytes,
    detail_rows,
    return_rows,
    xlsx_bytes,
)
from tests.domain.tax import scenario

Q3 = ReturnKey("OSS", "2026-Q3")


def files(rates: VatRates, calendar: TaxCalendar) -> tuple[bytes, bytes, bytes]:
    lines, _ = supply_lines(scenario.facts(), rates, seller_country="FR", timezone="Europe/Paris")
    book = build_ledger(
        lines,
        as_of=date(2026, 10, 1),
        calendar=calendar,
        fx=scenario.ecb(),
        deadlines=pd.DataFrame(columns=list(DEADLINE_COLUMNS)),
        filed_lines=pd.DataFrame(columns=list(VAT_LINE_COLUMNS)),
    )
    totals, detail = book.totals_of(Q3), book.lines_of(Q3)
    return (
        csv_bytes(RETURN_HEADER, return_rows(totals)),
        csv_bytes(DETAIL_HEADER, detail_rows(detail)),
        xlsx_bytes(Q3, totals, detail, due_on=date(2026, 10, 31), provisional_fx=False),
    )


def test_computing_a_return_twice_gives_identical_bytes(
    rates: VatRates, calendar: TaxCalendar
) -> None:
    first = files(rates, calendar)
    second = files(rates, calendar)

    assert first == second
    archive = zipfile.ZipFile(io.BytesIO(first[2]))
    assert {info.date_time for info in archive.infolist()} == {(2026, 9, 30, 0, 0, 0)}
    core = archive.read("docProps/core.xml").decode()
    assert "2026-09-30T00:00:00Z" in core


def test_the_csv_return_and_its_detail(rates: VatRates, calendar: TaxCalendar) -> None:
    summary, detail, _ = files(rates, calendar)

    rows = list(csv.DictReader(io.StringIO(summary.decode())))
    assert [
        (r["section"], r["country"], r["rate"], r["corrected_period"], r["vat"], r["corrections"])
        for r in rows
    ] == [
        ("correction", "DE", "19", "2026-Q2", "0.00", "-19.00"),
        ("supplies", "BE", "21", "", "8.50", "0.00"),
        ("supplies", "DE", "19", "", "3.03", "0.00"),
        ("supplies", "IT", "22", "", "9.01", "0.00"),
        ("supplies", "NL", "21", "", "17.95", "0.00"),
    ]
    lines = list(csv.DictReader(io.StringIO(detail.decode())))
    assert sum(Decimal(r["vat_eur"]) for r in lines) == Decimal("19.49")
    assert sum(Decimal(r["taxable_base_eur"]) for r in lines) == sum(
        Decimal(r["taxable_base"]) for r in rows
    )
    usd = next(r for r in lines if r["currency"] == "USD")
    assert (usd["taxable_base"], usd["vat"], usd["fx_rate"], usd["fx_on"]) == (
        "100.00",
        "21.00",
        "1.17",
        "2026-09-30",
    )


def test_the_workbook_shows_the_return_and_every_line(
    rates: VatRates, calendar: TaxCalendar
) -> None:
    *_, data = files(rates, calendar)

    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Return", "Detail"]
    sheet = book["Return"]
    assert sheet["A1"].value == "Union OSS return — 2026-Q3"
    assert (sheet["B2"].value, Decimal(str(sheet["B3"].value))) == ("2026-10-31", Decimal("19.49"))
    detail = list(book["Detail"].iter_rows(min_row=2, values_only=True))
    assert len(detail) == 6 + 1  # six lines and the total
    assert detail[-1][0] == "total"
    assert Decimal(str(detail[-1][21])) == Decimal("19.49")


@pytest.mark.parametrize("as_of", [date(2026, 8, 2), date(2026, 9, 2), date(2026, 10, 1)])
def test_detail_lines_written_as_xml_give_openpyxls_own_bytes(
    rates: VatRates, calendar: TaxCalendar, monkeypatch: pytest.MonkeyPatch, as_of: date
) -> None:
    shop = scenario.shop()
    shop.customer("c_odd", "FR")  # an id openpyxl must escape: that detail goes through it
    shop.invoice("in_odd & <é>", "c_odd", "2026-08-07", [("FR", "20", 1000, 200)])
    lines, _ = supply_lines(shop.facts(), rates, seller_country="FR", timezone="Europe/Paris")
    book = build_ledger(
        lines,
        as_of=as_of,
        calendar=calendar,
        fx=scenario.ecb(),
        deadlines=pd.DataFrame(columns=list(DEADLINE_COLUMNS)),
        filed_lines=pd.DataFrame(columns=list(VAT_LINE_COLUMNS)),
    )

    def workbooks() -> dict[ReturnKey, bytes]:
        return {
            key: xlsx_bytes(
                key,
                book.totals_of(key),
                book.lines_of(key),
                due_on=date(2026, 10, 31),
                provisional_fx=key.regime == "OSS",
            )
            for key in book.returns
        }

    fast = workbooks()
    monkeypatch.setattr(sheets, "_AS_XML", False)
    assert workbooks() == fast
    plain = [k for k in book.returns if all(map(_plain, detail_rows(book.lines_of(k))))]
    assert max(len(book.lines_of(key)) for key in plain) >= 2  # rows written as XML
    for key in book.returns:
        if "in_odd & <é>" in set(book.lines_of(key)["source_id"]):
            detail = load_workbook(io.BytesIO(fast[key]))["Detail"]
            assert "in_odd & <é>" in [row[6] for row in detail.iter_rows(values_only=True)]


# -- the column-wise ways give the value-by-value ways' answers ------------------------

ODD = ["", "a,b", 'say "hi"', "two\nlines", "cr\r", "x y", "in_1", "é", "Z", "a"]


def random_values(rng: random.Random, kind: str, n: int) -> list[Any]:
    """``n`` values of one kind (with ``None``s), or of several kinds for ``mixed``."""
    pick = {
        "str": lambda: rng.choice([*ODD, f"in_{rng.randint(0, 9)}", f"FR{rng.randint(0, 3)}"]),
        "decimal": lambda: Decimal(rng.choice(["19", "19.0", "5.5", "-0.01", "0", "100.25"])),
        "date": lambda: date(2026, rng.randint(1, 12), rng.randint(1, 28)),
        "mixed": lambda: rng.choice(["b", Decimal("1"), date(2026, 1, 1), 7]),
        "int": lambda: rng.randint(-20, 20),
    }[kind]
    return [None if rng.random() < 0.2 else pick() for _ in range(n)]


@pytest.mark.parametrize("seed", range(40))
def test_sorting_by_codes_orders_as_the_key_tuples_do(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(0, 60)
    kinds = [rng.choice(["str", "decimal", "date", "mixed", "int", "str"]) for _ in range(4)]
    frame = pd.DataFrame({f"k{i}": random_values(rng, k, n) for i, k in enumerate(kinds)})
    frame["row"] = range(n)
    keys = [*rng.sample(list(frame.columns[:4]), rng.randint(1, 4)), "absent"]
    expected = sheets._sorted_by_keys(frame.astype(object).where(frame.notna(), None), keys)
    assert list(sheets._sorted(frame, keys)["row"]) == list(expected["row"])


@pytest.mark.parametrize("seed", range(40))
def test_csv_a_column_at_a_time_is_the_writers_bytes(seed: int) -> None:
    rng = random.Random(seed)
    width = rng.randint(1, 5)
    kinds = [rng.choice(["str", "decimal", "str"]) for _ in range(width)]
    special = rng.random() < 0.5  # else only values nothing needs to quote
    columns = []
    for kind in kinds:
        values = random_values(rng, kind, rng.randint(0, 30) if width == 1 else 30)
        values = [v if v is not None else ("" if kind == "str" else Decimal("0")) for v in values]
        if not special:
            values = [
                v if not isinstance(v, str) or v.isalnum() or v == "" else "x" for v in values
            ]
        columns.append(values)
    rows = (
        [list(row) for row in zip(*columns, strict=True)]
        if width > 1
        else [[v] for v in columns[0]]
    )
    header = [f"h{i}" for i in range(width)]
    assert csv_bytes(header, rows) == sheets._csv_writer_bytes(header, rows)


@pytest.mark.parametrize("seed", range(40))
def test_plain_a_column_at_a_time_is_plain_row_by_row(seed: int) -> None:
    rng = random.Random(seed)
    kinds = [rng.choice(["str", "decimal", "str", "int"]) for _ in range(3)]
    columns = [random_values(rng, k, 20) for k in kinds]
    columns = [[v if v is not None else "" for v in c] for c in columns]
    if rng.random() < 0.5:  # mostly plain: ids, codes, amounts
        columns = [
            [v if not isinstance(v, str) or v.isalnum() else "in_1" for v in c] for c in columns
        ]
    rows = [list(row) for row in zip(*columns, strict=True)]
    assert sheets._all_plain(rows) == all(map(_plain, rows))


def test_a_value_holding_the_joins_separator_is_not_plain() -> None:
    rows = [["in_1", Decimal("1.00")], ["x y", Decimal("2.00")]]
    assert not sheets._all_plain(rows)
    assert sheets._all_plain([["in_1", Decimal("1.00")], ["in_2", Decimal("2.00")]])
