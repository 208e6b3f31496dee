"""The warehouse fixtures (SQLite and PostgreSQL) for the tasks' loader tests."""

from tests.warehouse.conftest import (  # noqa: F401  (re-exported fixtures)
    backend,
    engine,
    postgres_server,
    postgres_url,
    sqlite_template,
)
