"""The retention flow end to end (SQLite; the tasks' SQL runs on both databases in
tests/tasks/test_retention.py): it runs from the CLI entry, records its run, reports what
it changed, and a second run on the same date changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.retention import RetentionReport
from echeancier.run_cli import run_flow
from flows.retention import retention
from warehouse import tables
from warehouse.engine import make_engine

AS_OF = date(2027, 6, 30)
OLD = datetime(2026, 1, 10, tzinfo=UTC)
SECRET = "pseudonym-key-never-logged"


@pytest.mark.usefixtures("prefect_server")
def test_retention_runs_records_itself_and_changes_nothing_the_second_time(
    sqlite_warehouse_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    (tmp_path / "warehouse.db").write_bytes(sqlite_warehouse_template.read_bytes())
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ECHEANCIER_PSEUDONYM_KEY", SECRET)
    engine = make_engine(url)
    payload = {"id": "cus_1", "email": "jane@example.com", "name": "Jane Doe"}
    with engine.begin() as conn:
        conn.execute(
            tables.raw_objects.insert(),
            {
                "provider": "stripe",
                "object_type": "customer",
                "object_id": "cus_1",
                "payload": json.dumps(payload),
                "source_version": 1,
                "row_hash": "x",
                "synced_at": OLD,
            },
        )

    assert run_flow("retention", as_of=AS_OF, dry_run=True) == 0
    printed = capsys.readouterr()
    assert "would change raw_payloads 1" in printed.out
    first = retention(as_of=AS_OF, return_state=True)
    second = retention(as_of=AS_OF, return_state=True)

    report: RetentionReport = first.result()
    assert report.changed["raw_payloads"] == 1
    assert set(second.result().changed.values()) == {0}
    with engine.connect() as conn:
        stored = conn.execute(select(tables.raw_objects.c.payload)).scalar_one()
        runs = conn.execute(
            select(tables.pipeline_runs.c.status, tables.pipeline_runs.c.dry_run).where(
                tables.pipeline_runs.c.flow == "retention"
            )
        ).all()
    engine.dispose()
    assert "jane@example.com" not in stored
    for seen in (printed.out, printed.err, caplog.text, report.markdown(), repr(report)):
        assert SECRET not in seen
    assert sorted(tuple(r) for r in runs) == [
        ("completed", False),
        ("completed", False),
        ("completed", True),
    ]
