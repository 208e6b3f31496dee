"""Business days as integers, and the day axis every KPI is computed on at once.

A backfill computes 500 days in one pass: each fact becomes an interval of days
(a subscription pays from its start to its end, an invoice is open from its issue to
its payment) or a point (a payment on its day), and a difference array turns all of
them into one value per day with a cumulative sum. Days are counted from 1970-01-01 in
the business time zone, so ``2026-06-30`` is day 20634 whatever the database returned.

Worked example: an invoice of 100.00 open from day 10 (issued) to day 14 (paid) on an
axis of days 8..15 gives ``stock([10], [14], [10000])`` =
``[0, 0, 10000, 10000, 10000, 10000, 0, 0]``: open at the end of days 10 to 13.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

EPOCH = date(1970, 1, 1)
Days = np.ndarray  # float64 day numbers, NaN where unknown (never money)
Ints = np.ndarray  # int64 values (money in minor units, counts)


def day_number(day: date) -> int:
    return (day - EPOCH).days


def to_date(number: int) -> date:
    return EPOCH + timedelta(days=int(number))


def instant_days(values: pd.Series, tz: str) -> Days:
    """Aware instants -> the business day they fall on in ``tz`` (NaN when missing)."""
    moments = pd.to_datetime(values, utc=True, format="ISO8601")
    local = moments.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    return _day_floats(local)


def date_days(values: pd.Series) -> Days:
    """Calendar dates (``date`` objects, ISO text or timestamps) -> day numbers."""
    if len(values) == 0:
        return np.empty(0)
    try:  # date objects, ISO days and timestamps alike, in one vectorised parse
        parsed = pd.to_datetime(values)
    except (TypeError, ValueError):
        parsed = pd.to_datetime(values.astype("string"), format="ISO8601")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    return _day_floats(parsed.dt.normalize())


def _day_floats(values: pd.Series) -> Days:
    days = values.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    out = days.astype("int64").astype("float64")
    out[np.isnat(days)] = np.nan
    return out


def month_start(days: Days) -> Days:
    """The first day of each day's calendar month (NaN stays NaN)."""
    known = ~np.isnan(days)
    out = np.full(days.shape, np.nan)
    months = days[known].astype("int64").astype("datetime64[D]").astype("datetime64[M]")
    out[known] = months.astype("datetime64[D]").astype("int64")
    return out


def month_end(days: Days) -> Days:
    """The last day of each day's calendar month."""
    known = ~np.isnan(days)
    out = np.full(days.shape, np.nan)
    months = days[known].astype("int64").astype("datetime64[D]").astype("datetime64[M]")
    out[known] = (months + 1).astype("datetime64[D]").astype("int64") - 1
    return out


@dataclass(frozen=True)
class Axis:
    """The days ``first .. last`` (day numbers, both included) the series are built on."""

    first: int
    last: int

    @classmethod
    def covering(cls, date_from: date, date_to: date, lookback: int = 90) -> Axis:
        """Room before ``date_from`` for its month's opening state and trailing windows."""
        start = day_number(date_from)
        opening = int(month_start(np.array([float(start)]))[0]) - 1
        return cls(min(opening, start - lookback), day_number(date_to))

    @property
    def n(self) -> int:
        return self.last - self.first + 1

    @property
    def days(self) -> np.ndarray:
        return np.arange(self.first, self.last + 1, dtype="int64")

    def index(self, day: date) -> int:
        return day_number(day) - self.first

    def stock(self, start: Days, end: Days, values: Ints) -> Ints:
        """Per day ``d``: the sum of ``values`` of the items with ``start <= d < end``.

        A missing start leaves the item out; a missing end means "still there".
        """
        start = np.asarray(start, dtype="float64")
        end = np.asarray(end, dtype="float64")
        values = np.asarray(values, dtype="int64")
        keep = ~np.isnan(start)
        end = np.where(np.isnan(end), self.last + 1, end)
        lo = np.clip(start[keep], self.first, self.last + 1).astype("int64") - self.first
        hi = np.clip(end[keep], self.first, self.last + 1).astype("int64") - self.first
        live = lo < hi
        diff = np.zeros(self.n + 1, dtype="int64")
        np.add.at(diff, lo[live], values[keep][live])
        np.add.at(diff, hi[live], -values[keep][live])
        return np.cumsum(diff[:-1])

    def flow(self, days: Days, values: Ints) -> Ints:
        """Per day: the sum of ``values`` dated that day (days off the axis are left out)."""
        days = np.asarray(days, dtype="float64")
        values = np.asarray(values, dtype="int64")
        keep = ~np.isnan(days) & (days >= self.first) & (days <= self.last)
        out = np.zeros(self.n, dtype="int64")
        np.add.at(out, days[keep].astype("int64") - self.first, values[keep])
        return out

    def month_to_date(self, daily: Ints) -> Ints:
        """Per day: the sum of ``daily`` from the first of its month to the day itself."""
        total = np.cumsum(daily)
        before = self.opening_index()
        return total - np.where(before >= 0, total[np.maximum(before, 0)], 0)

    def trailing(self, daily: Ints, width: int) -> Ints:
        """Per day ``d``: the sum of ``daily`` over the ``width`` days ending on ``d``."""
        total = np.cumsum(daily)
        shifted = np.concatenate([np.zeros(width, dtype=total.dtype), total])[: len(total)]
        return total - shifted

    def opening_index(self) -> np.ndarray:
        """Per day: the axis index of the day before its month began (-1 if off the axis)."""
        starts = month_start(self.days.astype("float64")).astype("int64")
        return starts - 1 - self.first

    def at_opening(self, level: np.ndarray) -> np.ndarray:
        """Per day: ``level`` at the end of the day before its month began."""
        before = self.opening_index()
        return np.where(before >= 0, level[np.maximum(before, 0)], 0)
