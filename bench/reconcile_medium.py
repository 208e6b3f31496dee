"""Time reconciliation on the medium shop (not a test; run by hand).

    .venv/bin/python bench/reconcile_medium.py [--size medium --seed 7] \
        [--database-url sqlite:////tmp/recon-bench.db]

Builds the warehouse frames of the cached generated shop by normalising its objects
(``shop_frames``: no HTTP, no database), then times the three pure steps a nightly run
does besides reading and writing: the rules (``find_exceptions``), the register merge
(``update_register``: a first night, then a second night on top of it) and the control
totals. Prints one markdown line per step (median of ``--repeat`` runs). With
``--database-url`` (an empty database), the frames are also loaded into a migrated
warehouse there, and the reconcile tasks' own functions are timed against it: reading
the facts, and the register merge with its writes (a first night, then a second one).
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
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from domain.reconcile import (
    Frames,
    ReconPolicy,
    build_report,
    empty_register,
    find_exceptions,
    update_register,
)
from sandbox.generate import generate_cached
from sandbox.store import Store
from tests.domain.reconcile.anomalies import assert_only_genuine
from tests.domain.reconcile.shop_frames import shop_frames


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
        raw = shop_frames(store)
        built = time.perf_counter() - started
        store.close()
    frames = Frames.of(raw)
    policy = ReconPolicy()
    rules, merge, totals = [], [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        found = find_exceptions(frames, as_of, policy)
        t1 = time.perf_counter()
        night1 = update_register(empty_register(), found, as_of)
        night2 = update_register(night1, found, as_of + timedelta(days=1))
        t2 = time.perf_counter()
        build_report("bench", as_of, found, night2, frames.payments, frames.payouts)
        t3 = time.perf_counter()
        rules.append(t1 - t0)
        merge.append((t2 - t1) / 2)
        totals.append(t3 - t2)
    assert_only_genuine(found, raw, summary)
    rows = {name: len(frame) for name, frame in raw.items()}
    print(f"shop: {args.size} seed {args.seed}, {summary.customers} customers; rows {rows}")
    print(f"frames built from the store in {built:.1f} s (not part of a nightly run)")
    print(f"exceptions: {len(found)} ({found['kind'].value_counts().to_dict()})")
    print(f"| rules (find_exceptions) | {statistics.median(rules):.2f} s |")
    print(f"| register merge, per night | {statistics.median(merge):.2f} s |")
    print(f"| control totals and report | {statistics.median(totals):.2f} s |")
    if args.database_url:
        warehouse(args.database_url, raw, as_of, policy)


def warehouse(url: str, raw: dict[str, Any], as_of: date, policy: ReconPolicy) -> None:
    """Load the frames into a migrated warehouse, then time the tasks' reads and writes."""
    from echeancier.settings import Settings
    from tasks.reconcile import read_recon_frames, update_recon_register
    from warehouse import tables
    from warehouse.engine import make_engine
    from warehouse.migrate import upgrade
    from warehouse.upsert import upsert

    upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        for name, frame in raw.items():
            if name in tables.metadata.tables and name != "mandates":
                upsert(conn, tables.metadata.tables[name], frame)
    print(f"warehouse loaded in {time.perf_counter() - started:.1f} s ({engine.dialect.name})")
    settings = Settings(DATABASE_URL=url)  # type: ignore[call-arg]
    t0 = time.perf_counter()
    frames = read_recon_frames.fn(settings)
    t1 = time.perf_counter()
    found = find_exceptions(frames, as_of, policy)
    t2 = time.perf_counter()
    update_recon_register.fn(settings, found, as_of)
    t3 = time.perf_counter()
    update_recon_register.fn(settings, found, as_of + timedelta(days=1))
    t4 = time.perf_counter()
    update_recon_register.fn(settings, found, as_of + timedelta(days=1))
    t5 = time.perf_counter()
    print(f"| read the facts ({engine.dialect.name}) | {t1 - t0:.2f} s |")
    print(f"| rules on the read frames | {t2 - t1:.2f} s |")
    print(f"| register: first night (all new) | {t3 - t2:.2f} s |")
    print(f"| register: next night (all still open) | {t4 - t3:.2f} s |")
    print(f"| register: same night again (no write) | {t5 - t4:.2f} s |")
    print(f"| total, a night (read + rules + register) | {t1 - t0 + t2 - t1 + t4 - t3:.2f} s |")
    engine.dispose()


if __name__ == "__main__":
    main()
