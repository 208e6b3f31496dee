"""Resilience fixtures: the flow tests' Prefect server and 40-customer shop, and the
reference night every crash, storm and disorder test is compared with.

The reference is what an uninterrupted pipeline leaves for the shop's last day: the
nightly run twice for that date (the second run brings in what the first one's payment
retry changed at Stripe, as any re-run after a crash also does, and acts on nothing
new). It runs once per session, in this process, on SQLite, against a sandbox of its
own; :func:`tests.resilience.harness.snapshot` makes its tables comparable with any
other world's, on either backend.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.flows.conftest import (  # noqa: F401  (fixtures shared with the flow tests)
    AS_OF,
    FAST,
    KEYS,
    SEED,
    live,
    postgres_server,
    postgres_url,
    prefect_server,
    shop,
    shop_template,
    sqlite_warehouse_template,
    warehouse_url,
)
from tests.resilience.harness import World, Zygote, world

# The pipelines log as in production (INFO), the connectors' retry warnings included.
LOGGING = {"PREFECT_LOGGING_LEVEL": "INFO", "PREFECT_LOGGING_EXTRA_LOGGERS": "connectors"}


@pytest.fixture(scope="session")
def zygote(request: pytest.FixtureRequest) -> Iterator[Zygote]:
    """The process that forks every pipeline process of the session, on its Prefect server."""
    import os

    from prefect.settings import PREFECT_API_URL

    request.getfixturevalue("prefect_server")
    server = Zygote({**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), **LOGGING})
    yield server
    server.close()


@dataclass(frozen=True)
class Reference:
    """What two uninterrupted nights leave: tables, mails and provider-side effects."""

    tables: dict[str, list[str]]
    mails: list[tuple[str, str]]  # (notification id, recipient), in order
    charges: int  # Stripe charges created by the pipeline's payment retries
    writes: list[tuple[str, str]]  # every write call, deduplicated: (method, path)
    summary_start: Any


def in_process(w: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point this process's flows at ``w``, as :mod:`tests.resilience.child` does for its own."""
    import flows
    import tasks.quality
    from connectors.ratelimit import shared_limiter

    for name, value in w.env().items():
        monkeypatch.setenv(name, value)
    for module in pkgutil.iter_modules(flows.__path__):
        loaded = importlib.import_module(f"flows.{module.name}")
        if callable(getattr(loaded, "utc_now", None)):
            monkeypatch.setattr(loaded, "utc_now", w.sandbox.app.state.clock.now)
    for provider, variable in KEYS.items():
        shared_limiter(provider, w.url, w.sandbox.env()[variable], FAST)
    monkeypatch.setattr(tasks.quality, "DATA_DOCS", w.home / "var" / "gx")


def nightly_in_process() -> Any:
    from flows.nightly import nightly

    state = nightly(as_of=AS_OF, return_state=True)
    assert state.is_completed(), state.message
    return state.result()


def notification_id(mail: dict[str, Any]) -> str:
    return str(mail["body"]["custom_args"]["notification_id"])


def recipient(mail: dict[str, Any]) -> str:
    return str(mail["body"]["personalizations"][0]["to"][0]["email"])


def provider_effects(w: World) -> tuple[list[tuple[str, str]], int, list[tuple[str, str]]]:
    mails = [(notification_id(m), recipient(m)) for m in w.mails()]
    charges = sum(1 for v in w.new_ids().values() if v == "<new stripe__charges>")
    writes = sorted(
        {(r["method"], r["path"]) for r in w.requests() if r["method"] in ("POST", "DELETE")}
    )
    return mails, charges, writes


@pytest.fixture(scope="session")
def reference(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Reference]:
    import shutil

    request.getfixturevalue("prefect_server")
    template, summary = request.getfixturevalue("shop_template")
    home = tmp_path_factory.mktemp("reference")
    shutil.copyfile(request.getfixturevalue("sqlite_warehouse_template"), home / "warehouse.db")
    url = f"sqlite:///{home / 'warehouse.db'}"
    with world(template, summary, url, home, seed=SEED) as w, pytest.MonkeyPatch.context() as mp:
        in_process(w, mp)
        nightly_in_process()
        nightly_in_process()
        mails, charges, writes = provider_effects(w)
        yield Reference(w.snapshot(), mails, charges, writes, summary.clock_start)
