"""KPI outputs (issue 8): ``kpi_daily`` and ``cashflow_forecast``. Filled by the KPI work."""

from __future__ import annotations
