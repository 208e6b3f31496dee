"""Flow-test fixtures: one Prefect test server per session, a live sandbox with a generated
shop per test, and a migrated warehouse on SQLite and on PostgreSQL.

Seams are monkeypatched, never flow parameters: the environment points the settings at
the sandbox and the warehouse; ``flows.sync.utc_now`` reads the sandbox's clock (the
shop's history ends at its clock start, not at the machine's today); and each provider
account's shared token bucket is registered first with a high rate, so the tests do not
wait on Stripe's 25 req/s test-mode limit (the sandbox still answers injected 429s).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="prefect-home-"))
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.pop("PREFECT_API_URL", None)

import pytest
from sqlalchemy import Engine, func, select

from connectors.ratelimit import shared_limiter
from sandbox.clock import Clock
from sandbox.generate import Summary, generate
from sandbox.render import render_gocardless, render_stripe
from sandbox.server import RunningSandbox, start
from sandbox.store import Store
from tests.warehouse.conftest import postgres_server, postgres_url  # noqa: F401
from warehouse import tables
from warehouse.engine import make_engine
from warehouse.migrate import upgrade

AS_OF = date(2026, 6, 30)
SEED = 7
CUSTOMERS = 40  # a "tiny" shop: every provider, resource and payout path, in seconds
FAST = 10_000.0  # requests per second: the test limiter never waits
KEYS = {
    "stripe": "STRIPE_API_KEY",
    "gocardless": "GOCARDLESS_ACCESS_TOKEN",
    "aftership": "AFTERSHIP_API_KEY",
}


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """One Prefect test server for the whole session (startup costs seconds)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=240):  # a loaded, shared box: ~45 s alone
        yield


@pytest.fixture(scope="session")
def shop_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Summary]:
    path = tmp_path_factory.mktemp("shop") / "template.db"
    store = Store.open(path)
    summary = generate(store, "small", SEED, AS_OF, customers=CUSTOMERS)
    store.close()
    return path, summary


@pytest.fixture
def shop(shop_template: tuple[Path, Summary], tmp_path: Path) -> Iterator[tuple[Store, Summary]]:
    """A private copy of the generated shop: a test's writes never reach another test."""
    template, summary = shop_template
    target = tmp_path / "shop.db"
    src, dst = sqlite3.connect(template), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    store = Store.open(target)
    yield store, summary
    store.close()


@pytest.fixture(scope="session")
def sqlite_warehouse_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("warehouse") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated warehouse: a SQLite file, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "warehouse.db"
        shutil.copyfile(request.getfixturevalue("sqlite_warehouse_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    engine = make_engine(url)
    with engine.begin() as conn:
        for table in reversed(tables.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


@dataclass
class Live:
    """A running sandbox, its store and summary, and the warehouse the flow writes to."""

    sandbox: RunningSandbox
    store: Store
    summary: Summary
    engine: Engine

    @property
    def url(self) -> str:
        return self.sandbox.url

    def advance(self, seconds: float) -> None:
        self.sandbox.app.state.clock.advance(seconds)

    def now_epoch(self) -> int:
        return self.sandbox.app.state.clock.epoch()


@pytest.fixture
def live(
    prefect_server: None,
    shop: tuple[Store, Summary],
    warehouse_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Live]:
    import flows.sync

    store, summary = shop
    with start(store, clock=Clock(summary.clock_start), seed=SEED) as running:
        for name, value in running.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("DATABASE_URL", warehouse_url)
        for provider, variable in KEYS.items():
            shared_limiter(provider, running.url, running.env()[variable], FAST)
        monkeypatch.setattr(flows.sync, "utc_now", running.app.state.clock.now)
        engine = make_engine(warehouse_url)
        try:
            yield Live(running, store, summary, engine)
        finally:
            engine.dispose()


# -- what the sandbox holds, and what the warehouse holds -------------------------------


def _cents(value: Any) -> int:
    return int(Decimal(str(value)) * 100)


def sandbox_totals(store: Store) -> dict[str, tuple[int, int]]:
    """Per warehouse table: (rows, amount sum) the sandbox's objects should give."""
    out: dict[str, list[int]] = {}

    def add(name: str, amount: int = 0) -> None:
        entry = out.setdefault(name, [0, 0])
        entry[0] += 1
        entry[1] += amount

    def stripe(resource: str) -> Iterator[dict[str, Any]]:
        return (render_stripe(o) for o in store.iter_all("stripe", resource))

    def gocardless(resource: str) -> Iterator[dict[str, Any]]:
        return (render_gocardless(resource, o) for o in store.iter_all("gocardless", resource))

    for _ in store.iter_all("stripe", "customers"):
        add("customers")
    for _ in store.iter_all("gocardless", "customers"):
        add("customers")
    for _ in store.iter_all("gocardless", "mandates"):
        add("mandates")
    for sub in stripe("subscriptions"):
        item = sub["items"]["data"][0]
        add("subscriptions", item["price"]["unit_amount"] * (item.get("quantity") or 1))
    for sub in gocardless("subscriptions"):
        add("subscriptions", sub["amount"])
    for invoice in stripe("invoices"):
        add("invoices", invoice["total"])
        for tax in invoice.get("total_taxes") or []:
            add("invoice_tax_lines", tax["amount"])
    for payment in stripe("invoice_payments"):
        add("invoice_payments", payment["amount_paid"] or 0)
    for charge in stripe("charges"):
        add("payments", charge["amount"])
    for payment in gocardless("payments"):
        add("payments", payment["amount"])
    for refund in stripe("refunds"):
        add("refunds", refund["amount"])
    for refund in gocardless("refunds"):
        add("refunds", refund["amount"])
    for dispute in stripe("disputes"):
        add("disputes", dispute["amount"])
    for payout in stripe("payouts"):
        add("payouts", payout["amount"])
    for payout in gocardless("payouts"):
        add("payouts", payout["amount"])
    for payout, txn in store.iter_grouped("stripe", "balance_transactions", "payout"):
        if not (txn.get("type") == "payout" and txn.get("source") == payout):
            add("payout_lines", int(render_stripe(txn)["net"]))
    for _, item in store.iter_grouped("gocardless", "payout_items", "payout"):
        add("payout_lines", _cents(item["amount"]))
    for _ in store.iter_all("aftership", "trackings"):
        add("shipments")
    return {name: (n, amount) for name, (n, amount) in sorted(out.items())}


AMOUNTS = {
    "customers": None,
    "mandates": None,
    "subscriptions": "amount",
    "invoices": "total",
    "invoice_tax_lines": "tax_amount",
    "invoice_payments": "amount_paid",
    "payments": "amount",
    "refunds": "amount",
    "disputes": "amount",
    "payouts": "amount",
    "payout_lines": "net",
    "shipments": None,
}


def warehouse_totals(engine: Engine) -> dict[str, tuple[int, int]]:
    out = {}
    with engine.connect() as conn:
        for name, column in AMOUNTS.items():
            table = tables.metadata.tables[name]
            total = func.coalesce(func.sum(table.c[column]), 0) if column else func.count() * 0
            rows, amount = conn.execute(select(func.count(), total).select_from(table)).one()
            if rows:
                out[name] = (int(rows), int(amount))
    return dict(sorted(out.items()))
