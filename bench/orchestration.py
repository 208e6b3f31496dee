"""What Prefect adds to a night: the nightly chain under Prefect vs the same functions called
directly, and the number of task runs a night makes.

    .venv/bin/python bench/orchestration.py                      # medium shop, SQLite
    .venv/bin/python bench/orchestration.py --size small --repeat 1
    .venv/bin/python bench/orchestration.py --keep var/orch-keep   # again: nights only

Setup (not timed): a fresh copy of the generated shop served from its own sandbox process
(Stripe 25 req/s, +100 ms, as in bench/sync_throughput.py), a full sync into an empty
warehouse, then a first night (so that the measured nights are ordinary ones, not the
first dunning run over the whole history), the day after it (the daytime sender
delivers what that night queued, as in bench/whole_night.py), a snapshot of the
warehouse, and a day's changes at the providers (bench/shop_changes.py: 1 % of the
charges refunded, of the GoCardless payments failed late, of the parcels delivered).

Measured: ``--repeat`` times each, alternating, the next night from the snapshot:
``nightly`` under Prefect (bench/nightly_child.py ``prefect``: an ephemeral Prefect
server of its own, as ``echeancier run nightly``) and the same chain with every flow and
task called as a plain function (``direct``). The figure is the nightly's wall time in
its process, the ephemeral Prefect server started before the clock starts (its
start-up, ~10–15 s a process, is in "process start-up and exit": a deployment's
worker talks to a server that is already up). Target: Prefect adds under 10 %.
Task runs per night are read from the Prefect server; the direct run counts its task
calls (the two must agree); the ephemeral server's own CPU during the night is read
from /proc (it shares the two cores). Prints markdown.

``--keep DIR`` (SQLite only) keeps the setup in DIR; run again with the same DIR, only
the measured nights run (a minute each instead of ~8 minutes of setup): for comparing
changes to the flows, not for the published figure. ``--profile`` samples the first
Prefect night with py-spy, the ephemeral server's process included.
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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    SandboxProcess,
    Warehouse,
    machine,
    prefect_child_env,
    run_pipeline,
    scratch_warehouse,
)
from bench.shop_changes import change_shop  # noqa: E402
from bench.sync_throughput import FAULTS  # noqa: E402
from bench.whole_night import the_day_between  # noqa: E402

PARIS = ZoneInfo("Europe/Paris")
TARGET = 0.10
# In the run's folder: the served shop, the shop after the day's changes (each night
# starts from a copy), the nights' Prefect home, and what --keep needs to run again.
STATE, STATE_CHANGED, NIGHTS_HOME, SETUP = (
    "state.db",
    "state-changed.db",
    "prefect-home-night",
    "setup.json",
)


def log(message: str) -> None:
    print(f"# {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def nightly(
    mode: str,
    state: Path,
    clock: datetime,
    warehouse: Warehouse,
    home: Path,
    timeout: float,
    profile: Path | None = None,
) -> tuple[dict[str, Any], datetime]:
    """One nightly in a child process against ``state`` served from ``clock``, with a
    Prefect home of its own (the task runs counted are this night's only). ``profile``:
    a py-spy sample of the child (every thread, idle included: where the wall time goes),
    written there in py-spy's raw format."""
    if home.exists():
        shutil.rmtree(home)
    home.mkdir()
    with SandboxProcess.start(state, clock=clock) as sandbox:
        sandbox.post_faults(FAULTS)
        as_of = clock.astimezone(PARIS).date()
        env = prefect_child_env(sandbox.env, warehouse.url, home)
        command = [sys.executable, str(ROOT / "bench" / "nightly_child.py"), mode]
        command.append(as_of.isoformat())
        if profile is not None:
            spy = [py_spy(), "record", "-r", "50"]
            command = [
                *spy,
                "--idle",
                "--threads",
                "--subprocesses",
                "-f",
                "raw",
                "-o",
                str(profile),
                "--",
                *command,
            ]
        started = time.perf_counter()
        out = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=timeout,
            check=False,
        )
        process = time.perf_counter() - started
        if out.returncode != 0:
            raise RuntimeError(f"nightly ({mode}) failed:\n{out.stderr[-4000:]}")
        last = [line for line in out.stdout.splitlines() if line.startswith("{")][-1]
        result: dict[str, Any] = json.loads(last)  # (py-spy, when profiling, prints after it)
        result["process_seconds"] = process
        stopped = sandbox.clock()
    log(
        f"  {mode}: {result['seconds']:.1f} s, CPU {result.get('cpu_seconds', 0):.1f} s"
        f" (process {process:.1f} s, load {machine()['load']})"
    )
    return result, stopped


