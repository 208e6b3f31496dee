"""The tax files of a night: a workbook is built only when what it shows changed.

Drives ``write_tax_files`` on the hand-computed shop's ledger (``tests/domain/tax``) in
a temporary reports folder, counting the workbooks built.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import tasks.tax
from domain.tax import Ledger, build_ledger, load_tax_calendar, load_vat_rates, supply_lines
from domain.tax.ledger import DEADLINE_COLUMNS, VAT_LINE_COLUMNS, ReturnKey
from domain.tax.sheets import xlsx_bytes
from echeancier.settings import Settings
from tasks.tax import write_tax_files
from tests.domain.tax import scenario

POLICIES = Path(__file__).resolve().parents[2] / "policies"
Q3 = ReturnKey("OSS", "2026-Q3")


def ledger(facts: Any = None) -> Ledger:
    calendar = load_tax_calendar(POLICIES)
    lines, _ = supply_lines(
        facts or scenario.facts(),
        load_vat_rates(POLICIES),
        seller_country="FR",
        timezone="Europe/Paris",
    )
    return build_ledger(
        lines,
        as_of=date(2026, 10, 1),
        calendar=calendar,
        fx=scenario.ecb(),
        deadlines=pd.DataFrame(columns=list(DEADLINE_COLUMNS)),
        filed_lines=pd.DataFrame(columns=list(VAT_LINE_COLUMNS)),
    )


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    return tmp_path / "reports"


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The returns whose workbook the task builds, in order."""
    names: list[str] = []

    def counting(key: ReturnKey, *args: Any, **kwargs: Any) -> bytes:
        names.append(f"{key.regime} {key.period}")
        return xlsx_bytes(key, *args, **kwargs)

    monkeypatch.setattr(tasks.tax, "xlsx_bytes", counting)
    return names


def night(reports: Path, book: Ledger) -> dict[str, bytes]:
    write_tax_files.fn(Settings(ECHEANCIER_REPORTS=str(reports)), book)  # type: ignore[call-arg]
    return {p.name: p.read_bytes() for p in sorted((reports / "tax").iterdir())}


def test_an_unchanged_return_keeps_its_workbook_without_building_it(
    reports: Path, built: list[str]
) -> None:
    book = ledger()
    first = night(reports, book)
    assert sorted(built) == sorted(f"{k.regime} {k.period}" for k in book.returns)
    times = {p.name: p.stat().st_mtime_ns for p in (reports / "tax").iterdir()}

    built.clear()
    again = night(reports, ledger())

    assert built == []
    assert again == first
    assert {p.name: p.stat().st_mtime_ns for p in (reports / "tax").iterdir()} == times
    # only the accountant's files in the tax folder
    assert {Path(name).suffix for name in again} == {".csv", ".xlsx"}
    q3 = next(k for k in book.returns if k == Q3)
    assert again["OSS_2026-Q3.xlsx"] == xlsx_bytes(
        q3,
        book.totals_of(q3),
        book.lines_of(q3),
        due_on=book.deadline_of(q3)["due_on"],
        provisional_fx=False,
    )


def test_a_return_whose_lines_changed_gets_a_new_workbook_and_only_it(
    reports: Path, built: list[str]
) -> None:
    night(reports, ledger())
    built.clear()
    shop = scenario.shop()
    shop.invoice("in_it2", "c_it", "2026-09-14", [("IT", "22", 10000, 2200)], payment="ch_it2")

    after = night(reports, ledger(shop.facts()))

    # a September sale to an Italian consumer: the OSS quarter and the CA3 month
    assert sorted(built) == ["FR_CA3 2026-09", "OSS 2026-Q3"]
    book = ledger(shop.facts())
    assert after["OSS_2026-Q3.xlsx"] == xlsx_bytes(
        Q3, book.totals_of(Q3), book.lines_of(Q3), due_on=date(2026, 10, 31), provisional_fx=False
    )


def test_a_new_due_date_or_a_provisional_rate_rebuilds_the_workbook(
    reports: Path, built: list[str]
) -> None:
    book = ledger()
    night(reports, book)
    built.clear()
    deadlines = book.deadlines.copy()
    q3 = (deadlines["regime"] == "OSS") & (deadlines["period"] == "2026-Q3")
    deadlines.loc[q3, "due_on"] = date(2026, 11, 2)

    night(reports, replace(book, deadlines=deadlines))
    assert built == ["OSS 2026-Q3"]

    built.clear()
    night(reports, replace(book, deadlines=deadlines, provisional_fx={Q3}))
    assert built == ["OSS 2026-Q3"]


def test_a_workbook_deleted_or_edited_by_hand_is_written_again(
    reports: Path, built: list[str]
) -> None:
    first = night(reports, ledger())
    built.clear()
    (reports / "tax" / "OSS_2026-Q3.xlsx").unlink()
    (reports / "tax" / "FR_CA3_2026-09.xlsx").write_bytes(b"opened and saved in a spreadsheet")

    again = night(reports, ledger())

    assert sorted(built) == ["FR_CA3 2026-09", "OSS 2026-Q3"]
    assert again == first
