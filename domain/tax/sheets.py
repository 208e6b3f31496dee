"""The files an accountant files from: a CSV pair and an XLSX workbook per return.

``OSS_2026-Q3.csv`` holds the return (one row per section, treatment, country, rate and
corrected period), ``OSS_2026-Q3.detail.csv`` every line behind it, and
``OSS_2026-Q3.xlsx`` both as the sheets ``Return`` and ``Detail``. Amounts are euros
with two decimals (``1234.56``, a dot, no thousands separator in the CSV); the detail
also shows each line in its own currency with the ECB rate used.

The bytes depend only on the return's content: rows are sorted, the CSV uses ``\\n``
line ends, and the workbook's timestamps (the document properties and the zip entries,
which openpyxl stamps with the time of saving) are pinned to the period's last day, so
computing the same return twice gives byte-identical files. This module makes bytes;
writing them is the task's job.

Building the workbook is the slow part (openpyxl, a cell at a time: about half a
minute a night for a medium shop's open returns, which are mostly unchanged). Its
content is fixed by the two CSVs, the due date, the provisional-rate note and this
module's code, so ``xlsx_fingerprint`` of those lets the writer skip a workbook whose
inputs did not change since it was last built.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Sequence
from datetime import datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font

from domain.normalise.codes import minor_exponent
from domain.tax.amounts import major
from domain.tax.ledger import ReturnKey, vat_due
from domain.tax.periods import bounds

RETURN_HEADER = (
    "regime",
    "period",
    "section",
    "treatment",
    "country",
    "rate",
    "corrected_period",
    "taxable_base",
    "vat",
    "corrections",
    "currency",
    "lines",
)
DETAIL_HEADER = (
    "period",
    "section",
    "treatment",
    "corrected_period",
    "tax_point_on",
    "source",
    "source_id",
    "invoice_id",
    "payment_id",
    "customer_id",
    "customer_country",
    "customer_vat_id",
    "country",
    "rate",
    "rate_source",
    "currency",
    "taxable_base",
    "vat",
    "fx_rate",
    "fx_on",
    "taxable_base_eur",
    "vat_eur",
    "line_key",
)
TITLES = {"OSS": "Union OSS return", "FR_CA3": "CA3 summary (France)"}
_ORDER = ["section", "treatment", "country", "rate", "corrected_period"]
#: What lays the workbook out: a change to either must rebuild every workbook.
_LAYOUT = hashlib.sha256(Path(__file__).read_bytes() + openpyxl.__version__.encode()).digest()


def file_stem(key: ReturnKey) -> str:
    return f"{key.regime}_{key.period}"


def return_rows(totals: pd.DataFrame) -> list[list[Any]]:
    """The return's rows in a fixed order, amounts in euros."""
    frame = _sorted(totals, [*_ORDER])
    return [
        [
            row["regime"],
            row["period"],
            row["section"],
            row["treatment"],
            row["country"],
            _rate(row["rate"]),
            row["corrected_period"] or "",
            major(int(row["taxable_base"])),
            major(int(row["vat"])),
            major(int(row["corrections"])),
            row["currency"],
            int(row["lines"]),
        ]
        for row in frame
    ]


def detail_rows(lines: pd.DataFrame) -> list[list[Any]]:
    """Every line of the return, in a fixed order, in its currency and in euros."""
    frame = _sorted(lines, [*_ORDER, "tax_point_on", "line_key"])
    out = []
    for row in frame:
        currency = row["currency"]
        out.append(
            [
                row["period"],
                row["section"],
                row["treatment"],
                row["corrected_period"] or "",
                row["tax_point_on"].isoformat(),
                row["source"],
                row["source_id"],
                row["invoice_id"] or "",
                row["payment_id"] or "",
                row["customer_id"] or "",
                row["customer_country"] or "",
                row["customer_vat_id"] or "",
                row["country"],
                _rate(row["rate"]),
                row["rate_source"],
                currency,
                _in_currency(int(row["taxable_base"]), currency),
                _in_currency(int(row["vat"]), currency),
                "" if row["fx_rate"] is None else Decimal(str(row["fx_rate"])).normalize(),
                "" if row["fx_on"] is None else row["fx_on"].isoformat(),
                major(int(row["taxable_base_eur"])),
                major(int(row["vat_eur"])),
                row["line_key"],
            ]
        )
    return out


