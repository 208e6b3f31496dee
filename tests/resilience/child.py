"""The pipeline's own process in a crash test: the ``echeancier`` command, two seams set.

    PYTHONPATH=. python -m tests.resilience.child run nightly --as-of 2026-06-30

It is ``echeancier`` itself (the same Typer app, ``run_flow``, exit code and stderr), in
a process of its own so that a test can SIGKILL it anywhere. As in the in-process flow
tests, two seams are set before the command runs, and nothing else:

- every flow's ``utc_now`` reads the sandbox's clock (``GET /__sandbox/clock``): a
  generated shop's history ends at the sandbox's clock start, not at the machine's
  today, and a test moves that clock past ``tasks.outbox.UNKNOWN_GRACE``;
- each provider account's shared token bucket is registered first with a high rate, so
  the test does not wait on Stripe's 25 req/s test-mode limit (the sandbox still answers
  the 429s a test injects, and the connectors still back off from them).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from datetime import datetime

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


def set_seams() -> None:
    import flows
    from connectors.ratelimit import shared_limiter

    base = os.environ["STRIPE_API_BASE"]
    for module in pkgutil.iter_modules(flows.__path__):
        loaded = importlib.import_module(f"flows.{module.name}")
        if callable(getattr(loaded, "utc_now", None)):
            loaded.utc_now = lambda: sandbox_clock(base)  # type: ignore[attr-defined]
    for provider, (url, key) in KEYS.items():
        shared_limiter(provider, os.environ[url], os.environ[key], FAST)


def main(argv: list[str]) -> None:
    set_seams()
    from echeancier.cli import app

    app(argv, prog_name="echeancier")


if __name__ == "__main__":
    main(sys.argv[1:])