def py_spy() -> str:
    """The project venv's py-spy (``.venv/bin/pip install py-spy``), else the dlt venv's."""
    for venv in (Path(sys.executable).parent, ROOT / "var" / "bench-venv-dlt" / "bin"):
        if (venv / "py-spy").exists():
            return str(venv / "py-spy")
    raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default="2026-06-30")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument(
        "--transforms", action="store_true", help="also bench/transforms.py on the warehouse"
    )
    parser.add_argument("--profile", type=Path, default=None, help="py-spy the first Prefect night")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="keep the setup in this folder; run again, only the measured nights (SQLite)",
    )
    args = parser.parse_args()
    if args.keep is not None and args.database_url is not None:
        parser.error("--keep keeps a SQLite warehouse only")
    from sandbox.generate import generate_cached

    cached, summary = generate_cached(
        size=args.size, seed=args.seed, as_of=date.fromisoformat(args.as_of)
    )
    runs: dict[str, list[dict[str, Any]]] = {"prefect": [], "direct": []}
    transforms = ""
    (ROOT / "var").mkdir(exist_ok=True)
    with kept_or_temporary(args.keep) as work:
        state, nights_home = work / STATE, work / NIGHTS_HOME
        state_copy, kept = work / STATE_CHANGED, work / SETUP
        opened = (
            kept_warehouse(work) if kept.exists() else scratch_warehouse(args.database_url, work)
        )
        with opened as warehouse:
            if kept.exists():  # --keep: the measured nights again on the setup kept there
                setup = json.loads(kept.read_text())
                clock, changed = datetime.fromisoformat(setup["clock"]), setup["changed"]
                log(f"setup kept in {work}: {changed:,} objects changed, night at {clock}")
            else:
                clock, changed, transforms = set_up(args, cached, summary, work, warehouse)
                kept.write_text(json.dumps({"clock": clock.isoformat(), "changed": changed}))
            for n in range(args.repeat):
                for mode in ("prefect", "direct") if n % 2 == 0 else ("direct", "prefect"):
                    warehouse.restore()
                    shutil.copyfile(state_copy, state)
                    spy = args.profile if mode == "prefect" and not runs[mode] else None
                    result, _ = nightly(
                        mode, state, clock, warehouse, nights_home, args.timeout, spy
                    )
                    runs[mode].append(result)
    print(markdown(args, runs, changed))
    if args.transforms:
        print(transforms)


def set_up(
    args: argparse.Namespace, cached: Path, summary: Any, work: Path, warehouse: Warehouse
) -> tuple[datetime, int, str]:
    """The shop synced, a first night and the day after it, the warehouse's snapshot and a
    day's changes at the providers: the clock of the measured nights, the objects changed
    and the transforms' figures (``--transforms``)."""
    state, home, nights_home = work / STATE, work / "prefect-home", work / NIGHTS_HOME
    shutil.copyfile(cached, state)
    home.mkdir(exist_ok=True)
    with SandboxProcess.start(state, clock=summary.clock_start) as sandbox:
        sandbox.post_faults(FAULTS)
        log(f"setup: full sync of the {args.size} shop")
        as_of = summary.clock_start.astimezone(PARIS).date()
        run_pipeline(sandbox.env, warehouse.url, as_of=as_of, home=home, timeout_s=args.timeout)
        synced_at = sandbox.clock()
    log("setup: a first night")
    _, first_end = nightly(
        "direct", state, synced_at + timedelta(days=1), warehouse, nights_home, args.timeout
    )
    clock = first_end + timedelta(days=1)
    # The first night's mail leaves by day (send window from 09:00), as the send-outbox
    # deployment sends it: otherwise every measured night, Prefect's and the direct one
    # alike, would spend minutes on SendGrid's 10 mails/s.
    the_day_between(work, state, warehouse.url, clock, args.timeout)
    warehouse.snapshot()
    transforms = measure_transforms(warehouse, first_end, args.repeat) if args.transforms else ""
    changes = change_shop(state, after=first_end, fraction=0.01, seed=args.seed)
    shutil.copyfile(state, work / STATE_CHANGED)
    return clock, changes.objects, transforms


