"""Flow-test fixtures: one Prefect test server per session, a live sandbox with a generated
shop per test, and a migrated warehouse on SQLite and on PostgreSQL. Tests that start
from the shop already synced (``synced``) get private copies of the outcome of one sync
per shop and backend per session (per xdist worker), instead of a full sync each.

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
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="prefect-home-"))
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.pop("PREFECT_API_URL", None)

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from connectors.ratelimit import shared_limiter
from sandbox.clock import Clock
from sandbox.generate import Summary, generate
from sandbox.render import render_gocardless, render_stripe
from sandbox.server import RunningSandbox, start
from sandbox.store import Store
from tests.warehouse.conftest import (  # noqa: F401
    create_database,
    drop_database,
    postgres_server,
    postgres_url,
)
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


@contextmanager
def serving(
    store: Store,
    summary: Summary,
    warehouse_url: str,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Live]:
    """Serve ``store`` at ``clock`` and point the settings and seams at it and the warehouse."""
    import flows.sync

    with start(store, clock=clock, seed=SEED) as running:
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


@pytest.fixture
def live(
    prefect_server: None,
    shop: tuple[Store, Summary],
    warehouse_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Live]:
    store, summary = shop
    with serving(store, summary, warehouse_url, Clock(summary.clock_start), monkeypatch) as out:
        yield out


# -- the shop synced once, copied per test ----------------------------------------------


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database, even one another connection has open."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@dataclass(frozen=True)
class Synced:
    """A shop as one sync for AS_OF left it: the sandbox's store, the warehouse (a SQLite
    file, or a PostgreSQL database used only as a template), the sandbox clock's reading
    when the sync ended (the cursors and ``synced_at`` stamps in the warehouse are of that
    clock, so a copy's clock goes on from there)."""

    store: Path
    warehouse: str
    clock: datetime


class SyncedShops:
    """One sync per shop template and backend for the session (per xdist worker).

    The flow tests that start from a synced shop used to run that same full sync each;
    a copy of its outcome (both sides: the sandbox's store and the warehouse) is what
    each of them now gets. The tests of the sync itself still run their own.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.done: dict[tuple[Path, str], Synced] = {}
        self.templates: list[str] = []  # PostgreSQL databases to drop at the end
        self.server: Engine | None = None

    def get(
        self, template: Path, summary: Summary, backend: str, request: pytest.FixtureRequest
    ) -> Synced:
        key = (template, backend)
        if key not in self.done:
            self.done[key] = self._sync(template, summary, backend, request)
        return self.done[key]

    def _sync(
        self, template: Path, summary: Summary, backend: str, request: pytest.FixtureRequest
    ) -> Synced:
        from flows.sync import sync

        home = self.root / f"{len(self.done)}-{backend}"
        home.mkdir()
        if backend == "sqlite":
            shutil.copyfile(request.getfixturevalue("sqlite_warehouse_template"), home / "wh.db")
            url = f"sqlite:///{home / 'wh.db'}"
        else:
            self.server = request.getfixturevalue("postgres_server")
            url = create_database(self.server, "echeancier_synced")
            self.templates.append(url)
            upgrade(url)
        copy_sqlite(template, home / "shop.db")
        store = Store.open(home / "shop.db")
        try:
            with (
                pytest.MonkeyPatch.context() as mp,
                serving(store, summary, url, Clock(summary.clock_start), mp) as live,
            ):
                state = sync(as_of=AS_OF, return_state=True)
                assert state.is_completed(), state.message
                clock = live.sandbox.app.state.clock.now()
        finally:
            store.close()
        if self.server is not None and backend == "postgresql":  # a template has no sessions
            name = make_url(url).database
            with self.server.connect() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
        return Synced(home / "shop.db", url, clock)

    def close(self) -> None:
        for url in self.templates:
            assert self.server is not None
            drop_database(self.server, url)


@pytest.fixture(scope="session")
def synced_shops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncedShops]:
    shops = SyncedShops(tmp_path_factory.mktemp("synced"))
    try:
        yield shops
    finally:
        shops.close()


@pytest.fixture
def synced(
    prefect_server: None,
    shop_template: tuple[Path, Summary],
    warehouse_url: str,
    synced_shops: SyncedShops,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[Live]:
    """As ``live``, but the shop already synced for AS_OF: private copies of the sandbox's
    store and of the warehouse as the session's one sync of this shop left them, served
    at the clock it ended at. ``warehouse_url`` only chooses the backend (so
    ``parametrize("warehouse_url", ["sqlite"], indirect=True)`` still holds)."""
    template, summary = shop_template
    backend = make_url(warehouse_url).get_backend_name()
    once = synced_shops.get(template, summary, backend, request)
    copy_sqlite(once.store, tmp_path / "synced-shop.db")
    server = None
    if backend == "sqlite":
        copy_sqlite(Path(str(make_url(once.warehouse).database)), tmp_path / "synced-wh.db")
        url = f"sqlite:///{tmp_path / 'synced-wh.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url = create_database(server, "echeancier_copy", template=once.warehouse)
    store = Store.open(tmp_path / "synced-shop.db")
    try:
        with serving(store, summary, url, Clock(once.clock), monkeypatch) as out:
            yield out
    finally:
        store.close()
        if server is not None:
            drop_database(server, url)


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
