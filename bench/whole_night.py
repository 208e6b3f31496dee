"""The whole night on a big shop: wall time, peak memory and each step's time.

    .venv/bin/python bench/whole_night.py --size medium \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_medium
    .venv/bin/python bench/whole_night.py --size large \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_large

Setup (not timed, bench/bulk_load.py: BENCH SETUP, NOT THE PRODUCT): the generated shop
copied to ``var/whole-night-<size>/state.db``; the warehouse (the database named by
``--database-url``, dropped and created again; a URL naming ``test`` gets
``bench_whole_night_<size>`` beside it instead) filled with the shop as a first full sync
leaves it, without HTTP; a first night (``nightly`` with Prefect out of the way, as
bench/orchestration.py runs it, and no rate limits: its tens of thousands of e-mails
would take hours) so that the measured night is an ordinary one, not the first dunning
run over the whole history; then a day's changes at the providers
(bench/shop_changes.py: 1 % of the charges refunded, of the GoCardless payments failed
late, of the parcels delivered). ``--reuse`` starts from the setup a previous run left
(``setup.json`` in the folder and a template copy of the warehouse).

Measured: ``nightly(as_of=…)`` under Prefect, as ``echeancier run nightly`` runs it
(bench/nightly_child.py ``prefect``: an ephemeral Prefect server of its own, started
before the clock), over HTTP with the official SDKs against a sandbox serving the shop at
Stripe's test-mode limits (25 req/s, +100 ms a request, GoCardless 1000/min, AfterShip
10 req/s; SendGrid 10 mails/s, the connector's own limit). Reported: the night's wall
time, the peak resident memory of its processes (sampled every 0.2 s: the pipeline, the
sync's writer process when it starts, and the ephemeral Prefect server, apart and
summed), each step's time (from ``pipeline_runs``, which every flow writes at its start
and end; the gate is the gap between the sync's end and the reconciliation's start), and
per step the requests made to each provider and the floor their rate limits set. Prints
markdown. Target (issue 10): under 5 minutes and under 4 GiB on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import SandboxProcess, machine, prefect_child_env  # noqa: E402
from bench.sync_throughput import FAULTS  # noqa: E402

PARIS = ZoneInfo("Europe/Paris")
PASS_LIMIT = 10_000  # tasks.outbox.deliver's mails per pass
TARGET_S = 300.0
TARGET_MB = 4096.0
RATES = {"stripe": 25.0, "gocardless": 1000 / 60, "aftership": 10.0, "sendgrid": 10.0}
STEPS = (
    "sync",
    "reconcile",
    "dunning",
    "renewal-notices",
    "shipment-notices",
    "tax-report",
    "kpis",
)


def log(message: str) -> None:
    print(f"# {time.strftime('%H:%M:%S')} load {load()} {message}", file=sys.stderr, flush=True)


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


# -- memory of a process tree ------------------------------------------------------------


@dataclass
class MemorySampler:
    """Peak RSS of a process and its descendants, sampled from /proc every ``period`` s."""

    root: int
    period: float = 0.2
    peak_total_kb: int = 0
    peak_by_role: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            by_role: dict[str, int] = {}
            for pid in tree(self.root):
                rss, role = rss_kb(pid), role_of(pid, self.root)
                by_role[role] = by_role.get(role, 0) + rss
            total = sum(kb for role, kb in by_role.items() if role != "profiler")
            self.peak_total_kb = max(self.peak_total_kb, total)
            for role, kb in by_role.items():
                self.peak_by_role[role] = max(self.peak_by_role.get(role, 0), kb)
            self._stop.wait(self.period)


def tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def role_of(pid: int, root: int) -> str:
    """Which of the night's processes ``pid`` is (py-spy, when profiling, is the root)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmd:
            line = cmd.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "other"
    if "py-spy" in line:
        return "profiler"
    if "nightly_child.py" in line:
        return "pipeline"
    if "prefect" in line and "server" in line:
        return "prefect server"
    if "spawn_main" in line:
        return "sync writer"
    return "other"


