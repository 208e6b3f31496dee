"""A Prefect server and a process worker on this machine, as child processes.

``make server`` / ``make worker`` run the same commands in the foreground; this module
starts them in the background for the end-to-end tests (tests/deployments) and for a
script that wants a throwaway stack::

    with Stack.start(home=Path("var/prefect")) as stack:
        stack.deploy()                                  # = make deploy
        with stack.worker(env={"DATABASE_URL": ...}):   # = make worker
            ...                                         # run, retry, look

Every process is its own process group, stopped by its own id at the end (a worker's
flow-run subprocesses go with it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from deployments.catalog import POOL
from deployments.render import ROOT

STARTUP_SECONDS = 120.0  # a busy 2-core machine starts the server in 10-40 s


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prefect_env(home: Path, api_url: str | None = None) -> dict[str, str]:
    """The environment of a process of this stack: its own PREFECT_HOME, no telemetry."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL=os.environ.get("PREFECT_LOGGING_LEVEL", "INFO"),
    )
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def _spawn(command: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped whole, by its id
        )


def stop(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the process group, SIGKILL it if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(grace)


@dataclass
class Stack:
    home: Path
    port: int
    server: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.ui_url}/api"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {**prefect_env(self.home, self.api_url), **(extra or {})}

    @classmethod
    @contextlib.contextmanager
    def start(cls, home: Path, port: int | None = None) -> Iterator[Stack]:
        """``prefect server start`` (SQLite under ``home``), stopped on exit."""
        home.mkdir(parents=True, exist_ok=True)
        port = port or free_port()
        command = [sys.executable, "-m", "prefect", "server", "start"]
        command += ["--host", "127.0.0.1", "--port", str(port)]
        api_url = f"http://127.0.0.1:{port}/api"  # the UI's browser calls it there
        env = {**prefect_env(home, api_url), "PREFECT_UI_API_URL": api_url}
        process = _spawn(command, env, home / "server.log")
        stack = cls(home, port, process)
        try:
            stack._wait_healthy()
            yield stack
        finally:
            for worker in stack.workers:
                stop(worker)
            stop(process)

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"prefect server exited; see {self.home / 'server.log'}")
            health = f"{self.api_url}/health"
            with contextlib.suppress(OSError), urllib.request.urlopen(health, timeout=2) as answer:
                if answer.status == 200:
                    return
            time.sleep(0.5)
        raise TimeoutError(f"prefect server not healthy after {STARTUP_SECONDS} s")

    def deploy(self, *args: str) -> str:
        """``python -m deployments deploy`` against this server (= ``make deploy``)."""
        command = [sys.executable, "-m", "deployments", "deploy", *args]
        done = subprocess.run(
            command, cwd=ROOT, env=self.env(), capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"deploy failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def prefect(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A ``prefect`` CLI command against this server."""
        command = [sys.executable, "-m", "prefect", "--no-prompt", *args]
        return subprocess.run(
            command, cwd=ROOT, env=self.env(), capture_output=True, text=True, check=True
        )

    def start_worker(self, env: Mapping[str, str] | None = None, limit: int = 4) -> None:
        """A process worker on the pool; flow runs inherit ``env`` (database, keys)."""
        command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL]
        command += ["--limit", str(limit)]
        process = _spawn(command, self.env(env), self.home / "worker.log")
        self.workers.append(process)
