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
inputs did not change since it was last built. A workbook that is built has its detail
lines past the first written straight into the sheet's XML, exactly as openpyxl writes
them (inline strings, ``safe_string`` numbers, the money style openpyxl gave the first
line), when every one of them is plain (``_plain``: ids, codes, dates and ``Decimal``);
otherwise openpyxl writes them all. The bytes are the same either way (a test compares
them); the XML way takes a tenth of the time.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import string
import zipfile
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
from openpyxl import Workbook
from openpyxl.compat import safe_string
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

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
        for row in frame.to_dict("records")
    ]


def detail_rows(lines: pd.DataFrame) -> list[list[Any]]:
    """Every line of the return, in a fixed order, in its currency and in euros (built a
    column at a time: an open return holds tens of thousands of lines)."""
    frame = _sorted(lines, [*_ORDER, "tax_point_on", "line_key"])
    col = {name: frame[name].tolist() for name in frame.columns}
    currency = col["currency"]
    columns = [
        col["period"],
        col["section"],
        col["treatment"],
        _blank(col["corrected_period"]),
        _distinct(col["tax_point_on"], date.isoformat),
        col["source"],
        col["source_id"],
        _blank(col["invoice_id"]),
        _blank(col["payment_id"]),
        _blank(col["customer_id"]),
        _blank(col["customer_country"]),
        _blank(col["customer_vat_id"]),
        col["country"],
        _distinct(col["rate"], _rate),
        col["rate_source"],
        currency,
        _distinct(list(zip(col["taxable_base"], currency, strict=True)), _in_currency_of),
        _distinct(list(zip(col["vat"], currency, strict=True)), _in_currency_of),
        _distinct(col["fx_rate"], lambda r: "" if r is None else Decimal(str(r)).normalize()),
        _distinct(col["fx_on"], lambda day: "" if day is None else day.isoformat()),
        _distinct(col["taxable_base_eur"], _major_of),
        _distinct(col["vat_eur"], _major_of),
        col["line_key"],
    ]
    return [list(row) for row in zip(*columns, strict=True)]


