"""KPIs and the cash-flow forecast: pure, vectorised functions over warehouse frames.

- :func:`kpi_daily` — every KPI for every day of a range and currency in one pass
  (days.py, mrr.py, receivables.py, collections.py);
- :func:`cashflow_forecast` — the next 90 days of expected inflows (forecast.py), and
  :func:`forecast_accuracy` — how right earlier forecasts were (accuracy.py);
- :class:`KpiReport` — what a run did (report.py).

docs/kpis.md writes every formula with its source definition.
"""

from __future__ import annotations

from domain.kpis.accuracy import ACCURACY_COLUMNS, HORIZONS, forecast_accuracy
from domain.kpis.collections import failures, recovery_by_stage
from domain.kpis.daily import KPI_COLUMNS, kpi_daily
from domain.kpis.forecast import FORECAST_COLUMNS, HORIZON_DAYS, SOURCES, cashflow_forecast
from domain.kpis.inputs import COLUMNS, KpiInputs
from domain.kpis.report import KpiReport, forecast_totals

__all__ = [
    "ACCURACY_COLUMNS",
    "COLUMNS",
    "FORECAST_COLUMNS",
    "HORIZONS",
    "HORIZON_DAYS",
    "KPI_COLUMNS",
    "SOURCES",
    "KpiInputs",
    "KpiReport",
    "cashflow_forecast",
    "failures",
    "forecast_accuracy",
    "forecast_totals",
    "kpi_daily",
    "recovery_by_stage",
]
