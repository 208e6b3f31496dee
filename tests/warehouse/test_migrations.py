"""The migrations build exactly what ``warehouse.tables`` declares, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from warehouse.engine import make_engine
from warehouse.migrate import downgrade, upgrade
from warehouse.tables import metadata


def _affinity(type_: Any) -> str:
    """The family of a column type, as reflection can tell it on SQLite and PostgreSQL."""
    name = type(type_).__name__.upper()
    for family in ("BIGINT", "INTEGER", "BOOLEAN", "NUMERIC", "TIMESTAMP", "DATETIME", "DATE"):
        if family in name:
            return "TIMESTAMP" if family == "DATETIME" else family
    if "CHAR" in name or "TEXT" in name or "STRING" in name:
        return "TEXT"
    if name in ("UTCDATETIME",):
        return "TIMESTAMP"
    if name in ("EXACTDECIMAL", "DECIMAL"):
        return "NUMERIC"
    return name


def _described(engine: Engine) -> dict[str, Any]:
    inspector = inspect(engine)
    schema = {}
    for table in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
        schema[table] = {
            "columns": [
                (c["name"], c["nullable"], _affinity(c["type"]))
                for c in inspector.get_columns(table)
            ],
            "pk": inspector.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]))
                for i in inspector.get_indexes(table)
                # PostgreSQL also reports the index behind a UNIQUE constraint
                if not i.get("duplicates_constraint")
            ),
            "checks": sorted(c["name"] for c in inspector.get_check_constraints(table)),
        }
    return schema


def _declared() -> dict[str, Any]:
    schema = {}
    for name, table in sorted(metadata.tables.items()):
        schema[name] = {
            "columns": [(c.name, c.nullable, _affinity(c.type)) for c in table.columns],
            "pk": [c.name for c in table.primary_key.columns],
            "indexes": sorted(
                (str(i.name), tuple(c.name for c in i.columns)) for i in table.indexes
            ),
            "checks": sorted(
                str(c.name) for c in table.constraints if type(c).__name__ == "CheckConstraint"
            ),
        }
    return schema


def test_upgrade_on_an_empty_database_gives_the_declared_schema(empty_database_url: str) -> None:
    upgrade(empty_database_url)

    engine = make_engine(empty_database_url)
    try:
        assert _described(engine) == _declared()
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        engine.dispose()


def test_upgrade_twice_changes_nothing_and_downgrade_removes_everything(
    empty_database_url: str,
) -> None:
    upgrade(empty_database_url)
    upgrade(empty_database_url)

    downgrade(empty_database_url, "base")

    engine = make_engine(empty_database_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