def csv_bytes(header: Sequence[str], rows: list[list[Any]]) -> bytes:
    """The rows as ``csv.writer`` writes them (``\\n`` line ends, quotes only where
    needed), a column at a time when no value needs quoting: a detail of a million
    lines was 23 million calls through the writer."""
    texts = _column_texts(rows)
    # one column: the writer quotes an empty value there ('""'), so it writes those
    if texts is None or not len(texts) == len(header) > 1 or _needs_quotes([header, *texts]):
        return _csv_writer_bytes(header, rows)
    lines = [",".join(header), *map(",".join, zip(*texts, strict=True))]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _csv_writer_bytes(header: Sequence[str], rows: list[list[Any]]) -> bytes:
    """``csv_bytes`` through the standard writer, value by value (the reference)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[_text(v) for v in row] for row in rows])
    return buffer.getvalue().encode("utf-8")


def _column_texts(rows: list[list[Any]]) -> list[Sequence[str]] | None:
    """Each column's ``_text`` of its values (strings kept as they are, ``Decimal`` in
    fixed point), or ``None`` when there are no rows or a column holds anything else
    (then the writer writes them)."""
    if not rows:
        return None
    texts: list[Sequence[str]] = []
    for column in zip(*rows, strict=True):
        kinds = set(map(type, column))
        if kinds == {str}:
            texts.append(column)
        elif kinds == {Decimal}:
            texts.append([format(v, "f") for v in column])
        elif kinds == {str, Decimal}:  # the ECB rate: blank for a line in euro
            texts.append([v if type(v) is str else format(v, "f") for v in column])
        else:
            return None
    return texts


#: What makes ``csv.writer`` quote a field (the delimiter, the quote, line ends).
_SPECIAL = re.compile(r'[,"\r\n]')


def _needs_quotes(columns: Sequence[Sequence[str]]) -> bool:
    """Whether any value of ``columns`` would be quoted by the writer."""
    return any(_SPECIAL.search("".join(column)) for column in columns)


def xlsx_bytes(
    key: ReturnKey,
    totals: pd.DataFrame,
    lines: pd.DataFrame,
    *,
    due_on: Any,
    provisional_fx: bool,
    rows: tuple[list[list[Any]], list[list[Any]]] | None = None,
) -> bytes:
    """The workbook: ``Return`` (title, rows, total due) and ``Detail`` (every line).
    ``rows``: ``return_rows(totals)`` and ``detail_rows(lines)`` when the caller has
    them already (the CSVs are made of the same rows)."""
    summary, details = rows if rows is not None else (return_rows(totals), detail_rows(lines))
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
    for row in summary:
        sheet.append(row)
    _money_format(sheet, start_row=1, columns=(8, 9, 10))
    detail = book.create_sheet("Detail")
    detail.append(list(DETAIL_HEADER))
    for cell in detail[1]:
        cell.font = bold
    # openpyxl builds and writes a cell at a time: past the first line, plain lines go
    # into the sheet's XML as openpyxl writes them (``_detail_xml``), the rest through it
    as_xml = details[1:] if _AS_XML and _all_plain(details[1:]) else []
    for row in details[: len(details) - len(as_xml)]:
        detail.append(row)
    last = len(details) + 2
    total = [
        "total",
        *[""] * 19,
        major(int(lines["taxable_base_eur"].sum())),
        major(int(lines["vat_eur"].sum())),
        "",
    ]
    for column, value in enumerate(total, start=1):
        detail.cell(row=last, column=column, value=value)
    for cell in detail[last]:
        cell.font = bold
    # every row of the detail is full, so only its two money columns need a visit
    money = range(2, last + 1) if not as_xml else (2, last)
    for row in money:
        for cell in (detail.cell(row=row, column=21), detail.cell(row=row, column=22)):
            if isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00"
    detail.freeze_panes = "A2"
    pinned = datetime.combine(bounds(key.period)[1], time())
    book.properties.creator = "Échéancier"
    book.properties.created = pinned
    buffer = io.BytesIO()
    book.save(buffer)
    insert = None
    if as_xml:
        style = detail.cell(row=2, column=21).style_id
        insert = (f'<row r="{last}">'.encode(), _detail_xml(as_xml, first_row=3, style=style))
    return _pinned_zip(buffer.getvalue(), pinned, insert)


#: Whether plain detail lines are written as XML (tests compare with openpyxl's own).
_AS_XML = True
_PLAIN = re.compile(r"[A-Za-z0-9_.:/+@-]*")
_LETTERS = [get_column_letter(column) for column in range(1, len(DETAIL_HEADER) + 1)]
_MONEY_COLUMNS = (20, 21)  # taxable_base_eur and vat_eur, from 0


def _plain(row: list[Any]) -> bool:
    """Whether openpyxl would write ``row`` as ``_detail_xml`` does: strings with nothing
    to escape, no formula, error code or edge space; ``Decimal`` numbers."""
    return all(
        type(value) is Decimal or (type(value) is str and _PLAIN.fullmatch(value) is not None)
        for value in row
    )


def _all_plain(rows: list[list[Any]]) -> bool:
    """``all(map(_plain, rows))``, a column at a time: a column's strings are plain when,
    joined by a separator ``_PLAIN`` refuses, deleting ``_PLAIN``'s characters and the
    separator leaves nothing, and the join holds one separator per join (so no value
    held one). ``Decimal`` values are plain; any other kind goes value by value."""
    for column in zip(*rows, strict=True):
        kinds = set(map(type, column))
        if not kinds <= {str, Decimal}:
            return all(map(_plain, rows))  # anything else: value by value
        texts = column if kinds == {str} else [v for v in column if type(v) is str]
        if not texts:
            continue
        joined = _SEPARATOR.join(texts)
        if joined.count(_SEPARATOR) != len(texts) - 1 or joined.encode().translate(
            None, _PLAIN_BYTES
        ):
            return False
    return True


_SEPARATOR = " "  # not in _PLAIN
#: _PLAIN's characters and the separator: what deleting them leaves is not plain (any
#: other character, a non-ASCII one included, leaves a byte)
_PLAIN_BYTES = (string.ascii_letters + string.digits + "_.:/+@-" + _SEPARATOR).encode()


def _detail_xml(rows: list[list[Any]], *, first_row: int, style: int) -> bytes:
    """The ``<row>`` elements openpyxl writes for plain ``rows`` (``_plain``): a string
    as an inline string, an empty one as an empty cell, a number as ``safe_string``
    gives it; the money columns in ``style``. Built a column at a time (each value's
    cell text, ``safe_string`` once per distinct number), then joined row by row."""
    numbers = range(first_row, first_row + len(rows))
    columns = []
    for column, values in enumerate(zip(*rows, strict=True)):
        letter = _LETTERS[column]
        shown = _distinct(list(values), lambda v: v if type(v) is str else safe_string(v))
        kinds = [type(v) is str for v in values]
        number = f' s="{style}" t="n"' if column in _MONEY_COLUMNS else ' t="n"'
        columns.append(
            [
                (
                    (
                        f'<c r="{letter}{n}" t="inlineStr"><is><t>{v}</t></is></c>'
                        if v
                        else f'<c r="{letter}{n}" t="inlineStr" />'
                    )
                    if text
                    else f'<c r="{letter}{n}"{number}><v>{v}</v></c>'
                )
                for n, v, text in zip(numbers, shown, kinds, strict=True)
            ]
        )
    return "".join(
        f'<row r="{n}">{"".join(cells)}</row>'
        for n, cells in zip(numbers, zip(*columns, strict=True), strict=True)
    ).encode()


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


def _pinned_zip(data: bytes, moment: datetime, insert: tuple[bytes, bytes] | None = None) -> bytes:
    """The same archive with every entry's time and the core properties' ``modified``
    set to ``moment`` (openpyxl stamps both with the time of saving); ``insert``: the
    detail sheet's rows to put before the first occurrence of a marker."""
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
            if insert is not None and info.filename == "xl/worksheets/sheet2.xml":
                marker, rows = insert
                at = content.index(marker)
                content = content[:at] + rows + content[at:]
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


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``frame`` with ``None`` for missing values, its rows stably sorted by ``keys``
    (each value by ``_sort_key``; a column that is not there sorts as ``None``).

    When each key column holds one kind of value (strings, ``Decimal`` or dates) and
    ``None``, the values' own order is ``_sort_key``'s, so each column becomes the codes
    of its sorted distinct values (``None`` first) and one stable ``lexsort`` orders
    the rows: a million detail lines were seven million key tuples sorted in Python."""
    clean = frame.astype(object).where(frame.notna(), None)
    codes = [_sort_codes(clean[k]) if k in clean.columns else _NONE for k in keys]
    if any(c is None for c in codes):
        return _sorted_by_keys(clean, keys)
    # lexsort's last key is the first: the rows' own order last, so ties keep it
    found = [c for c in reversed(codes) if c is not None and c is not _NONE]
    return clean.iloc[np.lexsort([np.arange(len(clean)), *found])]


_NONE = np.zeros(0, dtype="int64")  # a key column that is not there: all None, no order


def _sort_codes(values: pd.Series) -> np.ndarray | None:
    """Integers ordered as ``_sort_key`` orders ``values`` (``None`` lowest), or ``None``
    when the column mixes kinds or holds one whose own order is not ``_sort_key``'s
    (strings and dates sort as their text, ``Decimal`` as numbers; an ``int`` would sort
    as its text there, not as a number)."""
    kinds = set(map(type, values)) - {type(None)}
    if len(kinds) > 1 or not kinds <= {str, Decimal, date}:
        return None
    codes, _ = pd.factorize(values, sort=True)  # None is -1, before every value
    return codes.astype("int64")


def _sorted_by_keys(clean: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """:func:`_sorted` by the key tuples themselves (the reference)."""
    empty = (0, "")
    columns = [
        [_sort_key(v) for v in clean[k]] if k in clean.columns else [empty] * len(clean)
        for k in keys
    ]
    rank = list(zip(*columns, strict=True)) if columns else [()] * len(clean)
    order = sorted(range(len(clean)), key=rank.__getitem__)
    return clean.iloc[order]


def _blank(values: list[Any]) -> list[Any]:
    """``value or ""`` of each value."""
    return [value or "" for value in values]


def _distinct(values: list[Any], function: Any) -> list[Any]:
    """``function`` of each value, computed once per distinct value (rates, days)."""
    done: dict[Any, Any] = {}
    out = []
    for value in values:
        if value not in done:
            done[value] = function(value)
        out.append(done[value])
    return out


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


def _in_currency_of(pair: tuple[Any, str]) -> Decimal:
    return _in_currency(int(pair[0]), pair[1])


def _major_of(cents: Any) -> Decimal:
    return major(int(cents))


def _in_currency(amount: int, currency: str) -> Decimal:
    exponent = minor_exponent(currency)
    return Decimal(amount).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)
