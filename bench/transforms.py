"""Each nightly transform against the I/O floor: the time to read its input tables.

    .venv/bin/python bench/transforms.py --database-url sqlite:///var/x.db --as-of 2026-07-02

Runs against a warehouse a sync and a night have filled (bench/orchestration.py calls it
on the warehouse its setup leaves). For each step, the flow's own task functions
(``.fn``: no Prefect), one after the other, ``--repeat`` times (median):

- reconciliation: ``read_recon_frames`` vs ``find_recon_exceptions``;
- dunning decisions: reading each customer partition's inputs (tasks/partitions.py, as
  ``decide_dunning`` does) vs ``domain.dunning.decide`` on them, summed over partitions;
- VAT lines and returns: reading each customer partition's facts vs their VAT lines and
  the returns built from them, as ``compute_tax_returns_by_partition`` does
  (bench/tax_step.py ``by_partition``);
- the KPI backfill: ``read_kpi_inputs`` vs ``compute_kpi_daily`` over every day from
  the first subscription to ``--as-of``.

Target: each computation within 3× its read. Prints markdown table rows.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET = 3.0


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


Timed = Callable[[], tuple[float, float]]


def pair(read: Callable[[], Any], compute: Callable[[Any], Any]) -> Timed:
    """A step timed as (read its inputs, compute from them)."""

    def run() -> tuple[float, float]:
        read_s, inputs = timed(read)
        compute_s, _ = timed(partial(compute, inputs))
        return read_s, compute_s

    return run


def steps(settings: Any, as_of: date) -> dict[str, Timed]:
    """Per step: a run that returns (seconds reading its inputs, seconds computing)."""
    from bench.tax_step import by_partition
    from domain.dunning import decide
    from tasks.dunning import SOURCES, Shared, load_dunning_policy, partition_inputs
    from tasks.kpis import compute_kpi_daily, read_kpi_inputs
    from tasks.partitions import customer_partitions
    from tasks.reconcile import find_recon_exceptions, load_recon_policy, read_recon_frames
    from tasks.sync_common import engine_for
    from tasks.tax import load_tax_policies

    recon_policy = load_recon_policy.fn(settings)
    dunning_policy, rates = load_dunning_policy.fn(settings)
    vat_rates, calendar = load_tax_policies.fn(settings)
    tz = settings.timezone

    def backfill(inputs: Any) -> Any:
        first = inputs.subscriptions["start_at"].min().tz_convert(tz).date()
        return compute_kpi_daily.fn(inputs, first, as_of, tz)

    def dunning() -> tuple[float, float]:
        """As ``decide_dunning`` runs: the partitions (their table, the shared rows) and
        each partition's frames are the read; ``decide`` on each is the compute."""
        engine = engine_for(settings.database_url)
        started = time.perf_counter()
        compute_s = 0.0
        with customer_partitions(engine, settings.dunning_partition_size) as parts:
            shared = Shared.read(parts[0], tuple(SOURCES))
            for part in parts:
                inputs = partition_inputs(part, shared)
                seconds, _ = timed(
                    partial(
                        decide, inputs, dunning_policy, rates, as_of, portal_url=settings.portal_url
                    )
                )
                compute_s += seconds
                del inputs
        return time.perf_counter() - started - compute_s, compute_s

    return {
        "reconciliation (rules)": pair(
            lambda: read_recon_frames.fn(settings),
            lambda frames: find_recon_exceptions.fn(frames, as_of, recon_policy),
        ),
        "dunning decisions": dunning,
        "VAT lines and returns": lambda: by_partition(settings, as_of, vat_rates, calendar, tz)[:2],
        "KPI backfill (whole history)": pair(lambda: read_kpi_inputs.fn(settings), backfill),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from echeancier.settings import Settings

    settings = Settings(DATABASE_URL=args.database_url)  # type: ignore[call-arg]
    as_of = date.fromisoformat(args.as_of)
    print("| step | read its inputs | compute | compute / read | target ≤ 3× |")
    print("|---|---|---|---|---|")
    for name, run in steps(settings, as_of).items():
        reads, computes = [], []
        for _ in range(args.repeat):
            read_s, compute_s = run()
            reads.append(read_s)
            computes.append(compute_s)
        r, c = statistics.median(reads), statistics.median(computes)
        ratio = c / r if r else float("inf")
        print(
            f"| {name} | {r:.2f} s | {c:.2f} s | {ratio:.1f}× |"
            f" {'met' if ratio <= TARGET else 'NOT met'} |",
            flush=True,
        )


def in_process(url: str, as_of: date, repeat: int, what: str) -> str:
    """This benchmark in a process of its own (its frames' memory is not the caller's) on
    the warehouse at ``url``, as a markdown section; ``what`` says which warehouse."""
    from bench.harness import machine

    command = [sys.executable, str(ROOT / "bench" / "transforms.py")]
    command += ["--database-url", url, "--as-of", as_of.isoformat(), "--repeat", str(repeat)]
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"transforms failed:\n{out.stderr[-4000:]}")
    return "\n".join(
        [
            "",
            f"### Transforms vs the I/O floor: {what} (as of {as_of})",
            "",
            f"Each step's own task functions (`.fn`), medians of {repeat}; the load average"
            f" at the end: {machine()['load']}.",
            "",
            out.stdout.strip(),
        ]
    )


if __name__ == "__main__":
    main()
