"""One way to open the warehouse, whatever ``DATABASE_URL`` says.

- ``sqlite:///var/echeancier.db`` (the default): the folder is created, the file runs
  in WAL mode (readers never block the nightly's writer) with foreign keys on, and
  every transaction starts with ``BEGIN IMMEDIATE``. Python's sqlite3 module would
  otherwise open transactions late and leave DDL outside them; and a deferred
  transaction that reads, then writes, fails at once with ``SQLITE_BUSY_SNAPSHOT``
  when another writer got in between, instead of waiting ``busy_timeout`` for it.
  The price: a transaction opened through this engine holds the write lock until it
  ends, even if it only reads, so keep read transactions short (other readers, such
  as an analyst's ``sqlite3`` shell, are never blocked, WAL sees to that).
- ``postgresql://…`` / ``postgres://…``: driven by psycopg 3 (the COPY fast path of
  ``warehouse.upsert`` needs it), with the session time zone pinned to UTC.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

DEFAULT_DATABASE_URL = "sqlite:///var/echeancier.db"
SQLITE_BUSY_TIMEOUT_MS = 60_000


def make_engine(database_url: str = DEFAULT_DATABASE_URL, **kwargs: Any) -> Engine:
    """Return an engine for ``database_url``, tuned for its backend (see module docstring)."""
    url = normalise_url(database_url)
    # Rows carry personal data (emails, names): keep bound values out of error messages,
    # which end up in Prefect logs.
    kwargs.setdefault("hide_parameters", True)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, **kwargs)
    if url.get_backend_name() == "postgresql":
        connect_args = {"options": "-c timezone=UTC", **kwargs.pop("connect_args", {})}
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)
    raise ValueError(f"unsupported database {url.get_backend_name()!r}: use sqlite or postgresql")


def normalise_url(database_url: str | URL) -> URL:
    """Pin PostgreSQL URLs to psycopg 3, whichever spelling (``postgres://``) was given."""
    if isinstance(database_url, str) and database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url.removeprefix("postgres://")
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql" and url.drivername != "postgresql+psycopg":
        url = url.set(drivername="postgresql+psycopg")
    return url


def _sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if not in_memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we send BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA temp_store=MEMORY")  # upsert staging tables
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