def csv_bytes(header: Sequence[str], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[_text(v) for v in row] for row in rows])
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(
    key: ReturnKey,
    totals: pd.DataFrame,
    lines: pd.DataFrame,
    *,
    due_on: Any,
    provisional_fx: bool,
) -> bytes:
    """The workbook: ``Return`` (title, rows, total due) and ``Detail`` (every line)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Return"
    bold = Font(bold=True)
    sheet.append([f"{TITLES.get(key.regime, key.regime)} — {key.period}"])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(["Due on", due_on.isoformat()])
    sheet.append(["VAT due (EUR)", major(vat_due(totals, key.regime))])
    if provisional_fx:
        sheet.append(["Exchange rates", "provisional: the period's ECB rate is not loaded yet"])
    sheet.append([])
    sheet.append(list(RETURN_HEADER))
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for row in return_rows(totals):
        sheet.append(row)
    _money_format(sheet, start_row=1, columns=(8, 9, 10))
    detail = book.create_sheet("Detail")
    detail.append(list(DETAIL_HEADER))
    for cell in detail[1]:
        cell.font = bold
    rows = detail_rows(lines)
    for row in rows:
        detail.append(row)
    detail.append(
        [
            "total",
            *[""] * 19,
            major(int(lines["taxable_base_eur"].sum())),
            major(int(lines["vat_eur"].sum())),
            "",
        ]
    )
    for cell in detail[detail.max_row]:
        cell.font = bold
    _money_format(detail, start_row=2, columns=(21, 22))
    detail.freeze_panes = "A2"
    pinned = datetime.combine(bounds(key.period)[1], time())
    book.properties.creator = "Échéancier"
    book.properties.created = pinned
    buffer = io.BytesIO()
    book.save(buffer)
    return _pinned_zip(buffer.getvalue(), pinned)


def xlsx_fingerprint(
    key: ReturnKey, return_csv: bytes, detail_csv: bytes, *, due_on: Any, provisional_fx: bool
) -> str:
    """A digest of everything the workbook of ``key`` is made from: the two CSVs (the
    same rows as its sheets, totals included), the due date, the provisional-rate note,
    and the code that lays it out (this module's source and openpyxl's version), so a
    change of layout also rebuilds. Equal fingerprints mean byte-identical workbooks."""
    digest = hashlib.sha256()
    for part in (
        _LAYOUT,
        f"{key.regime}|{key.period}|{due_on.isoformat()}|{int(provisional_fx)}".encode(),
        hashlib.sha256(return_csv).digest(),
        hashlib.sha256(detail_csv).digest(),
    ):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _pinned_zip(data: bytes, moment: datetime) -> bytes:
    """The same archive with every entry's time and the core properties' ``modified``
    set to ``moment`` (openpyxl stamps both with the time of saving)."""
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + stamp.encode() + rb"\g<2>",
                    content,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=moment.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            target.writestr(entry, content)
    return out.getvalue()


def _money_format(sheet: Any, *, start_row: int, columns: Sequence[int]) -> None:
    for row in sheet.iter_rows(min_row=start_row):
        for cell in row:
            if cell.column in columns and isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00"


def _sorted(frame: pd.DataFrame, keys: list[str]) -> list[dict[str, Any]]:
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return sorted(records, key=lambda r: tuple(_sort_key(r.get(k)) for k in keys))


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, Decimal):
        return (1, value)
    return (2, str(value))


def _rate(value: Any) -> Decimal:
    """``19.0000`` -> ``19``, ``5.5000`` -> ``5.5``: the rate as the law writes it."""
    rate = Decimal(str(value)).normalize()
    return rate.quantize(Decimal(1)) if rate == rate.to_integral() else rate


def _in_currency(amount: int, currency: str) -> Decimal:
    exponent = minor_exponent(currency)
    return Decimal(amount).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)
