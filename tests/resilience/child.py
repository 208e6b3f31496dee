"""The pipeline's own process in a crash test: the ``echeancier`` command, two seams set.

    PYTHONPATH=. python -m tests.resilience.child run nightly --as-of 2026-06-30
    PYTHONPATH=. python -m tests.resilience.child --serve   # see serve()

It is ``echeancier`` itself (the same Typer app, ``run_flow``, exit code and stderr), in
a process of its own so that a test can SIGKILL it anywhere. As in the in-process flow
tests, two seams are set before the command runs, and nothing else:

- every flow's ``utc_now`` reads the sandbox's clock (``GET /__sandbox/clock``): a
  generated shop's history ends at the sandbox's clock start, not at the machine's
  today, and a test moves that clock past ``tasks.outbox.UNKNOWN_GRACE``;
- each provider account's shared token bucket is registered first with a high rate, so
  the test does not wait on Stripe's 25 req/s test-mode limit (the sandbox still answers
  the 429s a test injects, and the connectors still back off from them).

Importing Prefect, Great Expectations and pandas costs a pipeline process ~7 s of CPU
before it does anything; a crash test starts a dozen. ``--serve`` pays it once: the
process imports everything (no thread is started by an import, so forking is safe),
then forks one pipeline per command read on stdin, reports its pid, reaps it and
reports its exit code. Each fork gets its own environment, working directory and
output files; the Prefect settings (server URL, log level) are the server process's,
read by Prefect at import.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import sys
import traceback
from datetime import datetime
from typing import Any

FAST = 10_000.0  # requests per second: the limiter never waits
KEYS = {
    "stripe": ("STRIPE_API_BASE", "STRIPE_API_KEY"),
    "gocardless": ("GOCARDLESS_BASE_URL", "GOCARDLESS_ACCESS_TOKEN"),
    "aftership": ("AFTERSHIP_TRACKING_SDK_DOMAIN", "AFTERSHIP_API_KEY"),
}


def sandbox_clock(base: str) -> datetime:
    import httpx

    answer = httpx.get(f"{base}/__sandbox/clock", timeout=30).json()
    return datetime.fromisoformat(answer["now"])


def flow_modules() -> list[Any]:
    import flows

    return [
        importlib.import_module(f"flows.{m.name}") for m in pkgutil.iter_modules(flows.__path__)
    ]


def set_seams() -> None:
    from connectors.ratelimit import shared_limiter

    base = os.environ["STRIPE_API_BASE"]
    for module in flow_modules():
        if callable(getattr(module, "utc_now", None)):
            module.utc_now = lambda: sandbox_clock(base)
    for provider, (url, key) in KEYS.items():
        shared_limiter(provider, os.environ[url], os.environ[key], FAST)


def main(argv: list[str]) -> None:
    set_seams()
    from echeancier.cli import app

    app(argv, prog_name="echeancier")


def serve() -> None:
    """Import once, then for each JSON command on stdin (``args``, ``env``, ``cwd``,
    ``stdout``, ``stderr``) fork a pipeline: ``{"pid": …}`` then ``{"pid": …, "exit": …}``."""
    import echeancier.cli  # noqa: F401
    import expectations.run  # noqa: F401  (Great Expectations)

    flow_modules()
    for line in sys.stdin:
        command = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _forked(command)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"pid": pid, "exit": os.waitstatus_to_exitcode(status)}), flush=True)


def _forked(command: dict[str, Any]) -> None:
    """The forked pipeline: never returns."""
    code = 1
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(command["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        err = os.open(command["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        for source, target in ((null, 0), (out, 1), (err, 2)):
            os.dup2(source, target)
        os.chdir(command["cwd"])
        os.environ.clear()
        os.environ.update(command["env"])
        try:
            main(list(command["args"]))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        main(sys.argv[1:])
