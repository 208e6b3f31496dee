"""ECB euro reference rates: read the ECB CSV, pick the rate a return must use.

The ECB publishes, each TARGET working day around 16:00 CET, how many units of each
currency one euro buys. Its history file ``eurofxref-hist.csv`` reads::

    Date,USD,JPY,BGN,...,
    2026-09-30,1.1700,172.35,N/A,...,

(the daily ``eurofxref.csv`` writes ``30 September 2026`` and pads cells with spaces;
both are read; ``N/A`` and empty cells are days without a rate).

Which rate: VAT Directive art. 369h — the rate of the **last day of the period**, or,
if the ECB published none that day, the **next day it publishes**. Until that
publication is loaded (a return computed the night the quarter closes, or a period
still open), the last rate published before is used and the line is marked
provisional; the return is then recomputed each night until it is filed.
"""

from __future__ import annotations

import bisect
import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from domain.normalise.codes import ISO_4217

#: The ECB's longest pause (Easter: Good Friday to Easter Monday) is four days; a "next
#: publication" further away than this is a gap in the loaded file, not the next day.
NEXT_PUBLICATION = timedelta(days=7)


class FxError(ValueError):
    """An ECB file that cannot be read, with the line of the first problem."""


@dataclass(frozen=True)
class FxRate:
    currency: str
    day: date
    rate: Decimal


@dataclass(frozen=True)
class Pick:
    """The rate a return uses for one currency: ``provisional`` until the art. 369h day."""

    rate: Decimal
    day: date
    provisional: bool


def parse_ecb_csv(text: str, source: str = "ECB CSV") -> list[FxRate]:
    """Every (currency, day, rate) of an ECB reference-rate CSV, in file order."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows or not rows[0] or rows[0][0].strip() != "Date":
        raise FxError(f"{source}:1: expected a header starting with 'Date' (ECB CSV format)")
    header = [cell.strip() for cell in rows[0]]
    for column, code in enumerate(header[1:], start=2):
        if code and code not in ISO_4217:
            raise FxError(f"{source}:1: column {column}: {code!r} is not an ISO 4217 currency")
    out: list[FxRate] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        day = _day(row[0].strip(), f"{source}:{line}")
        for code, cell in zip(header[1:], row[1:], strict=False):
            value = cell.strip()
            if not code or value in ("", "N/A"):
                continue
            try:
                rate = Decimal(value)
            except InvalidOperation:
                raise FxError(f"{source}:{line}: {code}: not a rate: {value!r}") from None
            if not rate.is_finite() or rate <= 0:
                raise FxError(f"{source}:{line}: {code}: a rate must be > 0, got {value!r}")
            out.append(FxRate(code, day, rate))
    return out


class FxTable:
    """The loaded rates, by currency, sorted by day."""

    def __init__(self, rates: Iterable[FxRate]) -> None:
        by_currency: dict[str, dict[date, Decimal]] = {}
        for rate in rates:
            by_currency.setdefault(rate.currency, {})[rate.day] = rate.rate
        self._days: Mapping[str, list[date]] = {c: sorted(d) for c, d in by_currency.items()}
        self._rates = by_currency

    def pick(self, currency: str, period_end: date) -> Pick | None:
        """The art. 369h rate for a period ending ``period_end`` (None: no rate at all)."""
        days = self._days.get(currency)
        if not days:
            return None
        at = bisect.bisect_left(days, period_end)
        if at < len(days) and days[at] - period_end <= NEXT_PUBLICATION:
            # published on the last day, or the next publication after it
            return Pick(self._rates[currency][days[at]], days[at], provisional=False)
        if at == 0:
            return None  # nothing loaded before, and nothing close after: a gap
        before = days[at - 1]
        return Pick(self._rates[currency][before], before, provisional=True)


def _day(value: str, where: str) -> date:
    for parse in (date.fromisoformat, lambda v: datetime.strptime(v, "%d %B %Y").date()):
        try:
            return parse(value)
        except ValueError:
            continue
    raise FxError(f"{where}: not a date: {value!r} (expected YYYY-MM-DD)")
