"""Calendar arithmetic of the notices, in business dates (never instants).

Months are calendar months with the day clamped to the month's end (31 March minus one
month is 28 February, or 29 in a leap year). The tacit-renewal window must satisfy two
readings of "between 3 months and 1 month before the deadline" at once, so it is the
*narrower* of them (:func:`notice_window`). Example: deadline 31 May 2027 -> window
1 March .. 30 April 2027: 28 February would be 3 months before 28 May, not 31 May.
"""

from __future__ import annotations

import calendar
import math
from datetime import date, datetime, timedelta

import pandas as pd


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` (negative: back), clamped to the month's last day."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def add_interval(day: date, unit: str, count: int) -> date:
    """``day`` moved by ``count`` billing intervals (``day``/``week``/``month``/``year``)."""
    if unit == "day":
        return day + timedelta(days=count)
    if unit == "week":
        return day + timedelta(weeks=count)
    if unit == "month":
        return add_months(day, count)
    if unit == "year":
        return add_months(day, 12 * count)
    raise ValueError(f"unknown billing interval {unit!r}")


def next_boundary(anchor: date, as_of: date, unit: str, count: int = 1) -> date:
    """The first period boundary after ``as_of`` in the series ``anchor + k intervals``.

    A period end already behind ``as_of`` (the sync has not seen the renewal yet) is
    projected forward from the anchor, never by repeated clamping (31 Jan + 1 month is
    28 Feb, and the next is 31 March, not 28 March). Example: anchor 2026-01-31,
    monthly, as_of 2026-03-01 -> 2026-03-31.
    """
    if anchor > as_of:
        return anchor
    step = max(1, count)
    k = 1
    while (boundary := add_interval(anchor, unit, k * step)) <= as_of:
        k += 1
    return boundary


def notice_window(deadline: date, earliest_months: int, latest_months: int) -> tuple[date, date]:
    """The days on which a notice is ``earliest_months`` to ``latest_months`` before
    ``deadline`` under both readings of a month count, inclusive.

    ``latest`` is ``deadline - latest_months`` (clamped): one month after it never passes
    the deadline. ``earliest`` is ``deadline - earliest_months``, moved to the next day
    when clamping made it land earlier than that reading allows (``X + 3 months`` must
    not fall before the deadline).
    """
    earliest = add_months(deadline, -earliest_months)
    if add_months(earliest, earliest_months) < deadline:
        earliest += timedelta(days=1)
    latest = add_months(deadline, -latest_months)
    return earliest, latest


def month_end(year: int, month: int) -> date:
    """The last day a card expiring ``month/year`` can be charged."""
    return date(year, month, calendar.monthrange(year, month)[1])


def withdrawal_closes(delivered_on: date, days: int) -> date:
    """The last day of a withdrawal period of ``days`` starting the day after delivery.

    Regulation 1182/71 art. 3(4): a period ending on a Saturday or Sunday ends on the
    next working day (public holidays, which differ by country, are not modelled: the
    reminder may come a day early, never late). Example: delivered Monday 22 June 2026,
    14 days -> Monday 6 July 2026; delivered Friday 19 June -> Friday 3 July.
    """
    closes = delivered_on + timedelta(days=days)
    while closes.weekday() >= 5:
        closes += timedelta(days=1)
    return closes


def local_day(value: object, timezone: str) -> date | None:
    """The business date of a stored instant (aware ``datetime``/``Timestamp``); None/NaT
    -> None. 2026-06-30T22:30Z is 1 July in Europe/Paris."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    if stamp.tzinfo is None:
        raise ValueError(f"naive instant {value!r}: instants are stored in UTC")
    return stamp.tz_convert(timezone).date()  # type: ignore[no-any-return]


def as_date(value: object) -> date | None:
    """A stored business date (``date`` or ISO text from SQLite); missing -> None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    if value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    raise TypeError(f"not a date: {value!r}")
