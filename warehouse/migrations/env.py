"""Alembic environment: migrates the database ``warehouse.migrate`` hands it.

The URL comes from the Alembic config (``warehouse.migrate.upgrade`` sets it), else
from ``DATABASE_URL``, else the default SQLite file. A caller may also pass an open
connection in ``config.attributes["connection"]`` (tests do). SQLite runs in batch
mode so that later ``ALTER``s work there too.
"""

from __future__ import annotations

import os
from typing import Any

from alembic import context
from sqlalchemy import Connection

from warehouse.engine import DEFAULT_DATABASE_URL, make_engine
from warehouse.tables import metadata
from warehouse.types import ExactDecimal, UTCDateTime

config = context.config


def render_item(kind: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write our column types as the plain types they emit, so migrations never import them."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if kind == "type" and isinstance(obj, ExactDecimal):
        return f"sa.Numeric({obj.impl.precision}, {obj.scale})"  # type: ignore[attr-defined]
    return False


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    if context.is_offline_mode():
        raise SystemExit("offline (--sql) migrations are not supported: run against a database")
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get(
        "DATABASE_URL", DEFAULT_DATABASE_URL
    )
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            run(connection)
            connection.commit()
    finally:
        engine.dispose()


main()