# bench/nightly_child.py with our SendGrid connector's 10 mails/s lifted (setup only).
UNLIMITED = """
import runpy, sys
sys.path.insert(0, ".")
import connectors.sendgrid
connectors.sendgrid.SENDGRID_RATE = 100_000.0
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


# -- setup -------------------------------------------------------------------------------


@dataclass
class Setup:
    """What the setup left: the store, the warehouse, and the clock the changes start at."""

    state: str
    url: str
    night_start: str  # the sandbox clock the measured night starts at (ISO)
    changed: dict[str, int]
    bulk_seconds: float
    first_night_seconds: float
    first_night_rss_mb: float
    loads: dict[str, str]

    def save(self, folder: Path) -> None:
        (folder / "setup.json").write_text(json.dumps(self.__dict__, indent=1))

    @classmethod
    def read(cls, folder: Path) -> Setup:
        return cls(**json.loads((folder / "setup.json").read_text()))


def warehouse_url(url: str, size: str) -> str:
    from warehouse.engine import normalise_url

    parsed = normalise_url(url)
    if parsed.database in (None, "", "test", "postgres"):  # never the shared ones
        parsed = parsed.set(database=f"bench_whole_night_{size}")
    rendered: str = parsed.render_as_string(hide_password=False)
    return rendered


def admin(url: str, *statements: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.pool import NullPool

    from warehouse.engine import make_engine, normalise_url

    server = normalise_url(url).set(database="postgres").render_as_string(hide_password=False)
    engine = make_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as conn:
        # Sessions left on the bench's own database (a pooled engine of this process):
        # a template copy refuses to start while any is open.
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": db_name(url)},
        )
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


def db_name(url: str) -> str:
    from warehouse.engine import normalise_url

    return str(normalise_url(url).database)


def night(
    mode: str,
    state: Path,
    clock: datetime,
    url: str,
    home: Path,
    timeout: float,
    profile: Path | None = None,
    *,
    limits: bool = True,
    flow: str = "nightly",
) -> dict[str, Any]:
    """One nightly in a child process against ``state`` served from ``clock``: the child's
    JSON line, the memory it and its children used, and the sandbox's request log.

    ``limits=False`` (the setup's first night only, never a measured one): no rate limits
    or latency at the sandbox and none at our SendGrid connector. The first night after
    a first sync acts on the whole history (the large shop's: tens of thousands of
    e-mails, hours at 10 a second); the measured night is the next, ordinary one."""
    from warehouse.migrate import upgrade

    upgrade(url)  # as an operator does after a deploy: the code may have moved on since setup
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    with SandboxProcess.start(state, clock=clock) as sandbox:
        if limits:
            sandbox.post_faults(FAULTS)
        sandbox.clear_requests()
        # The request log is stamped with the machine's time, ``pipeline_runs`` with the
        # sandbox's clock (the flows' ``utc_now`` seam): the offset between the two.
        offset = (sandbox.clock() - datetime.now(UTC)).total_seconds()
        as_of = clock.astimezone(PARIS).date()
        env = prefect_child_env(sandbox.env, url, home)
        child = str(ROOT / "bench" / "nightly_child.py")
        command = [sys.executable, child, mode, as_of.isoformat(), flow]
        if not limits:
            command = [sys.executable, "-c", UNLIMITED, child, mode, as_of.isoformat(), flow]
        if profile is not None:
            spy = [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "-r",
                "20",
                "--subprocesses",
            ]
            command = [*spy, "--idle", "-f", "raw", "-o", str(profile), "--", *command]
        started = time.perf_counter()
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env
        )
        sampler = MemorySampler(proc.pid).start()
        try:
            out, err = proc.communicate(timeout=timeout)
        finally:
            sampler.stop()
            if proc.poll() is None:
                proc.kill()
        process = time.perf_counter() - started
        (home.parent / f"{home.name}.log").write_text(err)  # the flows' logs, for reading after
        if proc.returncode != 0:
            raise RuntimeError(f"nightly ({mode}) failed:\n{err[-4000:]}")
        last = [line for line in out.splitlines() if line.startswith("{")][-1]
        result: dict[str, Any] = json.loads(last)
        result.setdefault("seconds", process)
        result["process_seconds"] = process
        result["peak_tree_mb"] = sampler.peak_total_kb / 1024
        result["peak_by_role_mb"] = {k: v / 1024 for k, v in sampler.peak_by_role.items()}
        result["requests"] = sandbox.requests()
        result["clock_offset_s"] = offset
        result["ended"] = sandbox.clock().isoformat()
        result["load"] = load()
    return result


def bulk_loaded(args: argparse.Namespace, folder: Path, url: str) -> dict[str, Any]:
    """Stage 1: the store copied and the warehouse bulk-loaded (``loaded.json``)."""
    from bench.bulk_load import bulk_load, finish_like_a_first_sync, verify
    from sandbox.generate import generate_cached
    from warehouse.migrate import upgrade

    marker = folder / "loaded.json"
    if args.reuse and marker.exists():
        log("reusing the bulk-loaded warehouse (loaded.json)")
        stage: dict[str, Any] = json.loads(marker.read_text())
        return stage
    log(f"setup: the {args.size} shop (generated once, cached)")
    cached, summary = generate_cached(
        size=args.size, seed=args.seed, as_of=date.fromisoformat(args.as_of)
    )
    state, journal = folder / "state.db", folder / "bulk-jobs.jsonl"
    name = db_name(url)
    if not (args.reuse and journal.exists()):  # else: resume the stopped load
        for suffix in ("", "-wal", "-shm"):
            Path(f"{state}{suffix}").unlink(missing_ok=True)
        journal.unlink(missing_ok=True)
        shutil.copyfile(cached, state)
        admin(url, f'DROP DATABASE IF EXISTS "{name}_setup" WITH (FORCE)')
        admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    upgrade(url)
    started = summary.clock_start.astimezone(UTC)
    log("setup: bulk load (bench/bulk_load.py: no HTTP)")
    before = load()
    bulk = bulk_load(state, url, started=started, workers=args.workers, journal=journal)
    log(f"setup: {bulk.objects:,} objects in {bulk.seconds:.0f} s; cursors, links, check")
    with SandboxProcess.start(state, clock=started) as sandbox:
        finish_like_a_first_sync(bulk, sandbox.env, url)
        problems = verify(bulk, sandbox.env, url)
    if problems:
        raise RuntimeError("the bulk load differs from a real sync:\n" + "\n".join(problems))
    stage = {
        "state": str(state),
        "url": url,
        "started": started.isoformat(),
        "objects": bulk.objects,
        "seconds": bulk.seconds,
        "loads": [before, load()],
    }
    marker.write_text(json.dumps(stage, indent=1))
    (folder / "setup.json").unlink(missing_ok=True)
    return stage


def setup(args: argparse.Namespace, folder: Path, url: str) -> Setup:
    """Stage 2: a first night, then a day's changes; snapshots for ``--reuse``."""
    from bench.shop_changes import change_shop

    stage = bulk_loaded(args, folder, url)
    state, name = Path(stage["state"]), db_name(url)
    started = datetime.fromisoformat(stage["started"])
    log("setup: a first night (Prefect out of the way)")
    first = night(
        "direct",
        state,
        started + timedelta(days=1),
        url,
        folder / "home-first",
        args.timeout,
        limits=False,
    )
    log(f"setup: first night {first['seconds']:.0f} s, peak {first['peak_tree_mb']:,.0f} MB")
    first_end = datetime.fromisoformat(first["ended"])
    changes = change_shop(state, after=first_end, fraction=0.01, seed=args.seed)
    if args.snapshot:
        admin(url, f'DROP DATABASE IF EXISTS "{name}_setup" WITH (FORCE)')
        admin(url, f'CREATE DATABASE "{name}_setup" TEMPLATE "{name}"')
        shutil.copyfile(state, folder / "state-setup.db")
        copy_reports(folder / "reports", folder / "reports-setup")
    out = Setup(
        state=str(state),
        url=url,
        night_start=(first_end + timedelta(days=1)).isoformat(),
        changed={
            "charges refunded": len(changes.refunded_charges),
            "GoCardless payments failed late": len(changes.late_failures),
            "parcels delivered": len(changes.delivered),
        },
        bulk_seconds=float(stage["seconds"]),
        first_night_seconds=float(first["seconds"]),
        first_night_rss_mb=float(first["peak_tree_mb"]),
        loads={"bulk load": " → ".join(stage["loads"]), "first night end": first["load"]},
    )
    if args.snapshot:
        out.save(folder)
    return out


def mails_sent(result: dict[str, Any]) -> int:
    """The e-mails a run sent: its SendGrid requests in the sandbox's log."""
    return sum(1 for r in result["requests"] if r["provider"] == "sendgrid")


def the_day_between(
    folder: Path, state: Path, url: str, night_start: datetime, timeout: float
) -> int:
    """The day between the first night and the measured one (not timed): the daytime
    sender delivers what the first night queued, at 16:00 Paris, with no rate limits.

    Why: customer mail leaves from 09:00 (``send_hour``, ``send_window``), so a night at
    midnight queues its mails and the send-outbox deployment delivers them by day. Without
    this day the measured night would deliver the first night's whole backlog (1,011
    renewal notices on the medium shop, 101 s at 10 mails/s) that production sends by
    day. Returns the number of e-mails the day sent."""
    day = night_start - timedelta(hours=8)
    log(f"setup: the day between ({day.astimezone(PARIS):%Y-%m-%d %H:%M} Paris): send-outbox")
    sent = 0
    while True:  # one pass sends at most PASS_LIMIT; the deployment runs several by day
        result = night(
            "direct",
            state,
            day,
            url,
            folder / "home-day",
            timeout,
            limits=False,
            flow="send-outbox",
        )
        one = mails_sent(result)
        sent += one
        log(f"setup: a pass sent {one:,} e-mails in {result['process_seconds']:.0f} s")
        if one < PASS_LIMIT:
            return sent
        day += timedelta(minutes=10)


def restore(folder: Path, done: Setup) -> None:
    """The warehouse and the store as the setup left them (a previous night undone)."""
    name = db_name(done.url)
    admin(
        done.url,
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}" TEMPLATE "{name}_setup"',
    )
    state = Path(done.state)
    for suffix in ("-wal", "-shm"):
        Path(f"{state}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(folder / "state-setup.db", state)
    copy_reports(folder / "reports-setup", folder / "reports")


def copy_reports(source: Path, target: Path) -> None:
    """The reports folder (workbooks and their build records) as ``source`` holds it: the
    records must agree with the restored warehouse, or a night skips or redoes builds."""
    shutil.rmtree(target, ignore_errors=True)
    if source.exists():
        shutil.copytree(source, target)


# -- report ------------------------------------------------------------------------------


def step_times(url: str, since: datetime) -> dict[str, tuple[datetime, datetime]]:
    """Each flow's (start, end) in the measured night, from ``pipeline_runs``."""
    from sqlalchemy import select

    from warehouse.engine import make_engine
    from warehouse.tables import pipeline_runs as runs

    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(runs.c.flow, runs.c.started_at, runs.c.finished_at).where(
                runs.c.started_at >= since.replace(tzinfo=None)
                if engine.dialect.name == "sqlite"
                else runs.c.started_at >= since
            )
        ).all()
    engine.dispose()

    def aware(moment: datetime) -> datetime:
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    return {flow: (aware(a), aware(b)) for flow, a, b in rows if b is not None}


