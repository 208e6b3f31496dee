"""Throughput of ``warehouse.upsert`` on a fresh database: insert, update, no-op re-run.

    .venv/bin/python bench/upsert_throughput.py                       # SQLite temp file
    .venv/bin/python bench/upsert_throughput.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test  # a scratch DB there

On PostgreSQL a scratch database is created next to the one named, and dropped after.
Rows are ``payments`` (33 columns) built as a pandas DataFrame, as ``domain/`` emits
them; the time includes canonicalisation, hashing, staging, merge and commit.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from warehouse.engine import make_engine, normalise_url
from warehouse.migrate import upgrade
from warehouse.tables import payments
from warehouse.upsert import upsert


def frame(n: int, version: int, status: str) -> pd.DataFrame:
    ids = np.arange(n)
    created = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(ids, unit="s")
    return pd.DataFrame(
        {
            "payment_id": [f"ch_{i:012d}" for i in ids],
            "provider": "stripe",
            "payment_intent_id": [f"pi_{i:012d}" for i in ids],
            "customer_id": [f"cus_{i % 50_000:08d}" for i in ids],
            "invoice_id": [f"in_{i:012d}" for i in ids],
            "amount": 1_000 + ids % 90_000,
            "currency": "EUR",
            "status": status,
            "provider_status": status,
            "payment_method_type": "card",
            "card_brand": "visa",
            "created_at": created,
            "fee": 30 + ids % 100,
            "net": 970 + ids % 89_900,
            "retry_count": 0,
            "source_version": version,
        }
    )


def run(database_url: str, rows: int) -> None:
    engine = make_engine(database_url)
    steps = [("insert", 1, "succeeded"), ("update", 2, "refunded"), ("no-op re-run", 2, "refunded")]
    for label, version, status in steps:
        batch = frame(rows, version, status)
        started = time.perf_counter()
        with engine.begin() as conn:
            result = upsert(conn, payments, batch, synced_at=datetime.now(UTC))
        seconds = time.perf_counter() - started
        print(
            f"{engine.dialect.name:10} {label:13} {rows:>8} rows  {seconds:6.2f} s  "
            f"{rows / seconds:>9,.0f} rows/s  {result}"
        )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    if args.database_url is None or args.database_url.startswith("sqlite"):
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            upgrade(url)
            run(url, args.rows)
        return
    server = make_engine(args.database_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"echeancier_bench_{uuid.uuid4().hex[:8]}"
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = normalise_url(args.database_url).set(database=name)
        scratch = url.render_as_string(hide_password=False)
        upgrade(scratch)
        run(scratch, args.rows)
    finally:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
