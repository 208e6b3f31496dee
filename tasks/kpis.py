"""KPI tasks: read the facts, compute the days, write the tables, the report and artifacts.

Thin wrappers: every figure is computed in ``domain.kpis``, every page drawn in
``reporting``; here frames move in and out of the warehouse. Writes are idempotent:
``kpi_daily`` rows are upserted on (``as_of``, ``currency``), and a day's forecast and
accuracy rows are replaced whole in one transaction, so running a day again changes
nothing and a crash leaves the previous rows.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from prefect import task
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Connection, Date, Numeric, Table, delete, select

from domain import kpis as domain
from domain.kpis import KpiInputs, KpiReport
from domain.kpis.days import day_number
from domain.kpis.shared import failures_of
from echeancier.settings import Settings
from reporting import FinanceData, render_finance_report
from tasks.sync_common import engine_for
from warehouse import kpi_tables, tables
from warehouse.frames import frame as rows_of
from warehouse.types import UTCDateTime
from warehouse.upsert import dialect_insert

_CHUNK = 1000
EXCEPTION_COLUMNS = (
    "exception_id",
    "kind",
    "provider",
    "object_ids",
    "amount",
    "currency",
    "first_seen_on",
    "age_days",
    "ageing_bucket",
)


@task(name="read_kpi_inputs", cache_policy=NO_CACHE)
def read_kpi_inputs(settings: Settings) -> KpiInputs:
    """The columns the KPIs read, from the facts and the dunning ledger."""
    with engine_for(settings.database_url).connect() as conn:
        return KpiInputs.of({name: read(conn, name, cols) for name, cols in domain.COLUMNS.items()})


@task(name="compute_kpi_daily", cache_policy=NO_CACHE)
def compute_kpi_daily(inputs: KpiInputs, date_from: date, date_to: date, tz: str) -> pd.DataFrame:
    return domain.kpi_daily(inputs, date_from, date_to, tz)


@task(name="write_kpi_daily", cache_policy=NO_CACHE)
def write_kpi_daily(settings: Settings, daily: pd.DataFrame) -> int:
    """Upsert the days on (``as_of``, ``currency``); returns the rows written."""
    table = kpi_tables.kpi_daily
    records = _records(daily)
    with engine_for(settings.database_url).begin() as conn:
        for start in range(0, len(records), _CHUNK):
            stmt = dialect_insert(conn, table)
            stmt = stmt.on_conflict_do_update(
                index_elements=["as_of", "currency"],
                set_={c.name: stmt.excluded[c.name] for c in table.columns if not c.primary_key},
            )
            conn.execute(stmt, records[start : start + _CHUNK])
    return len(records)


@task(name="forecast_cashflow", cache_policy=NO_CACHE)
def forecast_cashflow(settings: Settings, inputs: KpiInputs, as_of: date) -> pd.DataFrame:
    """The next 90 days' expected inflows, stored as the forecast of ``as_of``."""
    forecast = domain.cashflow_forecast(inputs, as_of, settings.timezone)
    _replace(settings, kpi_tables.cashflow_forecast, as_of, forecast)
    return forecast


@task(name="measure_forecast_accuracy", cache_policy=NO_CACHE)
def measure_forecast_accuracy(settings: Settings, inputs: KpiInputs, as_of: date) -> pd.DataFrame:
    """Earlier stored forecasts against the payouts that came in since; stored too."""
    table = kpi_tables.cashflow_accuracy
    made = [as_of - timedelta(days=h) for h in domain.HORIZONS]
    forecast = kpi_tables.cashflow_forecast
    with engine_for(settings.database_url).connect() as conn:
        past = read(conn, forecast.name, ("as_of", "day", "currency", "expected_in"))
    past = past[past["as_of"].isin(made)]
    accuracy = domain.forecast_accuracy(past, inputs.payouts, as_of)
    _replace(settings, table, as_of, accuracy)
    return accuracy


@task(name="write_finance_report", cache_policy=NO_CACHE)
def write_finance_report(settings: Settings, inputs: KpiInputs, as_of: date) -> Path:
    """The night's self-contained HTML report under ``reports_dir/finance/``."""
    with engine_for(settings.database_url).connect() as conn:
        history = read(conn, "kpi_daily", tuple(c.name for c in kpi_tables.kpi_daily.columns))
        forecast = read(
            conn, "cashflow_forecast", tuple(c.name for c in kpi_tables.cashflow_forecast.columns)
        )
        accuracy = read(
            conn, "cashflow_accuracy", tuple(c.name for c in kpi_tables.cashflow_accuracy.columns)
        )
        exceptions = read(conn, "recon_exceptions", (*EXCEPTION_COLUMNS, "status"))
    units = failures_of(inputs.with_days(settings.timezone), settings.timezone)
    data = FinanceData(
        as_of=as_of,
        kpis=history[history["as_of"] <= as_of],
        recovery=domain.recovery_by_stage(units[units["failed"] <= day_number(as_of)]),
        forecast=forecast[forecast["as_of"] == as_of],
        accuracy=accuracy[accuracy["as_of"] <= as_of],
        exceptions=exceptions[exceptions["status"] == "open"],
    )
    path = settings.reports_dir / "finance" / f"finance-{as_of.isoformat()}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_finance_report(data), encoding="utf-8")
    return path.resolve()


@task(name="publish_kpi_artifacts", cache_policy=NO_CACHE)
def publish_kpi_artifacts(report: KpiReport) -> None:
    """The key figures (markdown and table), the forecast by source, a link to the report."""
    create_markdown_artifact(key="kpis-summary", markdown=report.markdown(), description="kpis")
    create_table_artifact(
        key="kpis-key-figures",
        table=[_plain_row(r) for r in report.latest] or [{"currency": "none"}],
        description=f"kpis: kpi_daily on {report.date_to}",
    )
    create_table_artifact(
        key="cashflow-forecast",
        table=list(report.forecast) or [{"source": "none"}],
        description=f"kpis: expected inflows after {report.date_to}, by currency and source",
    )
    if report.report_path:
        create_link_artifact(
            key="finance-report",
            link=Path(report.report_path).as_uri(),
            link_text=f"Finance report {report.date_to}",
            description="The night's finance report (self-contained HTML, opens offline)",
        )


def read(conn: Connection, name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """Columns of a table through the driver's cursor (fast on large tables), typed once:
    instants as aware UTC, dates as ``date``, numerics as floats (rates, days)."""
    table: Table = tables.metadata.tables[name]
    frame = rows_of(conn, select(*(table.c[c] for c in columns)), rates_as_floats=True)
    for column in columns:
        kind = table.c[column].type
        if isinstance(kind, UTCDateTime):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        elif isinstance(kind, Date):
            parsed = pd.to_datetime(frame[column], format="ISO8601")
            frame[column] = parsed.dt.date.astype(object).where(parsed.notna(), None)
        elif isinstance(getattr(kind, "impl", kind), Numeric) and not column.endswith("_id"):
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


def _replace(settings: Settings, table: Table, as_of: date, frame: pd.DataFrame) -> None:
    """Replace ``as_of``'s rows of ``table`` by ``frame``, in one transaction."""
    records = _records(frame)
    with engine_for(settings.database_url).begin() as conn:
        conn.execute(delete(table).where(table.c.as_of == as_of))
        for start in range(0, len(records), _CHUNK):
            conn.execute(table.insert(), records[start : start + _CHUNK])


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _plain(value: Any) -> Any:
    """numpy scalars to Python, NaN and NA to None (NULL, never "NaN" in JSON or SQL)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    return value


def _plain_row(row: Any) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, date) else _plain(v)) for k, v in dict(row).items()}
