"""Return periods as the tax offices write them: ``2026-Q3`` (a quarter), ``2026-10``.

A period is a string everywhere (tables, files, dedupe keys), so it sorts as it reads
and joins without parsing: ``period_of("quarter", date(2026, 8, 14)) == "2026-Q3"``,
``bounds("2026-Q3") == (date(2026, 7, 1), date(2026, 9, 30))``, and the period before
``2026-01`` is ``2025-12``.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

KINDS = ("quarter", "month")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def period_of(kind: str, day: date) -> str:
    """The quarter (``2026-Q3``) or month (``2026-08``) that ``day`` falls in."""
    if kind == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if kind == "month":
        return f"{day.year}-{day.month:02d}"
    raise ValueError(f"unknown period kind {kind!r}: expected one of {KINDS}")


def kind_of(period: str) -> str:
    if _QUARTER.match(period):
        return "quarter"
    if _MONTH.match(period):
        return "month"
    raise ValueError(f"not a period: {period!r} (expected YYYY-Qn or YYYY-MM)")


def bounds(period: str) -> tuple[date, date]:
    """The first and last day of ``period``."""
    if match := _QUARTER.match(period):
        year, quarter = int(match[1]), int(match[2])
        first_month, last_month = 3 * quarter - 2, 3 * quarter
    elif match := _MONTH.match(period):
        year, first_month = int(match[1]), int(match[2])
        last_month = first_month
    else:
        raise ValueError(f"not a period: {period!r} (expected YYYY-Qn or YYYY-MM)")
    last_day = calendar.monthrange(year, last_month)[1]
    return date(year, first_month, 1), date(year, last_month, last_day)


def shift(period: str, steps: int) -> str:
    """The period ``steps`` periods after (negative: before) ``period``, of the same kind."""
    first, _ = bounds(period)
    if kind_of(period) == "quarter":
        index = first.year * 4 + (first.month - 1) // 3 + steps
        return f"{index // 4}-Q{index % 4 + 1}"
    index = first.year * 12 + first.month - 1 + steps
    return f"{index // 12}-{index % 12 + 1:02d}"


def add_months(day: date, months: int) -> tuple[int, int]:
    """(year, month) ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])
