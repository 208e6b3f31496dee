"""Finance records and lifts holds from the command line; queued reminders are withdrawn."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from domain.notice import Notice
from echeancier.cli import app
from warehouse.engine import make_engine
from warehouse.migrate import upgrade
from warehouse.outbox import enqueue
from warehouse.outbox_tables import dunning_holds, notifications

runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def _reminder(invoice: str, customer: str) -> Notice:
    return Notice(
        dedupe_key=f"dunning:{invoice}:reminder_1",
        kind="dunning",
        template="dunning_reminder_1",
        locale="fr",
        planned_for=date(2026, 11, 26),
        customer_id=customer,
        invoice_id=invoice,
    )


def test_a_promise_to_pay_is_recorded_once_and_withdraws_that_invoices_reminder(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        notices = [_reminder("in_1", "cus_A"), _reminder("in_2", "cus_A")]
        enqueue(conn, notices, as_of=date(2026, 11, 26), now=datetime.now(UTC))
    args = ["dunning", "hold", "cus_A", "--invoice", "in_1", "--until", "2026-12-15"]

    first = runner.invoke(app, [*args, "--by", "Claire"])
    again = runner.invoke(app, [*args, "--by", "Claire"])

    assert first.exit_code == 0, first.output
    assert "1 queued reminder(s) withdrawn" in first.output
    assert "0 queued reminder(s) withdrawn" in again.output
    with engine.connect() as conn:
        holds = conn.execute(select(dunning_holds)).mappings().all()
        rows = conn.execute(select(notifications.c.invoice_id, notifications.c.status))
        statuses = {r.invoice_id: r.status for r in rows}
    assert [(h["kind"], h["until_on"], h["recorded_by"]) for h in holds] == [
        ("promise_to_pay", date(2026, 12, 15), "Claire")
    ]
    assert statuses == {"in_1": "cancelled", "in_2": "queued"}


def test_a_promise_without_a_date_is_refused(url: str) -> None:
    result = runner.invoke(app, ["dunning", "hold", "cus_A"])
    assert result.exit_code != 0
    assert "--until" in result.output


def test_a_hold_is_listed_then_lifted(url: str) -> None:
    recorded = runner.invoke(app, ["dunning", "hold", "cus_B", "--kind", "opt_out"])
    hold = recorded.output.split()[1]

    listed = runner.invoke(app, ["dunning", "holds"])
    lifted = runner.invoke(app, ["dunning", "lift", hold])
    after = runner.invoke(app, ["dunning", "holds"])
    twice = runner.invoke(app, ["dunning", "lift", hold])

    assert hold in listed.output
    assert "opt_out" in listed.output
    assert lifted.exit_code == 0
    assert hold not in after.output
    assert twice.exit_code == 1
