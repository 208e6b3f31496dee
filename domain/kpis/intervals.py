"""Calendar arithmetic on day numbers: billing intervals, vectorised.

A month later is the same day of the next month, or its last day when that month is
shorter (31 January + 1 month = 28 February), as Stripe and GoCardless bill.
"""

from __future__ import annotations

import numpy as np

from domain.kpis.days import Days


def add_months(days: Days, months: np.ndarray) -> Days:
    """``days`` moved by ``months`` calendar months, clipped to the target month's end."""
    days = np.asarray(days, dtype="float64")
    months = np.asarray(months, dtype="int64")
    known = ~np.isnan(days)
    out = np.full(days.shape, np.nan)
    d = days[known].astype("int64").astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    day_of_month = (d - m.astype("datetime64[D]")).astype("int64")
    target = m + np.broadcast_to(months, days.shape)[known]
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype("int64")
    moved = target.astype("datetime64[D]") + np.minimum(day_of_month, length - 1)
    out[known] = moved.astype("int64")
    return out


def add_intervals(days: Days, unit: np.ndarray, count: np.ndarray, times: int | np.ndarray) -> Days:
    """``days`` moved by ``times`` billing periods of ``count`` ``unit``s each.

    ``unit`` is ``day``, ``week``, ``month`` or ``year`` (anything else counts as a month).
    """
    days = np.asarray(days, dtype="float64")
    unit = np.asarray(unit, dtype=object)
    steps = np.asarray(count, dtype="int64") * np.asarray(times, dtype="int64")
    steps = np.broadcast_to(steps, days.shape)
    fixed = np.select([unit == "day", unit == "week"], [steps, 7 * steps], default=0)
    months = np.where(unit == "year", 12 * steps, steps)
    by_month = add_months(days, months)
    return np.where((unit == "day") | (unit == "week"), days + fixed, by_month)
