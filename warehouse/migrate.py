"""Schema migrations, for ``echeancier db upgrade`` and for tests.

All DDL goes through Alembic (``warehouse/migrations/versions``); nothing calls
``metadata.create_all``. ``upgrade`` is idempotent: on an up-to-date database it
does nothing, so the demo and the nightly can call it every time.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` built in code: no ini file to find, whatever the cwd."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if database_url is not None:
        # ConfigParser treats % as interpolation: escape it (URL-encoded passwords).
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the warehouse at ``database_url`` to ``revision`` (default: the latest)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Step the schema back to ``revision`` (``"base"`` drops every table)."""
    command.downgrade(alembic_config(database_url), revision)