@contextmanager
def kept_or_temporary(keep: Path | None) -> Iterator[Path]:
    """``--keep``'s folder (made if new, left afterwards), else a temporary one."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="bench-orch-", dir=ROOT / "var") as folder:
        yield Path(folder)


@contextmanager
def kept_warehouse(work: Path) -> Iterator[Warehouse]:
    """The SQLite warehouse and snapshot a ``--keep`` setup left in ``work``."""
    yield Warehouse(f"sqlite:///{work / 'warehouse.db'}", folder=work)


def measure_transforms(warehouse: Warehouse, night_end: datetime, repeat: int) -> str:
    """bench/transforms.py, in a process of its own, on the warehouse the first night left."""
    from bench.transforms import in_process

    as_of = night_end.astimezone(PARIS).date()
    log(f"transforms vs their reads (as of {as_of})")
    what = f"the {warehouse.url.split(':')[0]} warehouse after a sync and a night"
    return in_process(warehouse.url, as_of, repeat, what)


def markdown(args: argparse.Namespace, runs: dict[str, list[dict[str, Any]]], changed: int) -> str:
    prefect = statistics.median(r["seconds"] for r in runs["prefect"])
    direct = statistics.median(r["seconds"] for r in runs["direct"])
    added = prefect / direct - 1
    startup = statistics.median(r["process_seconds"] - r["seconds"] for r in runs["prefect"])
    direct_startup = statistics.median(r["process_seconds"] - r["seconds"] for r in runs["direct"])
    cpu_prefect = statistics.median(r.get("cpu_seconds", 0) for r in runs["prefect"])
    cpu_direct = statistics.median(r.get("cpu_seconds", 0) for r in runs["direct"]) or 1.0
    task_runs = [r.get("task_runs", 0) for r in runs["prefect"]]
    flow_runs = [r.get("flow_runs", 0) for r in runs["prefect"]]
    calls = [r.get("task_calls", 0) for r in runs["direct"]]
    host = machine()
    return "\n".join(
        [
            f"### Orchestration overhead: a night on the {args.size} shop ({changed:,} objects"
            " changed at the providers)",
            "",
            f"Medians of {args.repeat} nights each, alternating; load average at the end"
            f" {host['load']}.",
            "",
            "| nightly chain | wall time | process start-up and exit | peak RSS |",
            "|---|---|---|---|",
            f"| under Prefect (`nightly(...)`) | {prefect:.1f} s | {startup:.1f} s |"
            f" {statistics.median(r['peak_rss_mb'] for r in runs['prefect']):,.0f} MB |",
            f"| the same functions called directly | {direct:.1f} s | {direct_startup:.1f} s |"
            f" {statistics.median(r['peak_rss_mb'] for r in runs['direct']):,.0f} MB |",
            "",
            f"- Prefect adds **{added:+.0%}** to the night (target under {TARGET:.0%}:"
            f" {'met' if added < TARGET else 'NOT met'}); runs: prefect "
            + ", ".join(f"{r['seconds']:.1f}" for r in runs["prefect"])
            + " s, direct "
            + ", ".join(f"{r['seconds']:.1f}" for r in runs["direct"])
            + " s",
            f"- CPU of the night's process (all its threads; not the ephemeral server's):"
            f" prefect {cpu_prefect:.1f} s, direct {cpu_direct:.1f} s"
            f" (**{cpu_prefect / cpu_direct - 1:+.0%}**); runs: prefect "
            + ", ".join(f"{r.get('cpu_seconds', 0):.1f}" for r in runs["prefect"])
            + " s, direct "
            + ", ".join(f"{r.get('cpu_seconds', 0):.1f}" for r in runs["direct"])
            + " s",
            "- CPU of the ephemeral Prefect server during the night (its own process, on"
            " the same two cores): "
            + ", ".join(f"{r.get('server_cpu_seconds', 0):.1f}" for r in runs["prefect"])
            + " s",
            f"- task runs per night (Prefect server): **{statistics.median(task_runs):.0f}**"
            f" in {statistics.median(flow_runs):.0f} flow runs; task calls counted directly:"
            f" {statistics.median(calls):.0f}",
        ]
    )


if __name__ == "__main__":
    main()
