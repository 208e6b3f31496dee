"""The warehouse upsert against the database's own floor: a plain bulk insert of the same rows.

    .venv/bin/python bench/load_floor.py                                   # SQLite
    .venv/bin/python bench/load_floor.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test   # PostgreSQL
    .venv/bin/python bench/load_floor.py --rows 100000 --repeat 1          # a quick look

The rows: ``--rows`` payments (default 1,456,619: the large generated shop's charges and
GoCardless payments) built as the ``payments`` DataFrame ``domain/`` emits
(bench/upsert_throughput.py's frame), loaded in batches of ``--batch`` rows (a sync
transaction holds 1 000 Stripe or 5 000 GoCardless objects; a bulk load of normalised
frames uses bigger ones).

- ours: ``warehouse.upsert.upsert`` into an empty migrated ``payments`` (canonical
  values, row hashes, the narrow key table, staging, ``INSERT … ON CONFLICT``), one
  transaction per batch;
- the floor: the same DataFrame's rows into an empty table created ``LIKE payments``
  with its key and indexes (PostgreSQL: ``CREATE TABLE … (LIKE payments INCLUDING
  ALL)`` then psycopg 3 ``COPY … FROM STDIN`` with ``write_row``; SQLite: the same
  ``CREATE TABLE`` text under another name, then ``executemany`` of one ``INSERT``
  in one transaction per batch). Converting the frame to Python rows is inside both
  timings: both start from the same DataFrame.

Target: ours at least 50 % of the floor's rows per second on PostgreSQL (the SQLite
ratio is reported against ``executemany``). Medians of ``--repeat`` runs, each into
fresh tables. Prints markdown.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import machine, scratch_warehouse  # noqa: E402
from bench.upsert_throughput import frame  # noqa: E402

LARGE_SHOP_PAYMENTS = 1_456_619
TARGET = 0.50


def python_rows(batch: pd.DataFrame) -> list[tuple[Any, ...]]:
    """The batch as plain Python tuples (timestamps as aware datetimes, NaN as None)."""
    columns: list[list[Any]] = []
    for name in batch.columns:
        series = batch[name]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            columns.append(list(series.dt.to_pydatetime()))
        else:
            columns.append(series.astype(object).where(series.notna(), None).tolist())
    return list(zip(*columns, strict=True))


def ours(engine: Engine, rows: pd.DataFrame, batch: int) -> float:
    from warehouse.tables import payments
    from warehouse.upsert import upsert

    synced = datetime.now(UTC)
    started = time.perf_counter()
    for start in range(0, len(rows), batch):
        with engine.begin() as conn:
            upsert(conn, payments, rows.iloc[start : start + batch], synced_at=synced)
    return time.perf_counter() - started


def floor(engine: Engine, rows: pd.DataFrame, batch: int, name: str) -> float:
    """The plain bulk insert into a fresh copy of ``payments``' definition (its two
    bookkeeping columns, ``NOT NULL``, filled with constants: the floor hashes nothing)."""
    rows = rows.assign(row_hash="-", synced_at=pd.Timestamp.now(tz="UTC"))
    columns = ", ".join(rows.columns)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"CREATE TABLE {name} (LIKE payments INCLUDING ALL)"))
        else:
            ddl = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE type='table' AND name='payments'")
            ).scalar_one()
            conn.execute(text(ddl.replace("payments", name, 1)))
    started = time.perf_counter()
    for start in range(0, len(rows), batch):
        chunk = python_rows(rows.iloc[start : start + batch])
        with engine.begin() as conn:
            raw: Any = conn.connection.driver_connection
            if engine.dialect.name == "postgresql":
                with (
                    raw.cursor() as cursor,
                    cursor.copy(f"COPY {name} ({columns}) FROM STDIN") as copy,
                ):
                    for row in chunk:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" * len(rows.columns))
                raw.executemany(f"INSERT INTO {name} ({columns}) VALUES ({marks})", chunk)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rows", type=int, default=LARGE_SHOP_PAYMENTS)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from warehouse.engine import make_engine

    rows = frame(args.rows, 1, "succeeded")
    mine, floors = [], []
    backend = ""
    for n in range(args.repeat):
        (ROOT / "var").mkdir(exist_ok=True)
        with (
            tempfile.TemporaryDirectory(prefix="bench-load-", dir=ROOT / "var") as folder,
            scratch_warehouse(args.database_url, Path(folder)) as warehouse,
        ):
            engine = make_engine(warehouse.url)
            backend = engine.dialect.name
            floors.append(floor(engine, rows, args.batch, f"payments_floor_{n}"))
            mine.append(ours(engine, rows, args.batch))
            engine.dispose()
        print(
            f"# run {n + 1}: floor {floors[-1]:.1f} s, upsert {mine[-1]:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    ours_s, floor_s = statistics.median(mine), statistics.median(floors)
    ratio = floor_s / ours_s
    plain = "COPY" if backend == "postgresql" else "executemany"
    host = machine()
    print(
        "\n".join(
            [
                f"### Load vs the floor: {args.rows:,} payments into {backend}",
                "",
                f"Batches of {args.batch:,} rows, medians of {args.repeat} runs; load average"
                f" at the end {host['load']}.",
                "",
                "| load | seconds | rows/s |",
                "|---|---|---|",
                f"| plain `{plain}` into an empty copy of `payments` | {floor_s:.1f} |"
                f" {args.rows / floor_s:,.0f} |",
                f"| `warehouse.upsert` into an empty `payments` | {ours_s:.1f} |"
                f" {args.rows / ours_s:,.0f} |",
                "",
                f"- ours at **{ratio:.0%} of the plain `{plain}`'s throughput**"
                + (
                    f" (target ≥ {TARGET:.0%}: {'met' if ratio >= TARGET else 'NOT met'})"
                    if backend == "postgresql"
                    else " (reported; the target is PostgreSQL's)"
                ),
            ]
        )
    )


if __name__ == "__main__":
    main()
