"""Warehouse fixtures: every test runs on SQLite and on PostgreSQL.

- SQLite: a migrated template file is built once per session and copied per test.
- PostgreSQL: a fresh database per test session (per xdist worker), created from
  ``TEST_DATABASE_URL``, migrated once, emptied after each test and dropped at the end.
  Without ``TEST_DATABASE_URL`` (or with the server down) those tests skip — unless
  ``REQUIRE_POSTGRES=1``, as in CI, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from warehouse.engine import make_engine, normalise_url
from warehouse.migrate import upgrade
from warehouse.tables import metadata

BACKENDS = ["sqlite", "postgresql"]


def _postgres_unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail(f"REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server() -> Engine:
    """An AUTOCOMMIT engine on the server of ``TEST_DATABASE_URL`` (for CREATE DATABASE)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        _postgres_unavailable("TEST_DATABASE_URL is not set")
    engine = make_engine(str(url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        _postgres_unavailable(f"cannot reach TEST_DATABASE_URL: {type(exc).__name__}")
    return engine


def create_database(server: Engine, prefix: str, *, template: str | None = None) -> str:
    """Create an empty database on ``server``, or a copy of the database at ``template``
    (which nobody may be connected to); return its URL."""
    name = f"{prefix}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
    copy = f' TEMPLATE "{make_url(template).database}"' if template else ""
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    return normalise_url(server.url).set(database=name).render_as_string(hide_password=False)


def drop_database(server: Engine, url: str) -> None:
    name = make_url(url).database
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_url(postgres_server: Engine) -> Iterator[str]:
    """A migrated database of its own for this test session, dropped after it."""
    url = create_database(postgres_server, "echeancier_wh")
    try:
        upgrade(url)
        yield url
    finally:
        drop_database(postgres_server, url)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("warehouse") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty warehouse on ``backend``."""
    if backend == "sqlite":
        path = tmp_path / "warehouse.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return
    engine = make_engine(request.getfixturevalue("postgres_url"))
    try:
        yield engine
    finally:
        with engine.begin() as conn:  # DELETE beats TRUNCATE on a handful of rows
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
        engine.dispose()


@pytest.fixture
def empty_database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """A database with no tables at all, for migration tests."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    url = create_database(server, "echeancier_wh_empty")
    try:
        yield url
    finally:
        drop_database(server, url)
