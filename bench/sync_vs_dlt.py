"""Our full sync against dlt's generic ``rest_api`` source, same Stripe lists, same limits.

    .venv/bin/python bench/sync_vs_dlt.py                            # medium shop, SQLite
    .venv/bin/python bench/sync_vs_dlt.py --size small --repeat 1
    .venv/bin/python bench/sync_vs_dlt.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Each run serves a fresh copy of the generated shop from its own sandbox process with
Stripe's test-mode limit (25 req/s, answered with Stripe's own 429s beyond it) and
100 ms on every request, then runs one pipeline into an empty database of the chosen
kind: ours (the real ``sync`` flow, bench/pipeline_child.py: Stripe, GoCardless and
AfterShip at once) or dlt (bench/dlt_child.py, Stripe only, in its own venv
``var/bench-venv-dlt`` that this script creates on first use: dlt is never a
dependency of the project). Ours and dlt alternate, ``--repeat`` times each.

Figures, from the sandbox's request log and each pipeline's own counts: Stripe objects
pulled, requests (and 429s), the time Stripe was being read (first request's start to
last request's end), answered requests per second over that time as a share of the
25 req/s ceiling (target ≥ 80 %), Stripe objects per second over it, and the
pipeline's wall time. Medians over the runs; markdown on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import SandboxProcess, Traffic, machine, scratch_warehouse, traffic  # noqa: E402
from bench.sync_throughput import (  # noqa: E402
    FAULTS,
    STRIPE_CEILING,
    TARGET,
    keep_request_log,
    night,
)

VENV = ROOT / "var" / "bench-venv-dlt"
DLT_SPEC = "dlt[postgres,sqlalchemy]"


@dataclass
class Run:
    """One pipeline's full sync, as the sandbox saw Stripe being read."""

    who: str
    stripe_objects: int
    stripe: Traffic
    wall_s: float

    @property
    def ratio(self) -> float:
        return self.stripe.rate / STRIPE_CEILING

    @property
    def objects_per_s(self) -> float:
        return self.stripe_objects / self.stripe.window_s if self.stripe.window_s else 0.0


def log(message: str) -> None:
    print(f"# {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def dlt_python() -> Path:
    """The dlt venv's interpreter, the venv created and dlt installed on first use."""
    python = VENV / "bin" / "python"
    probe = [str(python), "-c", "import dlt, psycopg2, sqlalchemy"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    log(f"creating {VENV.relative_to(ROOT)} with {DLT_SPEC}")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, DLT_SPEC, "py-spy"], check=True)
    return python


def ours(args: argparse.Namespace, cached: Path, clock: object, work: Path) -> Run:
    state = work / "state.db"
    shutil.copyfile(cached, state)
    with scratch_warehouse(args.database_url, work) as warehouse:
        done = night(args, state, clock, warehouse, work)  # type: ignore[arg-type]
    return Run("ours", done.run.pulled("stripe"), done.traffic["stripe"], done.run.flow_seconds)


