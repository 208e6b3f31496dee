"""How right past forecasts were: the forecast made ``h`` days ago for the days since,
against the payouts that actually reached the bank on those days.

For ``as_of`` and each horizon ``h`` (7 and 30 days) whose forecast exists (made on
``as_of - h``): ``forecast_in`` = that forecast's ``expected_in`` over the days after it
up to ``as_of``; ``actual_in`` = payouts (not failed) arriving on those days; ``error`` =
actual - forecast (positive: more came in than expected); ``abs_pct_error`` = |error| /
actual (NULL when nothing came in). Example: a forecast made on 1 June expecting
1,000.00 by 8 June, when 900.00 of payouts arrived: error -100.00, 11.1 %.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from domain.kpis.days import date_days, day_number
from domain.kpis.forecast import PAYOUT_GONE

HORIZONS = (7, 30)
ACCURACY_COLUMNS = (
    "as_of",
    "horizon_days",
    "currency",
    "forecast_as_of",
    "forecast_in",
    "actual_in",
    "error",
    "abs_pct_error",
)


def forecast_accuracy(
    past: pd.DataFrame, payouts: pd.DataFrame, as_of: date, horizons: tuple[int, ...] = HORIZONS
) -> pd.DataFrame:
    """One row per horizon with a stored forecast and currency (module doc).

    ``past``: ``cashflow_forecast`` rows (``as_of``, ``day``, ``currency``, ``expected_in``).
    """
    made = date_days(past["as_of"]) if len(past) else np.empty(0)
    days = date_days(past["day"]) if len(past) else np.empty(0)
    arrival = date_days(payouts["arrival_on"])
    arrived = ~payouts["status"].isin(PAYOUT_GONE).to_numpy()
    today = day_number(as_of)
    rows = []
    for horizon in horizons:
        start = today - horizon
        mine = (made == start) & (days > start) & (days <= today)
        if not (made == start).any():
            continue
        expected = past[mine].groupby(past["currency"][mine])["expected_in"].sum()
        came = arrived & (arrival > start) & (arrival <= today)
        actual = payouts[came].groupby(payouts["currency"][came])["amount"].sum()
        for currency in sorted(set(expected.index) | set(actual.index)):
            forecast_in = int(expected.get(currency, 0))
            actual_in = int(actual.get(currency, 0))
            error = actual_in - forecast_in
            rows.append(
                {
                    "as_of": as_of,
                    "horizon_days": horizon,
                    "currency": str(currency),
                    "forecast_as_of": as_of - timedelta(days=horizon),
                    "forecast_in": forecast_in,
                    "actual_in": actual_in,
                    "error": error,
                    "abs_pct_error": round(abs(error) / actual_in, 6) if actual_in else np.nan,
                }
            )
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ACCURACY_COLUMNS})
    return pd.DataFrame(rows, columns=list(ACCURACY_COLUMNS))
