"""How fast the real ``sync`` flow copies a shop, against the providers' own rate limits.

    .venv/bin/python bench/sync_throughput.py                     # medium shop, SQLite
    .venv/bin/python bench/sync_throughput.py --size small --repeat 3 --nights 3
    .venv/bin/python bench/sync_throughput.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

The sandbox serves the generated shop from its own process with the providers' limits
(Stripe test mode 25 req/s, GoCardless 1000/min, AfterShip 10 req/s) and 100 ms of
latency on every request. The pipeline runs the real flow in its own process into an
empty migrated warehouse. Figures:

- the full sync (first night): flow wall time, objects pulled per provider and per
  second, requests per second per provider (from the sandbox's request log), and
  Stripe's answered request rate over the time Stripe was being read, as a share of the
  25 req/s ceiling. Why that ratio: every Stripe object comes 100 to a page, so once the
  slices run in parallel the limit, not the pipeline, should set the pace (target 80 %).
- an incremental night after 1 % of the charges, GoCardless payments and open parcels
  changed (bench/shop_changes.py): its time, requests and rows written, and a check
  (not a test) that the warehouse wrote exactly the changed objects.

Medians over ``--repeat`` full syncs (each from an empty warehouse) and ``--nights``
incremental nights (each from a copy of the warehouse the full sync left). Prints a
markdown block on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    PipelineRun,
    SandboxProcess,
    Traffic,
    Warehouse,
    machine,
    run_pipeline,
    scratch_warehouse,
    traffic,
)
from bench.shop_changes import Changes, change_shop, check_picked_up, latest_synced  # noqa: E402

PROVIDERS = ("stripe", "gocardless", "aftership")
STRIPE_CEILING = 25.0
# The providers' published limits (connectors/ratelimit.py) enforced by the sandbox, plus
# the latency of a request that crosses the internet.
FAULTS: list[dict[str, Any]] = [
    {"provider": "stripe", "rate_limit": STRIPE_CEILING},
    {"provider": "gocardless", "rate_limit": 1000 / 60},
    {"provider": "aftership", "rate_limit": 10},
    {"provider": "*", "latency_ms": 100},
]
TARGET = 0.80
PARIS = ZoneInfo("Europe/Paris")


@dataclass
class Night:
    """One sync run's figures."""

    run: PipelineRun
    traffic: dict[str, Traffic]
    stopped_at: datetime  # the sandbox's clock when the run ended
    problems: list[str] = field(default_factory=list)
    sandbox_cpu: float = 0.0  # CPU seconds the sandbox spent serving this run

    def pulled(self) -> dict[str, int]:
        return {p: self.run.pulled(p) for p in PROVIDERS}


