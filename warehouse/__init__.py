"""The warehouse: Échéancier's copy of the providers' data, and its own bookkeeping.

- ``warehouse.tables``: the schema (SQLAlchemy Core ``Table``s on one ``metadata``);
  docs/tables.md is its data dictionary.
- ``warehouse.engine.make_engine``: an engine from ``DATABASE_URL`` (SQLite or
  PostgreSQL), tuned for each.
- ``warehouse.migrate.upgrade``: Alembic migrations, behind ``echeancier db upgrade``.
- ``warehouse.upsert.upsert``: newest-wins bulk merge (COPY + ``ON CONFLICT`` on
  PostgreSQL, ``executemany`` on SQLite) inside the caller's transaction;
  ``warehouse.upsert.quarantine`` for rejected records.
- ``warehouse.state``: stream cursors (``sync_state``) and run records (``pipeline_runs``).

No prefect here: the warehouse runs with or without an orchestrator.
"""
