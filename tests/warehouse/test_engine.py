"""Opening the warehouse: SQLite tuned for the nightly, PostgreSQL through psycopg 3."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from warehouse.engine import DEFAULT_DATABASE_URL, make_engine, normalise_url


def test_the_default_sqlite_file_gets_its_folder_wal_and_foreign_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    engine = make_engine(DEFAULT_DATABASE_URL)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()

    assert (tmp_path / "var" / "echeancier.db").is_file()


def test_a_rolled_back_sqlite_transaction_takes_its_ddl_with_it(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")

    def create_then_fail() -> None:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        create_then_fail()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sqlite_master")).scalar() == 0
    engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "postgres://u:p@db:5432/w",
        "postgresql://u:p@db:5432/w",
        "postgresql+psycopg2://u:p@db:5432/w",
    ],
)
def test_postgres_urls_are_driven_by_psycopg3(url: str) -> None:
    assert normalise_url(url).drivername == "postgresql+psycopg"


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database 'mysql'"):
        make_engine("mysql://u@h/db")


def test_errors_do_not_carry_the_rows_personal_data(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE c (email TEXT CHECK (email LIKE '%@%'))"))

    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        conn.execute(text("INSERT INTO c VALUES (:email)"), {"email": "jane.doe.example.com"})

    assert "jane.doe" not in str(caught.value)
    engine.dispose()