def log(message: str) -> None:
    print(f"# {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


@dataclass
class Cycle:
    """One full sync and the incremental nights after it (``error``: why they stopped)."""

    full: Night
    nights: list[Night] = field(default_factory=list)
    changes: Changes = field(default_factory=Changes)
    error: str | None = None


def one_cycle(
    args: argparse.Namespace, cached: Path, clock_start: datetime, work: Path, nights: int
) -> Cycle:
    """A full sync from an empty warehouse, then ``nights`` incremental nights after changes.
    A failing night keeps the full sync's figures (it took minutes to measure)."""
    state = work / "state.db"
    shutil.copyfile(cached, state)
    with scratch_warehouse(args.database_url, work) as warehouse:
        cycle = Cycle(night(args, state, clock_start, warehouse, work))
        if nights == 0:
            return cycle
        try:
            log(f"changing {args.fraction:.0%} of the shop")
            cycle.changes = change_shop(
                state, after=cycle.full.stopped_at, fraction=args.fraction, seed=args.seed
            )
            with _engine(warehouse.url) as engine:
                moment = latest_synced(engine)
            warehouse.snapshot()
            next_clock = cycle.full.stopped_at + timedelta(days=1)
            for n in range(nights):
                if n:
                    warehouse.restore()
                later = night(args, state, next_clock, warehouse, work)
                with _engine(warehouse.url) as engine:
                    later.problems = check_picked_up(engine, moment, cycle.changes)
                log(f"  wrote exactly the changes: {not later.problems} {later.problems[:3]}")
                cycle.nights.append(later)
        except Exception as exc:
            cycle.error = f"{type(exc).__name__}: {exc}"
            log(f"incremental night failed: {cycle.error}")
    return cycle


def night(
    args: argparse.Namespace, state: Path, clock: datetime, warehouse: Warehouse, work: Path
) -> Night:
    """Serve ``state`` from ``clock`` with the limits, run the sync, read the request log."""
    with SandboxProcess.start(state, clock=clock) as sandbox:
        sandbox.post_faults(FAULTS)
        as_of = clock.astimezone(PARIS).date()
        log(f"sync (as of {as_of}) into {warehouse.url.split('@')[-1]}")
        home = work / "prefect-home"
        home.mkdir(exist_ok=True)
        serving = sandbox.cpu_seconds()
        run = run_pipeline(
            sandbox.env, warehouse.url, as_of=as_of, home=home, timeout_s=args.timeout
        )
        serving = sandbox.cpu_seconds() - serving
        logs = {p: sandbox.requests(p) for p in PROVIDERS}
        per_provider = {p: traffic(log) for p, log in logs.items()}
        keep_request_log(logs, f"ours-{as_of}")
        stopped_at = sandbox.clock()
    log(f"  flow {run.flow_seconds:.1f} s, modes {run.report['modes']}")
    return Night(run, per_provider, stopped_at, sandbox_cpu=serving)


def keep_request_log(logs: dict[str, Any], name: str) -> None:
    """With ``BENCH_REQUEST_LOG=DIR``, the sandbox's request log of a run as JSON there
    (to see where a run's rate dipped: ``jq`` the ``time`` and ``path`` fields)."""
    folder = os.environ.get("BENCH_REQUEST_LOG")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%H%M%S")
        (Path(folder) / f"{name}-{stamp}.json").write_text(json.dumps(logs))


@contextmanager
def _engine(url: str) -> Iterator[Engine]:
    """An engine for the benchmark's own reads, disposed after (no connection left open on
    the warehouse while the pipeline or a restore writes it)."""
    from warehouse.engine import make_engine

    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def markdown(
    args: argparse.Namespace,
    summary: Any,
    fulls: list[Night],
    nights: list[Night],
    changes: Changes,
) -> str:
    backend = "SQLite" if not args.database_url else "PostgreSQL"
    objects = sum(sum(c.values()) for c in summary.counts.values())
    host = machine()
    lines = [
        f"### Sync throughput: {args.size} shop, {backend}",
        "",
        f"Shop: {args.size}, seed {args.seed}, as of {args.as_of} ({objects:,} provider objects"
        f" in the sandbox, events included). Sandbox in its own process with"
        f" `{_faults_text()}`. Machine: {host['cpu']}, {host['cores']} cores, {host['ram']};"
        f" load average at the end {host['load']}. Preparer processes: {_preparers()}.",
        "",
        f"**Full sync** (first night, empty warehouse; median of {len(fulls)}):",
        "",
        "| provider | objects pulled | requests (429s) | req/s while read | req/s over the flow |",
        "|---|---|---|---|---|",
    ]
    flow = median([n.run.flow_seconds for n in fulls])
    for p in PROVIDERS:
        pulled = median([n.pulled()[p] for n in fulls])
        reqs = median([n.traffic[p].requests for n in fulls])
        throttled = median([n.traffic[p].throttled for n in fulls])
        rate = median([n.traffic[p].rate for n in fulls])
        lines.append(
            f"| {p} | {pulled:,.0f} | {reqs:,.0f} ({throttled:,.0f}) | {rate:.1f} |"
            f" {reqs / flow:.1f} |"
        )
    total = median([sum(n.pulled().values()) for n in fulls])
    ratio = median([n.traffic["stripe"].rate / STRIPE_CEILING for n in fulls])
    window = median([n.traffic["stripe"].window_s for n in fulls])
    stripe_requests = median([n.traffic["stripe"].requests for n in fulls])
    lines += [
        f"| **total** | **{total:,.0f}** | | | |",
        "",
        f"- flow wall time: **{flow:.1f} s** (process with Prefect's start-up:"
        f" {median([n.run.process_seconds for n in fulls]):.1f} s); **{total / flow:,.0f}"
        " objects/s**",
        f"- Stripe read for {window:.1f} s at {ratio * STRIPE_CEILING:.1f} answered req/s:"
        f" **{ratio:.0%} of the 25 req/s ceiling** (target ≥ {TARGET:.0%}:"
        f" {'met' if ratio >= TARGET else 'NOT met'}); at the ceiling its"
        f" {stripe_requests:,.0f} requests would take {stripe_requests / STRIPE_CEILING:.0f} s",
    ]
    lines += cpu_lines(fulls, total, int(host["cores"]))
    if nights:
        lines += night_section(args, nights, changes, objects)
    return "\n".join(lines)


def cpu_lines(fulls: list[Night], objects: float, cores: int) -> list[str]:
    """Where the machine's CPU went during the full sync. On a small machine the sandbox
    (which stands in for the providers' servers) takes part of the same cores, so when
    pipeline + sandbox use them all the run is CPU-bound, not rate-bound; the pipeline's
    own cost per object says what rate its share of the machine can carry."""
    pipeline = median([n.run.cpu_seconds for n in fulls])
    sandbox = median([n.sandbox_cpu for n in fulls])
    process = median([n.run.process_seconds for n in fulls])
    if not pipeline or not process:
        return []
    busy = (pipeline + sandbox) / (process * cores)
    per_k = pipeline / objects * 1000
    alone = objects / pipeline * cores
    return [
        f"- CPU during the run: pipeline {pipeline:.0f} s (its processes, Prefect's server"
        f" included), sandbox {sandbox:.0f} s, together **{busy:.0%} of the {cores} cores**"
        f" over the process's {process:.0f} s; the pipeline spends {per_k:.2f} CPU s per"
        f" 1,000 objects, so with the {cores} cores to itself it could carry ~{alone:,.0f}"
        " objects/s",
    ]


def night_section(
    args: argparse.Namespace, nights: list[Night], changes: Changes, objects: int
) -> list[str]:
    """The incremental nights' figures, and whether they wrote exactly the changes."""
    lines = [
        "",
        f"**Incremental night** after {args.fraction:.0%} changed (median of {len(nights)}):"
        f" {len(changes.refunded_charges):,} charges refunded (+{len(changes.refunds):,}"
        f" refunds), {len(changes.late_failures):,} GoCardless payments failed late,"
        f" {len(changes.delivered):,} parcels delivered: {changes.objects:,} objects"
        f" ({changes.objects / objects:.2%} of the shop), {changes.events:,} events.",
        "",
        "| provider | requests (429s) | objects pulled |",
        "|---|---|---|",
    ]
    for p in PROVIDERS:
        reqs = median([n.traffic[p].requests for n in nights])
        throttled = median([n.traffic[p].throttled for n in nights])
        pulled = median([n.pulled()[p] for n in nights])
        lines.append(f"| {p} | {reqs:,.0f} ({throttled:,.0f}) | {pulled:,.0f} |")
    inc = median([n.run.flow_seconds for n in nights])
    inc_process = median([n.run.process_seconds for n in nights])
    written = nights[0].run.written()
    ok = all(not n.problems for n in nights)
    lines += [
        "",
        f"- flow wall time: **{inc:.1f} s** (process with Prefect's start-up: {inc_process:.1f} s)",
        "- rows written: " + ", ".join(f"{k} {v:,}" for k, v in sorted(written.items())),
        "- the warehouse wrote exactly the changed objects (payments, refunds, shipments;"
        f" nothing else): **{'yes' if ok else 'NO'}**",
    ]
    return lines


def _faults_text() -> str:
    return ", ".join(
        f"{f['provider']} "
        + (f"{f['rate_limit']:.4g} req/s" if "rate_limit" in f else f"+{f['latency_ms']} ms")
        for f in FAULTS
    )


def _preparers() -> str:
    from tasks.sync_pipeline import PREPARERS

    return os.environ.get("BENCH_SYNC_PREPARERS", f"{PREPARERS} (the default)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default="2026-06-30")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=1, help="full syncs (median)")
    parser.add_argument("--nights", type=int, default=3, help="incremental nights (median)")
    parser.add_argument("--fraction", type=float, default=0.01)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per sync run")
    parser.add_argument(
        "--preparers",
        type=int,
        default=None,
        help="processes preparing listed batches (default: the pipeline's own; 0: the writer"
        " prepares them itself)",
    )
    args = parser.parse_args()
    if args.preparers is not None:  # read by bench/pipeline_child.py
        os.environ["BENCH_SYNC_PREPARERS"] = str(args.preparers)
    from sandbox.generate import generate_cached

    log(f"generating (or reusing) the {args.size} shop")
    cached, summary = generate_cached(
        size=args.size, seed=args.seed, as_of=date.fromisoformat(args.as_of)
    )
    cycles: list[Cycle] = []
    (ROOT / "var").mkdir(exist_ok=True)
    for n in range(max(1, args.repeat)):
        with tempfile.TemporaryDirectory(prefix="bench-sync-", dir=ROOT / "var") as folder:
            # Every cycle runs its full sync; the incremental nights run after the first one.
            nights = args.nights if n == 0 else 0
            cycles.append(one_cycle(args, cached, summary.clock_start, Path(folder), nights))
    first = cycles[0]
    print(markdown(args, summary, [c.full for c in cycles], first.nights, first.changes))
    problems = [p for night in first.nights for p in night.problems]
    if first.error:
        print(f"\n**The incremental nights stopped:** `{first.error}`")
        raise SystemExit(f"incremental night failed: {first.error}")
    if problems:
        raise SystemExit(
            "the incremental night did not write exactly the changes:\n" + "\n".join(problems)
        )


if __name__ == "__main__":
    main()
