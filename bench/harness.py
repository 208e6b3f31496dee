"""What a sync benchmark needs around the pipeline: a sandbox in its own process, a scratch
warehouse, the pipeline in its own process, and the sandbox's request log made into rates.

Three processes, because the machine has two cores and one GIL per process: a sandbox
served from a thread of the pipeline's process would share its GIL, and the figures
would measure the contention, not the sync. The benchmark process only orchestrates.

Example::

    with SandboxProcess.start(state, clock=summary.clock_start) as sandbox:
        sandbox.post_faults([{"provider": "stripe", "rate_limit": 25}])
        run = run_pipeline(sandbox.env, warehouse.url, as_of=date(2026, 6, 30), home=home)
        stripe = traffic(sandbox.requests("stripe"))  # requests, window, rate

A later benchmark (a peer pipeline such as dlt against the same sandbox) reuses all of
this and swaps only :func:`run_pipeline`.
"""

from __future__ import annotations

import json
import os
import queue
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
START_TIMEOUT_S = 120.0  # serving a multi-GB store opens it, nothing more: seconds at most
STOP_TIMEOUT_S = 30.0


@dataclass
class SandboxProcess:
    """``echeancier sandbox serve --state FILE`` in a child process, on 127.0.0.1."""

    proc: subprocess.Popen[str]
    env: dict[str, str]

    @classmethod
    def start(cls, state: Path, *, clock: datetime) -> SandboxProcess:
        """Serve ``state`` in place with the sandbox clock at ``clock``; wait for its exports."""
        command = [str(BIN / "echeancier"), "sandbox", "serve", "--state", str(state)]
        command += ["--clock", clock.isoformat(), "--host", "127.0.0.1", "--port", "0"]
        proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            # A job started in the background (``make bench &``) ignores SIGINT, and a child
            # inherits that: give the sandbox back Ctrl-C, so that ``stop`` is a clean stop.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        env: dict[str, str] = {}
        try:
            while len(env) < 8:
                line = lines.get(timeout=START_TIMEOUT_S)
                if line is None:
                    raise RuntimeError(
                        f"sandbox exited: {proc.stderr.read() if proc.stderr else ''}"
                    )
                if line.startswith("export "):
                    name, value = line.removeprefix("export ").strip().split("=", 1)
                    env[name] = value
        except BaseException:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT_S)
            raise
        return cls(proc, env)

    @property
    def url(self) -> str:
        return self.env["STRIPE_API_BASE"]

    def cpu_seconds(self) -> float:
        """The sandbox process's CPU so far (0 where there is none): serving the shop costs
        the machine CPU that the real providers would not."""
        return process_cpu_seconds(self.proc.pid) or 0.0

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.url}/__sandbox/{path}", timeout=120, **kwargs)
        response.raise_for_status()
        return response.json()

    def post_faults(self, faults: list[dict[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "faults", json=faults)
        return result

    def clock(self) -> datetime:
        return datetime.fromisoformat(self._call("GET", "clock")["now"])

    def set_clock(self, moment: datetime) -> None:
        self._call("POST", "clock", json={"now": moment.isoformat()})

    def requests(self, provider: str | None = None) -> list[dict[str, Any]]:
        params = {"provider": provider} if provider else {}
        rows: list[dict[str, Any]] = self._call("GET", "requests", params=params)
        return rows

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def stop(self) -> None:
        """Ctrl-C, as a user stops it (the store is closed cleanly); kill if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@dataclass
class Traffic:
    """One provider's requests in a run, from the sandbox's log."""

    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    window_s: float = 0.0  # first request's start to last request's end

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def throttled(self) -> int:
        return self.statuses.get(429, 0)

    @property
    def rate(self) -> float:
        """Answered requests per second while the provider was being read."""
        return self.ok / self.window_s if self.window_s > 0 else 0.0


def traffic(log: list[dict[str, Any]]) -> Traffic:
    """Requests, statuses and the busy window of one provider's request log."""
    if not log:
        return Traffic()
    ends = [datetime.fromisoformat(r["time"]).timestamp() for r in log]
    starts = [end - r["duration_ms"] / 1000 for end, r in zip(ends, log, strict=True)]
    statuses = Counter(int(r["status"]) for r in log)
    return Traffic(len(log), dict(statuses), max(ends) - min(starts))


@dataclass
class PipelineRun:
    """What the pipeline process reported: the flow's wall time and its sync report."""

    flow_seconds: float
    process_seconds: float
    report: dict[str, Any]
    # CPU seconds of the pipeline process and everything it started (preparers, writer,
    # Prefect's ephemeral server), user + system: what the sync cost the machine.
    cpu_seconds: float = 0.0

    def pulled(self, provider: str) -> int:
        """Provider objects the run read: the rows of its raw copy (one per object, whatever
        the number of tables it feeds: an invoice also gives tax lines)."""
        tally = self.report["streams"].get(f"{provider}/raw_objects")
        return int(tally["pulled"]) if tally else 0

    def written(self) -> dict[str, int]:
        """Rows inserted or updated per stream (raw copies included)."""
        out = {
            name: int(t["inserted"]) + int(t["updated"])
            for name, t in self.report["streams"].items()
        }
        return {name: n for name, n in out.items() if n}


def prefect_child_env(sandbox_env: dict[str, str], database_url: str, home: Path) -> dict[str, str]:
    """A pipeline child's environment: the sandbox, the warehouse, its reports folder, and
    an ephemeral Prefect server of its own (as in ``make demo``) given two minutes to
    start: on a busy 2-core machine Prefect's default 20 s is not always enough, and the
    setting must be in the environment before the child imports prefect."""
    env = {**os.environ, **sandbox_env, "DATABASE_URL": database_url, "PREFECT_HOME": str(home)}
    # Files for people (tax workbooks and their build records, the finance report) beside
    # the run's home, not in the checkout's var/reports: two benchmarks (or a demo) would
    # otherwise overwrite each other's workbooks and records and skip or redo builds.
    env.setdefault("ECHEANCIER_REPORTS", str(home.parent / "reports"))
    env.pop("PREFECT_API_URL", None)
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    return env


def run_pipeline(
    sandbox_env: dict[str, str], database_url: str, *, as_of: date, home: Path, timeout_s: float
) -> PipelineRun:
    """Run the real ``sync`` flow in its own process (bench/pipeline_child.py)."""
    env = prefect_child_env(sandbox_env, database_url, home)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "pipeline_child.py"), as_of.isoformat()],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout_s,
        check=False,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if out.returncode != 0:
        raise RuntimeError(f"the sync run failed ({out.returncode}):\n{out.stderr[-4000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return PipelineRun(float(result["flow_seconds"]), seconds, result["report"], cpu)


@dataclass
class Warehouse:
    """An empty, migrated scratch warehouse: a SQLite file, or a PostgreSQL database created
    beside the one named (and dropped after). ``snapshot``/``restore`` let several nights
    start from the same state without a second full sync."""

    url: str
    server_url: str | None = None
    folder: Path | None = None
    _snapshots: list[str] = field(default_factory=list)

    def snapshot(self) -> None:
        if self.server_url is None:
            assert self.folder is not None
            _sqlite_copy(_sqlite_path(self.url), self.folder / "snapshot.db")
            return
        name = self._name()
        copy = f"{name}_snap"
        self._admin(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"')
        self._snapshots.append(copy)

    def restore(self) -> None:
        if self.server_url is None:
            assert self.folder is not None
            _sqlite_copy(self.folder / "snapshot.db", _sqlite_path(self.url))
            return
        name = self._name()
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{name}_snap"')

    def drop(self) -> None:
        if self.server_url is None:
            return
        for name in [self._name(), *self._snapshots]:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _name(self) -> str:
        from warehouse.engine import normalise_url

        return str(normalise_url(self.url).database)

    def _admin(self, statement: str) -> None:
        from sqlalchemy import text
        from sqlalchemy.pool import NullPool

        from warehouse.engine import make_engine

        assert self.server_url is not None
        engine = make_engine(self.server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with engine.connect() as conn:
            conn.execute(text(statement))
        engine.dispose()


def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy a SQLite database through SQLite's backup API: a plain file copy would miss
    what is still in the source's WAL, and would leave the target's old WAL to be replayed
    over the new file (a corrupt database)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def process_cpu_seconds(pid: int) -> float | None:
    """A process's CPU so far, user + system, from /proc (None once it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def scratch_warehouse(database_url: str | None, folder: Path) -> Iterator[Warehouse]:
    """An empty migrated warehouse for one benchmark run, removed afterwards."""
    from warehouse.engine import normalise_url
    from warehouse.migrate import upgrade

    if database_url is None or database_url.startswith("sqlite"):
        path = folder / "warehouse.db"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        upgrade(url)
        yield Warehouse(url, folder=folder)
        return
    name = f"echeancier_bench_{uuid.uuid4().hex[:8]}"
    warehouse = Warehouse(
        normalise_url(database_url).set(database=name).render_as_string(hide_password=False),
        server_url=database_url,
    )
    warehouse._admin(f'CREATE DATABASE "{name}"')
    try:
        upgrade(warehouse.url)
        yield warehouse
    finally:
        warehouse.drop()


def machine() -> dict[str, str]:
    """CPU model, cores, RAM and load: the context every figure needs."""
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        total_kb = int(next(line for line in info if line.startswith("MemTotal")).split()[1])
    load = os.getloadavg()
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": f"{total_kb / 1024 / 1024:.1f} GiB",
        "load": " ".join(f"{x:.2f}" for x in load),
        "python": sys.version.split()[0],
    }
