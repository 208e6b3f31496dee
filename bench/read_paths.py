"""Reading a table into a DataFrame on PostgreSQL: the driver's cursor vs ``COPY … TO STDOUT``.

    .venv/bin/python bench/read_paths.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/read_paths.py --database-url … --rows 200000 --repeat 1

A scratch table shaped like the warehouse's payments (text ids, a nullable invoice id,
BIGINT money, a currency, a status, a ``timestamptz``, a ``date``, a boolean, a
``NUMERIC(7, 4)`` rate with NULLs, an integer) of ``--rows`` rows (default 1,400,000:
the large shop's payments) is filled by ``generate_series``, then read whole by
``warehouse.frames.fetched`` (the cursor, in slices: the reader before 2026-11-27) and
``warehouse.frames.frame`` (COPY as CSV, parsed by pyarrow), alternating, each
``--repeat`` times. The two frames are compared value by value before anything is
timed. Medians; prints markdown. The table is dropped at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
from sqlalchemy import MetaData, Table, create_engine, select, text  # noqa: E402

from bench.harness import machine  # noqa: E402
from warehouse.frames import fetched, frame  # noqa: E402

TABLE = "bench_read_paths"
FILL = f"""
CREATE TABLE {TABLE} AS
SELECT 'py_' || md5(i::text) AS payment_id,
       'cus_' || (i % 200000) AS customer_id,
       CASE WHEN i % 3 = 0 THEN NULL ELSE 'in_' || md5((i * 7)::text) END AS invoice_id,
       (i * 13 % 100000)::bigint AS amount,
       'EUR'::text AS currency,
       CASE WHEN i % 5 = 0 THEN 'failed' ELSE 'succeeded' END AS status,
       timestamptz '2026-07-03 00:00+00' - (i || ' minutes')::interval AS created_at,
       (date '2026-07-03' - (i % 400))::date AS charge_date,
       (i % 2 = 0) AS livemode,
       CASE WHEN i % 7 = 0 THEN NULL ELSE 0.2000 END::numeric(7, 4) AS rate,
       (i % 4)::integer AS retry_count
FROM generate_series(1, :rows) AS i
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rows", type=int, default=1_400_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    engine = create_engine(args.database_url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))
        conn.execute(text(FILL), {"rows": args.rows})
        conn.execute(text(f"ANALYZE {TABLE}"))
    try:
        table = Table(TABLE, MetaData(), autoload_with=engine)
        query = select(*table.c)
        with engine.connect() as conn:
            pd.testing.assert_frame_equal(frame(conn, query), fetched(conn, query))
        times: dict[str, list[float]] = {"cursor": [], "copy": []}
        for _ in range(args.repeat):
            for name, read in (("cursor", fetched), ("copy", frame)):
                with engine.connect() as conn:
                    started = time.perf_counter()
                    read(conn, query)
                    times[name].append(time.perf_counter() - started)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))
    cursor, copy = (statistics.median(times[n]) for n in ("cursor", "copy"))
    print(f"### Reading {args.rows:,} payments-shaped rows into a DataFrame (PostgreSQL)\n")
    print(f"Medians of {args.repeat}; load average at the end {machine()['load']}.\n")
    print("| read | wall | rows/s |")
    print("|---|---|---|")
    print(
        f"| the driver's cursor, in slices (`frames.fetched`) | {cursor:.2f} s |"
        f" {args.rows / cursor:,.0f} |"
    )
    print(
        f"| `COPY … TO STDOUT` as CSV, pyarrow (`frames.frame`) | {copy:.2f} s |"
        f" {args.rows / copy:,.0f} |"
    )
    print(
        f"\nCOPY reads in {copy / cursor:.0%} of the cursor's time ({cursor / copy:.1f}× faster)."
    )


if __name__ == "__main__":
    main()