def dlt(args: argparse.Namespace, cached: Path, clock: object, work: Path, python: Path) -> Run:
    state = work / "state.db"
    shutil.copyfile(cached, state)
    with scratch_warehouse(args.database_url, work) as warehouse:
        destination = (
            f"sqlite:///{work / 'dlt.db'}"
            if warehouse.server_url is None
            else warehouse.url  # an empty scratch database of its own on the same server
        )
        with SandboxProcess.start(state, clock=clock) as sandbox:  # type: ignore[arg-type]
            sandbox.post_faults(FAULTS)
            log(f"dlt into {destination.split('@')[-1]}")
            command = [str(python), str(ROOT / "bench" / "dlt_child.py"), sandbox.url]
            command += [sandbox.env["STRIPE_API_KEY"], destination, str(work)]
            started = time.perf_counter()
            out = subprocess.run(
                command, capture_output=True, text=True, timeout=args.timeout, check=False
            )
            wall = time.perf_counter() - started
            log_stripe = sandbox.requests("stripe")
            stripe = traffic(log_stripe)
            keep_request_log({"stripe": log_stripe}, "dlt")
            if out.returncode != 0:
                log(f"  dlt read Stripe at {stripe.rate:.1f} req/s over {stripe.window_s:.0f} s")
                raise RuntimeError(f"dlt failed ({out.returncode}):\n{out.stderr[-4000:]}")
            result = json.loads(out.stdout.strip().splitlines()[-1])
    log(f"  dlt {wall:.1f} s, {result['objects']:,} objects, {stripe.requests} requests")
    return Run("dlt", int(result["objects"]), stripe, float(result["seconds"]))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def markdown(args: argparse.Namespace, runs: list[Run], objects: int, dlt_version: str) -> str:
    host = machine()
    backend = "SQLite" if not args.database_url else "PostgreSQL"
    lines = [
        f"### Full sync, ours vs dlt {dlt_version}: {args.size} shop, {backend}",
        "",
        f"Shop: {args.size}, seed {args.seed} ({objects:,} provider objects in the sandbox)."
        f" Stripe 25 req/s with its own 429s beyond, +100 ms a request. Machine:"
        f" {host['cpu']}, {host['cores']} cores; load average at the end {host['load']}."
        f" Medians of {args.repeat} run(s) each; ours also reads GoCardless and AfterShip"
        " during the same run, dlt reads Stripe only.",
        "",
        "| pipeline | Stripe objects | requests (429s) | Stripe read for | req/s"
        " | of the 25 req/s ceiling | Stripe objects/s | wall time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    summary: dict[str, dict[str, float]] = {}
    for who in ("ours", "dlt"):
        mine = [r for r in runs if r.who == who]
        if not mine:
            continue
        figures = {
            "objects": median([r.stripe_objects for r in mine]),
            "requests": median([r.stripe.requests for r in mine]),
            "throttled": median([r.stripe.throttled for r in mine]),
            "window": median([r.stripe.window_s for r in mine]),
            "rate": median([r.stripe.rate for r in mine]),
            "ratio": median([r.ratio for r in mine]),
            "per_s": median([r.objects_per_s for r in mine]),
            "wall": median([r.wall_s for r in mine]),
        }
        summary[who] = figures
        lines.append(
            f"| {who} | {figures['objects']:,.0f} | {figures['requests']:,.0f}"
            f" ({figures['throttled']:,.0f}) | {figures['window']:.1f} s |"
            f" {figures['rate']:.1f} | **{figures['ratio']:.0%}** | {figures['per_s']:,.0f} |"
            f" {figures['wall']:.1f} s |"
        )
    lines.append("")
    lines.append("Each run: " + "; ".join(_run_text(r) for r in runs) + ".")
    if "ours" in summary:
        ratio = summary["ours"]["ratio"]
        lines += [
            "",
            f"- ours: **{ratio:.0%} of the ceiling** (target ≥ {TARGET:.0%}:"
            f" {'met' if ratio >= TARGET else 'NOT met'})",
        ]
    if "ours" in summary and "dlt" in summary and summary["dlt"]["per_s"]:
        ahead = summary["ours"]["per_s"] / summary["dlt"]["per_s"]
        lines.append(
            f"- Stripe objects/s, ours over dlt's: **{ahead:.2f}×** (target > 1:"
            f" {'met' if ahead > 1 else 'NOT met'}); wall time, dlt over ours:"
            f" {summary['dlt']['wall'] / summary['ours']['wall']:.2f}×"
        )
    return "\n".join(lines)


def _run_text(run: Run) -> str:
    return (
        f"{run.who} {run.stripe.rate:.1f} req/s over {run.stripe.window_s:.0f} s,"
        f" {run.stripe.throttled} 429s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default="2026-06-30")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each pipeline (median)")
    parser.add_argument("--only", choices=["ours", "dlt"], default=None)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    args = parser.parse_args()
    from sandbox.generate import generate_cached

    python = dlt_python() if args.only != "ours" else None
    version = (
        subprocess.run(
            [str(python), "-c", "import dlt; print(dlt.__version__)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if python
        else "-"
    )
    log(f"generating (or reusing) the {args.size} shop")
    cached, summary = generate_cached(
        size=args.size, seed=args.seed, as_of=date.fromisoformat(args.as_of)
    )
    objects = sum(sum(c.values()) for c in summary.counts.values())
    runs: list[Run] = []
    (ROOT / "var").mkdir(exist_ok=True)
    for _ in range(max(1, args.repeat)):
        for who in ("ours", "dlt"):
            if args.only and who != args.only:
                continue
            with tempfile.TemporaryDirectory(prefix="bench-dlt-", dir=ROOT / "var") as folder:
                work = Path(folder)
                if who == "ours":
                    runs.append(ours(args, cached, summary.clock_start, work))
                else:
                    assert python is not None
                    runs.append(dlt(args, cached, summary.clock_start, work, python))
            log(f"  {_run_text(runs[-1])}")
    print(markdown(args, runs, objects, version))


if __name__ == "__main__":
    main()
