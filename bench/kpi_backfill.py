"""Time the KPI backfill of a generated shop's whole history (~18 months) in one run.

    .venv/bin/python bench/kpi_backfill.py [--size medium --seed 7 --as-of 2026-06-30] \
        [--database-url sqlite:///var/kpi-bench.db] [--repeat 3]

Builds the shop's warehouse frames by normalising its objects (no HTTP, as
bench/reconcile_medium.py does), then times the pure backfill (``kpi_daily`` over every
day from the first subscription to ``--as-of``, one vectorised pass), the forecast and
the recovery table (median of ``--repeat`` runs). With ``--database-url`` (SQLite or
PostgreSQL; a scratch database is created beside it and dropped), the frames are loaded
into a migrated warehouse and the flow's own task functions are timed one after another,
as ``echeancier run kpis --from … --to …`` runs them: read the facts, compute, upsert
``kpi_daily``, forecast, accuracy, the finance report. Prints markdown table rows.
"""

from __future__ import annotations

import sys
from pathlib import Path as _Path

sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))

import argparse
import shutil
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.harness import scratch_warehouse
from domain.kpis import KpiInputs, cashflow_forecast, failures, kpi_daily, recovery_by_stage
from sandbox.generate import generate_cached
from sandbox.store import Store
from tests.domain.kpis.shop import shop_inputs

TZ = "Europe/Paris"
LOADED = ("subscriptions", "invoices", "payments", "refunds", "payouts")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="medium")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default="2026-06-30")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    as_of = date.fromisoformat(args.as_of)
    cached, summary = generate_cached(size=args.size, seed=args.seed, as_of=as_of)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "shop.db"
        shutil.copyfile(cached, copy)
        store = Store.open(copy)
        started = time.perf_counter()
        shop, frames = shop_inputs(store)
        built = time.perf_counter() - started
        store.close()
    first = shop.subscriptions["start_at"].min().tz_convert(TZ).date()
    days = (as_of - first).days + 1
    rows = {name: len(getattr(shop, name)) for name in LOADED}
    print(f"shop: {args.size} seed {args.seed}, {summary.customers} customers; rows {rows}")
    print(f"frames built from the store in {built:.1f} s (not part of a run)")
    print(f"backfill: {first} .. {as_of}, {days} days")
    backfill, forecast, recovery = [], [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        daily = kpi_daily(shop, first, as_of, TZ)
        t1 = time.perf_counter()
        cashflow_forecast(shop, as_of, TZ)
        t2 = time.perf_counter()
        recovery_by_stage(failures(shop.payments, shop.invoices, shop.dunning_actions, TZ))
        t3 = time.perf_counter()
        backfill.append(t1 - t0)
        forecast.append(t2 - t1)
        recovery.append(t3 - t2)
    print(f"kpi_daily rows: {len(daily)} ({daily['currency'].nunique()} currency)")
    print(f"| backfill, every day in one pass (kpi_daily) | {statistics.median(backfill):.2f} s |")
    print(f"| 90-day cash-flow forecast | {statistics.median(forecast):.2f} s |")
    print(f"| recovery by stage | {statistics.median(recovery):.2f} s |")
    if args.database_url:
        with tempfile.TemporaryDirectory() as folder:
            warehouse(args.database_url, Path(folder), frames, first, as_of)


def warehouse(url: str, folder: Path, frames: dict, first: date, as_of: date) -> None:  # type: ignore[type-arg]
    """Load the frames into a scratch warehouse; time the flow's tasks against it."""
    from echeancier.settings import Settings
    from tasks.kpis import (
        compute_kpi_daily,
        forecast_cashflow,
        measure_forecast_accuracy,
        read_kpi_inputs,
        write_finance_report,
        write_kpi_daily,
    )
    from warehouse import tables
    from warehouse.engine import make_engine
    from warehouse.upsert import upsert

    with scratch_warehouse(url, folder) as scratch:
        engine = make_engine(scratch.url)
        started = time.perf_counter()
        with engine.begin() as conn:
            for name in LOADED:
                upsert(conn, tables.metadata.tables[name], frames[name])
        engine.dispose()
        dialect = engine.dialect.name
        print(f"warehouse loaded in {time.perf_counter() - started:.1f} s ({dialect})")
        settings = Settings(DATABASE_URL=scratch.url, ECHEANCIER_REPORTS=str(folder))  # type: ignore[call-arg]
        t0 = time.perf_counter()
        shop: KpiInputs = read_kpi_inputs.fn(settings)
        t1 = time.perf_counter()
        daily = compute_kpi_daily.fn(shop, first, as_of, settings.timezone)
        t2 = time.perf_counter()
        write_kpi_daily.fn(settings, daily)
        t3 = time.perf_counter()
        forecast_cashflow.fn(settings, shop, as_of)
        measure_forecast_accuracy.fn(settings, shop, as_of)
        t4 = time.perf_counter()
        write_finance_report.fn(settings, shop, as_of)
        t5 = time.perf_counter()
        write_kpi_daily.fn(settings, daily)  # the same backfill again: same rows
        t6 = time.perf_counter()
        print(f"| read the facts ({dialect}) | {t1 - t0:.2f} s |")
        print(f"| compute every day | {t2 - t1:.2f} s |")
        print(f"| upsert kpi_daily ({len(daily)} rows) | {t3 - t2:.2f} s |")
        print(f"| forecast and accuracy, stored | {t4 - t3:.2f} s |")
        print(f"| finance report (HTML, charts) | {t5 - t4:.2f} s |")
        print(f"| **total, the whole backfill** | **{t5 - t0:.2f} s** |")
        print(f"| upsert the same days again | {t6 - t5:.2f} s |")


if __name__ == "__main__":
    main()