def requests_in(
    log_: list[dict[str, Any]], a: datetime, b: datetime, offset: float
) -> dict[str, int]:
    """Requests per provider answered between ``a`` and ``b`` (sandbox clock)."""
    counts: dict[str, int] = {}
    for r in log_:
        moment = datetime.fromisoformat(r["time"]) + timedelta(seconds=offset)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        if a <= moment <= b:
            counts[r["provider"]] = counts.get(r["provider"], 0) + 1
    return counts


def markdown(args: argparse.Namespace, done: Setup, result: dict[str, Any], steps: dict) -> str:
    host = machine()
    wall = float(result["seconds"])
    peak = float(result["peak_tree_mb"])
    roles = result["peak_by_role_mb"]
    pipeline = sum(mb for role, mb in roles.items() if role not in ("prefect server", "profiler"))
    changed = ", ".join(f"{n:,} {k}" for k, n in done.changed.items())
    lines = [
        f"### The whole night on the {args.size} shop (PostgreSQL)",
        "",
        f"One night after a day's changes ({changed}),"
        f" under Prefect; load average at its end {result['load']} ({host['cores']} cores)."
        f" Setup, not timed: bulk load {done.bulk_seconds:.0f} s, first night"
        f" {done.first_night_seconds:.0f} s.",
        "",
        "| figure | measured | target | |",
        "|---|---|---|---|",
        f"| wall time of the night | **{wall:.1f} s** | {TARGET_S:.0f} s |"
        f" {'met' if wall < TARGET_S else 'NOT met'} |",
        f"| peak RSS, all its processes (summed) | **{peak:,.0f} MB** | {TARGET_MB:,.0f} MB |"
        f" {'met' if peak < TARGET_MB else 'NOT met'} |",
        f"| peak RSS without the Prefect server | {pipeline:,.0f} MB | | |",
    ]
    for role, mb in sorted(result["peak_by_role_mb"].items()):
        lines.append(f"| peak RSS, {role} | {mb:,.0f} MB | | |")
    lines += [
        "",
        "| step | wall | requests (stripe / gocardless / aftership / sendgrid) |"
        " rate-limit floor | the rest (our compute, latency) |",
        "|---|---|---|---|---|",
    ]
    log_ = result["requests"]
    ordered = sorted(steps.items(), key=lambda item: item[1][0])
    sync_end = steps["sync"][1] if "sync" in steps else None
    rec_start = steps["reconcile"][0] if "reconcile" in steps else None
    rows: list[tuple[str, datetime, datetime]] = [(n, a, b) for n, (a, b) in ordered]
    if sync_end and rec_start:
        rows.append(("gate (sync end → reconcile start)", sync_end, rec_start))
        rows.sort(key=lambda r: r[1])
    for name, a, b in rows:
        seconds = (b - a).total_seconds()
        counts = requests_in(log_, a, b, float(result["clock_offset_s"]))
        floor = sum(n / RATES[p] for p, n in counts.items() if p in RATES)
        shown = " / ".join(
            str(counts.get(p, 0)) for p in ("stripe", "gocardless", "aftership", "sendgrid")
        )
        rest = max(seconds - floor, 0.0)
        lines.append(f"| {name} | {seconds:.1f} s | {shown} | {floor:.1f} s | {rest:.1f} s |")
    stepped = sum((b - a).total_seconds() for _, a, b in rows)
    lines.append(
        f"| between the steps (flow runs launched, summary published) | {wall - stepped:.1f} s"
        " | | | |"
    )
    lines += [
        "",
        f"Process start-up and exit (the ephemeral Prefect server's start included, not timed):"
        f" {result['process_seconds'] - wall:.1f} s; task runs {result.get('task_runs', '?')} in"
        f" {result.get('flow_runs', '?')} flow runs.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="large", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default="2026-06-30")
    parser.add_argument(
        "--database-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="the warehouse (dropped and created again); `test` -> bench_whole_night_<size>",
    )
    parser.add_argument("--workers", type=int, default=2, help="bulk load processes")
    parser.add_argument("--reuse", action="store_true", help="start from the last setup")
    parser.add_argument(
        "--no-snapshot",
        dest="snapshot",
        action="store_false",
        help="no copy of the set-up warehouse and store (disk: the large shop's are ~12 GB each)",
    )
    parser.add_argument("--timeout", type=float, default=4 * 3600)
    parser.add_argument("--profile", type=Path, default=None, help="py-spy the measured night")
    parser.add_argument(
        "--transforms",
        action="store_true",
        help="then bench/transforms.py (target 3: each step vs its read) on the night's warehouse",
    )
    args = parser.parse_args()
    url = warehouse_url(args.database_url, args.size)
    folder = ROOT / "var" / f"whole-night-{args.size}"
    folder.mkdir(parents=True, exist_ok=True)
    if args.reuse and (folder / "setup.json").exists() and (folder / "state-setup.db").exists():
        done = Setup.read(folder)
        log("reusing the last setup: restoring the warehouse and the store")
        restore(folder, done)
    else:
        done = setup(args, folder, url)
    clock = datetime.fromisoformat(done.night_start)
    day = the_day_between(folder, Path(done.state), done.url, clock, args.timeout)
    log(f"measured night (as of {clock.astimezone(PARIS).date()})")
    since = clock - timedelta(seconds=1)
    result = night(
        "prefect",
        Path(done.state),
        clock,
        done.url,
        folder / "home-night",
        args.timeout,
        args.profile,
    )
    log(f"night: {result['seconds']:.1f} s, peak {result['peak_tree_mb']:,.0f} MB")
    steps = step_times(done.url, since)
    print(markdown(args, done, result, steps))
    mails = mails_sent(result)
    print(
        f"\nThe day before (not timed): the daytime sender delivered {day:,} e-mails the first"
        " night had queued for the day (send window from 09:00), as the send-outbox"
        f" deployment does in production. The measured night sent {mails:,} e-mails."
    )
    if args.transforms:
        from bench.transforms import in_process

        as_of = clock.astimezone(PARIS).date()
        log(f"transforms vs their reads (as of {as_of})")
        print(in_process(done.url, as_of, 1, f"the {args.size} shop after the measured night"))
    (folder / "last-night.json").write_text(
        json.dumps({k: v for k, v in result.items() if k != "requests"}, indent=1, default=str)
    )


if __name__ == "__main__":
    main()
