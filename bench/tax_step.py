"""The tax step's tasks on a warehouse, called directly (no Prefect), each timed.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_medium \\
        .venv/bin/python bench/tax_step.py 2026-07-03 [--store] [--dump FILE]

Reads the facts, computes the returns for the date given, stores them with ``--store``
(a second run for the same date writes no row), and writes the files twice into a new
temporary folder (the first builds every workbook, as a night whose returns all changed
does; the second finds them unchanged). ``--dump`` pickles the ledger, the threshold,
the problems and the files' bytes, to compare two versions of the code. Prints the
seconds of each task and the rows read. Run it on a whole-night bench's warehouse
(bench/whole_night.py) under ``py-spy record`` to profile the step alone.
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
    if args.store:
        timed("store", tax.store_tax_returns.fn, settings, computed)
    timed("files", tax.write_tax_files.fn, settings, computed.ledger)
    timed("files unchanged", tax.write_tax_files.fn, settings, computed.ledger)
    facts = {name: len(frame) for name, frame in vars(inputs.facts).items()}
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


if __name__ == "__main__":
    main()
