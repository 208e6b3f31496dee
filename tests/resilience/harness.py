"""The crash harness: a sandbox of one's own, the pipeline in a process of its own, a kill.

A crash test runs ``echeancier run nightly`` (:mod:`tests.resilience.child`, forked by a
:class:`Zygote` that has imported everything once) in a process of its own, against a
sandbox served from the test process, and kills it with SIGKILL at a point the sandbox
or the database makes exact, never a sleep:

- **a provider request**: the sandbox stalls a matching request after carrying it out
  (``stall_after_ms``: the mail is accepted, the payment retried, the page read) and
  lists it under ``stalled``; the test waits until it is there, then kills. The
  pipeline dies exactly between the provider's act and its own record of it.
- **a database statement** (PostgreSQL): the test holds a lock (``LOCK TABLE … IN
  EXCLUSIVE MODE``: reads still pass, writes wait; or one row ``FOR UPDATE``) and waits
  until ``pg_stat_activity`` shows the pipeline's backend waiting for it, inside its
  transaction; then kills.

Afterwards :func:`snapshot` gives every warehouse table's contents in a canonical form,
so that a run interrupted and resumed can be compared with an uninterrupted one on
another sandbox: what the providers created tonight has random ids (a retried charge)
and what anyone stamped tonight has tonight's time, so ids new since the shop was
generated become ``<new stripe__charges>`` and instants after the history's end
``<tonight>``; run ids, SendGrid's message ids and row hashes are left out. Everything else —
every business column of every table — must be equal.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, select, text

from sandbox.clock import Clock
from sandbox.generate import Summary
from sandbox.server import RunningSandbox, start
from sandbox.store import Store
from warehouse import tables
from warehouse.engine import make_engine

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 240.0  # the longest a test waits for the pipeline to reach a point (a loaded CI box)
# Differ between any two runs by design: run ids, SendGrid's message ids, and each row's
# hash of its own values (tonight's instants in it differ; the values are compared).
LEFT_OUT = {"run_id", "provider_message_id", "row_hash"}
NOT_COMPARED = {"pipeline_runs"}  # one row per run: a crashed night has more runs


# -- a world: a sandbox on its own copy of the shop, and a warehouse ----------------------


@dataclass
class World:
    """One sandbox (its own copy of the shop) and the warehouse a pipeline fills from it."""

    sandbox: RunningSandbox
    store: Store
    template: Path
    summary: Summary
    database_url: str
    engine: Engine
    home: Path  # the pipeline's working directory: Data Docs land in home/var/gx
    zygote: Zygote | None
    outputs: list[Outcome] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.sandbox.url

    def env(self) -> dict[str, str]:
        return {**self.sandbox.env(), "DATABASE_URL": self.database_url}

    def fault(self, *specs: dict[str, Any]) -> None:
        httpx.post(f"{self.url}/__sandbox/faults", json=list(specs), timeout=10).raise_for_status()

    def clear_faults(self) -> None:
        """No fault any more; every held answer is released."""
        httpx.delete(f"{self.url}/__sandbox/faults", timeout=10).raise_for_status()

    def stalled(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.url}/__sandbox/faults", timeout=10).json()["stalled"])

    def mails(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.url}/__sandbox/sendgrid/messages", timeout=10).json())

    def requests(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.url}/__sandbox/requests", timeout=10).json())

    def advance(self, seconds: float) -> None:
        self.sandbox.app.state.clock.advance(seconds)

    def new_ids(self) -> dict[str, str]:
        """Every provider object created since the shop was generated: id -> placeholder."""
        return created_since(self.template, self.store.path)

    def snapshot(self, *, also_left_out: frozenset[str] = frozenset()) -> dict[str, list[str]]:
        return snapshot(self.engine, self.summary.clock_start, self.new_ids(), also_left_out)


@contextmanager
def world(
    template: Path,
    summary: Summary,
    database_url: str,
    home: Path,
    *,
    seed: int,
    zygote: Zygote | None = None,
) -> Iterator[World]:
    """Serve a fresh copy of the shop ``template`` at its clock start, for one world."""
    home.mkdir(parents=True, exist_ok=True)
    copy = home / "shop.db"
    src, dst = sqlite3.connect(template), sqlite3.connect(copy)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    store = Store.open(copy)
    engine = make_engine(database_url)
    try:
        with start(store, clock=Clock(summary.clock_start), seed=seed) as running:
            yield World(running, store, template, summary, database_url, engine, home, zygote)
    finally:
        engine.dispose()
        store.close()


# -- the pipeline in its own process -------------------------------------------------------


class Zygote:
    """A ``tests.resilience.child --serve`` process, which forks the pipelines.

    ``env`` is the server's environment: the Prefect settings in it (the API URL, the log
    level) hold for every pipeline it forks; each pipeline gets its own on top.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = {**env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.resilience.child", "--serve"],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(json.loads(line))
        self._lines.put(None)

    def answer(self, timeout: float | None) -> dict[str, Any]:
        line = self._lines.get(timeout=timeout)
        if line is None:
            raise AssertionError(f"the pipeline server died ({self.proc.poll()})")
        return line

    def fork(self, command: Mapping[str, Any]) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return int(self.answer(WAIT_S)["pid"])

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(60)


@dataclass(frozen=True)
class Outcome:
    """How one pipeline process ended, and everything it wrote to the console."""

    returncode: int
    stdout: str
    stderr: str
    killed: bool


class Pipeline:
    """``echeancier <args>`` in a process of its own (see :mod:`tests.resilience.child`)."""

    def __init__(self, w: World, *args: str, env: Mapping[str, str] | None = None) -> None:
        assert w.zygote is not None, "a world for pipelines in their own process needs a zygote"
        self.world, self.zygote = w, w.zygote
        n = len(w.outputs)
        self._paths = (w.home / f"run-{n}.out", w.home / f"run-{n}.err")
        self.pid = self.zygote.fork(
            {
                "args": list(args),
                "env": {**self.zygote.env, **w.env(), **(env or {})},
                "cwd": str(w.home),
                "stdout": str(self._paths[0]),
                "stderr": str(self._paths[1]),
            }
        )
        self.returncode: int | None = None

    def alive(self) -> bool:
        if self.returncode is None:
            try:
                self.returncode = int(self.zygote.answer(0.0)["exit"])
            except queue.Empty:
                return True
        return False

    def wait(self, timeout: float = WAIT_S) -> Outcome:
        if self.returncode is None:
            self.returncode = int(self.zygote.answer(timeout)["exit"])
        return self._finish(killed=False)

    def kill(self) -> Outcome:
        """SIGKILL the pipeline and the processes it started (the sync's writer), as a
        machine crash would: no handler runs, no transaction commits, no Prefect state is
        reported."""
        spawned = children(self.pid)
        os.kill(self.pid, signal.SIGKILL)
        for pid in spawned:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.returncode is None:
            self.returncode = int(self.zygote.answer(30)["exit"])
        return self._finish(killed=True)

    def _finish(self, *, killed: bool) -> Outcome:
        out, err = (p.read_text() if p.exists() else "" for p in self._paths)
        outcome = Outcome(int(self.returncode or 0), out, err, killed)
        self.world.outputs.append(outcome)
        return outcome

    def until(self, reached: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
        """Wait until ``reached()``; fail at once, with its stderr, if the pipeline ended."""
        deadline = time.monotonic() + timeout
        while not reached():
            if not self.alive():
                outcome = self._finish(killed=False)
                raise AssertionError(
                    f"the pipeline ended ({outcome.returncode}) before {what}:\n"
                    + outcome.stderr[-3000:]
                )
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"the pipeline never reached {what}")
            time.sleep(0.05)


def children(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs (Linux ``/proc``)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return [grandchild for child in found for grandchild in (child, *children(child))]


def run(w: World, *args: str, env: Mapping[str, str] | None = None) -> Outcome:
    """Run ``echeancier <args>`` to its end; it must succeed."""
    outcome = Pipeline(w, *args, env=env).wait()
    assert outcome.returncode == 0, outcome.stderr[-3000:]
    return outcome


def kill_when_stalled(w: World, pipeline: Pipeline, path: str) -> Outcome:
    """Kill ``pipeline`` once the sandbox holds the answer of a request to ``path``."""

    def held() -> bool:
        return any(s["path"].startswith(path) for s in w.stalled())

    pipeline.until(held, f"a stalled request to {path}")
    outcome = pipeline.kill()
    w.clear_faults()
    return outcome


# -- PostgreSQL: hold a table, kill a transaction waiting for it ----------------------------


@contextmanager
def held(url: str, statement: str) -> Iterator[Engine]:
    """Run a locking ``statement`` (``LOCK TABLE …``, ``SELECT … FOR UPDATE``) and keep its
    transaction open for the block; yields an engine to watch the waiting backends with."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
            yield engine
            conn.rollback()
    finally:
        engine.dispose()


def waiting_on(engine: Engine, table: str) -> list[str]:
    """The statements of other backends waiting for a lock, that name ``table``."""
    query = text(
        "SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        " AND pid <> pg_backend_pid() AND datname = current_database()"
    )
    with engine.connect() as conn:
        return [q for (q,) in conn.execute(query) if table in q]


# -- canonical table contents --------------------------------------------------------------


def created_since(template: Path, shop: Path) -> dict[str, str]:
    """Ids in ``shop`` that ``template`` (the shop as generated) does not hold."""
    conn = sqlite3.connect(shop)
    try:
        conn.execute("ATTACH DATABASE ? AS template", (str(template),))
        names = [
            n
            for (n,) in conn.execute(
                "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name LIKE '%\\_\\_%'"
                " ESCAPE '\\'"
            )
        ]
        known = {n for (n,) in conn.execute("SELECT name FROM template.sqlite_master")}
        new: dict[str, str] = {}
        for name in names:
            query = f"SELECT id FROM main.{name}"
            if name in known:
                query += f" EXCEPT SELECT id FROM template.{name}"
            new.update({i: f"<new {name}>" for (i,) in conn.execute(query)})
        return new
    finally:
        conn.close()


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_JSON = re.compile(r"^\s*[\[{]")


@dataclass(frozen=True)
class Canon:
    """Turns one stored value into its comparable form (see the module docstring)."""

    since: datetime
    new_ids: Mapping[str, str]

    def instant(self, moment: datetime) -> str:
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return "<tonight>" if moment >= self.since else moment.astimezone(UTC).isoformat()

    def __call__(self, value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, datetime):
            return self.instant(value)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, Decimal):
            return format(value.normalize(), "f")
        if isinstance(value, int):
            return self.number(value)
        if isinstance(value, float):
            return round(value, 6)
        if isinstance(value, Mapping):
            return {str(k): self(v) for k, v in sorted(value.items())}
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        if isinstance(value, str):
            return self.string(value)
        return repr(value)

    def number(self, value: int) -> Any:
        """Epoch seconds, or event versions (seconds * 10**6 + position), of tonight."""
        start = int(self.since.timestamp())
        if start <= value < start + 400 * 86400:
            return "<tonight>"
        if start * 10**6 <= value < (start + 400 * 86400) * 10**6:
            return "<tonight>"
        return value

    def string(self, value: str) -> Any:
        if value in self.new_ids:
            return self.new_ids[value]
        if _JSON.match(value):
            try:
                return json.dumps(self(json.loads(value)), sort_keys=True)
            except ValueError:
                pass
        if _ISO.match(value):
            try:
                return self.instant(datetime.fromisoformat(value.replace("Z", "+00:00")))
            except ValueError:
                pass
        for new, placeholder in self.new_ids.items():
            if new in value:
                value = value.replace(new, placeholder)
        return value


def snapshot(
    engine: Engine,
    since: datetime,
    new_ids: Mapping[str, str],
    also_left_out: frozenset[str] = frozenset(),
) -> dict[str, list[str]]:
    """Every table's rows, canonical and sorted: ``{table: [row as JSON, ...]}``;
    ``also_left_out`` names ``table.column``s a test does not compare."""
    canon = Canon(since if since.tzinfo else since.replace(tzinfo=UTC), new_ids)
    out: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for table in tables.metadata.sorted_tables:
            if table.name in NOT_COMPARED:
                continue
            columns = [
                c
                for c in table.columns
                if c.name not in LEFT_OUT and f"{table.name}.{c.name}" not in also_left_out
            ]
            rows = conn.execute(select(*columns)).all()
            out[table.name] = sorted(
                json.dumps({c.name: canon(v) for c, v in zip(columns, r, strict=True)})
                for r in rows
            )
    return out


def differences(got: Mapping[str, list[str]], want: Mapping[str, list[str]]) -> dict[str, Any]:
    """Per table, the rows only one side has (empty when the two are equal)."""
    out: dict[str, Any] = {}
    for name in sorted(set(got) | set(want)):
        a, b = got.get(name, []), want.get(name, [])
        if a != b:
            extra = [r for r in a if r not in b]
            missing = [r for r in b if r not in a]
            found: dict[str, Any] = {"rows": (len(a), len(b))}
            if len(extra) == len(missing) == 1:  # one row differs: name the columns
                got_row, want_row = json.loads(extra[0]), json.loads(missing[0])
                found["columns"] = {
                    c: (got_row.get(c), want_row.get(c))
                    for c in sorted(set(got_row) | set(want_row))
                    if got_row.get(c) != want_row.get(c)
                }
            else:
                found.update(extra=extra[:3], missing=missing[:3])
            out[name] = found
    return out


# -- what a run left for people to read ----------------------------------------------------


def published_since(moment: datetime) -> dict[str, str]:
    """Every log line and artifact the Prefect server holds from flow runs since ``moment``
    (``{"log <n>": text, "artifact <key> <n>": text}``), logs flushed first."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterStartTime,
        LogFilter,
        LogFilterTimestamp,
    )
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all()
    out: dict[str, str] = {}
    with get_client(sync_client=True) as client:
        offset = 0
        while page := client.read_logs(
            LogFilter(timestamp=LogFilterTimestamp(after_=moment)), limit=200, offset=offset
        ):
            for log in page:
                out[f"log {offset} {log.name}"] = log.message
                offset += 1
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(after_=moment))
        )
        ids = [r.id for r in runs]
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=ids))
        )
        for n, artifact in enumerate(artifacts):
            out[f"artifact {artifact.key} {n}"] = json.dumps(artifact.data, default=str)
            out[f"artifact {artifact.key} {n} description"] = artifact.description or ""
    return out


def files_under(folder: Path) -> dict[str, str]:
    """The text of every file under ``folder`` (the sheets of a workbook included)."""
    import zipfile

    out: dict[str, str] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                for name in book.namelist():
                    out[f"{path}:{name}"] = book.read(name).decode("utf-8", "replace")
        elif path.suffix not in (".db", ".db-wal", ".db-shm", ".png"):
            out[str(path)] = path.read_bytes().decode("utf-8", "replace")
    return out


def customer_emails(store: Store) -> set[str]:
    """Every customer e-mail address the shop holds, at Stripe and at GoCardless."""
    found = set()
    for provider in ("stripe", "gocardless"):
        for customer in store.iter_all(provider, "customers"):
            if customer.get("email"):
                found.add(str(customer["email"]))
    return found


def leaks(texts: Mapping[str, str], needles: set[str]) -> list[tuple[str, str]]:
    """``(where, what)`` for each needle found in a text (case-insensitive)."""
    lowered = {n.lower(): n for n in needles if n}
    return sorted(
        (where, needle)
        for where, body in texts.items()
        for low, needle in lowered.items()
        if low in body.lower()
    )
