"""The day axis and calendar arithmetic every KPI stands on."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from domain.kpis.days import Axis, day_number, instant_days
from domain.kpis.intervals import add_intervals, add_months


def d(text: str) -> float:
    return float(day_number(date.fromisoformat(text)))


def test_stock_counts_an_interval_from_its_start_to_the_day_before_its_end() -> None:
    axis = Axis(8, 15)
    got = axis.stock(np.array([10.0, 9.0]), np.array([14.0, np.nan]), np.array([10000, 1]))
    assert got.tolist() == [0, 1, 10001, 10001, 10001, 10001, 1, 1]


def test_stock_before_the_axis_is_already_there_and_flows_off_it_are_dropped() -> None:
    axis = Axis(10, 12)
    assert axis.stock(np.array([2.0]), np.array([11.0]), np.array([5])).tolist() == [5, 0, 0]
    flows = axis.flow(np.array([9.0, 10.0, 12.0, 13.0, np.nan]), np.array([1, 2, 3, 4, 5]))
    assert flows.tolist() == [2, 0, 3]


def test_month_to_date_restarts_on_the_first_and_trailing_windows_slide() -> None:
    axis = Axis(int(d("2026-01-30")), int(d("2026-02-02")))
    daily = np.array([1, 2, 3, 4])
    assert axis.month_to_date(daily).tolist() == [1, 3, 3, 7]
    assert axis.trailing(daily, 2).tolist() == [1, 3, 5, 7]
    assert axis.at_opening(np.array([10, 20, 30, 40])).tolist() == [0, 0, 20, 20]


def test_a_month_later_is_the_same_day_or_the_months_last() -> None:
    start = np.array([d("2026-01-31"), d("2024-01-31"), d("2026-03-15"), np.nan])
    got = add_months(start, np.array([1, 1, -3, 1]))
    assert got[:3].tolist() == [d("2026-02-28"), d("2024-02-29"), d("2025-12-15")]
    assert np.isnan(got[3])
    units = np.array(["week", "year", "day"], dtype=object)
    moved = add_intervals(np.array([d("2026-01-01")] * 3), units, np.array([2, 1, 3]), 1)
    assert moved.tolist() == [d("2026-01-15"), d("2027-01-01"), d("2026-01-04")]


def test_instants_fall_on_their_business_day() -> None:
    moments = pd.Series(
        pd.to_datetime(["2026-06-30T21:59:00Z", "2026-06-30T22:00:00Z", None], utc=True)
    )
    got = instant_days(moments, "Europe/Paris")
    assert got[:2].tolist() == [d("2026-06-30"), d("2026-07-01")]
    assert np.isnan(got[2])
