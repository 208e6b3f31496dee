"""The tax step's tasks on a warehouse, called directly (no Prefect), each timed.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_medium \\
        .venv/bin/python bench/tax_step.py 2026-07-03 [--store] [--dump FILE] [--one-pass]

Reads the facts and computes the returns for the date given as the night does, one
customer partition at a time (``ECHEANCIER_TAX_PARTITION_SIZE``; the read is the
partitions' queries, the compute their VAT lines and the returns), or with
``--one-pass`` every fact at once (``read_tax_inputs`` then ``compute_tax_returns``);
stores them with ``--store`` (a second run for the same date writes no row), and writes
the files twice into a new temporary folder (the first builds every workbook, as a night
whose returns all changed does; the second finds them unchanged). ``--dump`` pickles
the ledger, the threshold, the problems and the files' bytes, to compare two versions
of the code (or the two paths). Prints the seconds of each task and the rows read. Run
it on a whole-night bench's warehouse (bench/whole_night.py) under ``py-spy record`` to
profile the step alone.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("as_of", type=date.fromisoformat)
    parser.add_argument("--store", action="store_true", help="store the returns too")
    parser.add_argument("--dump", type=Path, default=None, help="pickle the results here")
    parser.add_argument("--one-pass", action="store_true", help="read every fact at once")
    args = parser.parse_args()
    os.environ["ECHEANCIER_REPORTS"] = tempfile.mkdtemp(prefix="tax-step-")
    os.chdir(ROOT)

    import tasks.tax as tax
    from echeancier.settings import load_settings

    settings = load_settings()
    seconds: dict[str, float] = {}

    def timed(name: str, function: Any, *arguments: Any) -> Any:
        started = time.perf_counter()
        result = function(*arguments)
        seconds[name] = round(time.perf_counter() - started, 2)
        return result

    rates, calendar = timed("policies", tax.load_tax_policies.fn, settings)
    if args.one_pass:
        inputs = timed("read", tax.read_tax_inputs.fn, settings)
        computed = timed(
            "compute",
            tax.compute_tax_returns.fn,
            inputs,
            args.as_of,
            rates,
            calendar,
            settings.timezone,
        )
        facts = {name: len(frame) for name, frame in vars(inputs.facts).items()}
        del inputs
    else:
        read_s, compute_s, computed, facts = by_partition(
            settings, args.as_of, rates, calendar, settings.timezone
        )
        seconds.update(read=round(read_s, 2), compute=round(compute_s, 2))
    if args.store:
        timed("store", tax.store_tax_returns.fn, settings, computed)
    timed("files", tax.write_tax_files.fn, settings, computed.ledger)
    timed("files unchanged", tax.write_tax_files.fn, settings, computed.ledger)
    print(seconds, facts, f"{len(computed.ledger.lines)} lines, {len(computed.problems)} problems")
    if args.dump is not None:
        ledger, folder = computed.ledger, Path(settings.reports_dir) / "tax"
        args.dump.write_bytes(
            pickle.dumps(
                {
                    "lines": ledger.lines,
                    "totals": ledger.totals,
                    "deadlines": ledger.deadlines,
                    "returns": ledger.returns,
                    "provisional": ledger.provisional_fx,
                    "threshold": computed.threshold,
                    "problems": computed.problems,
                    "files": {p.name: p.read_bytes() for p in sorted(folder.iterdir())},
                }
            )
        )


def by_partition(
    settings: Any, as_of: date, rates: Any, calendar: Any, timezone: str
) -> tuple[float, float, Any, dict[str, int]]:
    """As ``compute_tax_returns_by_partition`` runs: the partitions (their table, the
    shared rows) and each partition's facts are the read; its VAT lines and the returns
    built from them the compute. Returns both times, the result, the fact rows read."""
    from domain.tax import FxTable
    from tasks.partitions import customer_partitions
    from tasks.sync_common import engine_for
    from tasks.tax import TaxShared, merge_tax_slices, partition_facts, tax_slice

    started = time.perf_counter()
    compute_s = 0.0
    rows: dict[str, int] = {}
    with customer_partitions(
        engine_for(settings.database_url), settings.tax_partition_size
    ) as parts:
        shared = TaxShared.read(parts[0])
        fx = FxTable(shared.fx)
        slices = []
        for part in parts:
            facts = partition_facts(part, shared)
            for name, frame in vars(facts).items():  # the whole tables are read once
                seen = 0 if name in shared.whole and rows.get(name) else rows.get(name, 0)
                rows[name] = seen + len(frame)
            begun = time.perf_counter()
            slices.append(tax_slice(facts, part, shared, fx, as_of, rates, calendar, timezone))
            compute_s += time.perf_counter() - begun
            del facts
    begun = time.perf_counter()
    computed = merge_tax_slices(slices, shared, fx, as_of, calendar)
    compute_s += time.perf_counter() - begun
    return time.perf_counter() - started - compute_s, compute_s, computed, rows


if __name__ == "__main__":
    main()
