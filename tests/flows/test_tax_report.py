"""End to end: the real ``tax-report`` flow on SQLite and PostgreSQL.

1. The hand-computed shop of tests/domain/tax/scenario.py, loaded into the warehouse
   as the sync would: the returns in ``vat_returns`` are the hand-computed figures,
   the files are written, a second run writes nothing and rewrites no file; once finance
   records OSS 2026-Q2 as filed, a refund of June that arrives late is a correction in
   the 2026-Q3 return and the filed return (rows and files) stays as it was; ten and
   three days before the deadlines, one reminder each is queued, once.
2. A generated shop synced by the nightly chain: the returns tie out to the invoices'
   own tax lines, and the CSV detail sums to the CSV return.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

import flows.nightly
import flows.tax_report
from domain.tax import TaxReport
from echeancier.cli import app
from flows.nightly import nightly
from flows.tax_report import tax_report
from templates.render import render
from tests.domain.tax import scenario
from tests.flows.conftest import AS_OF, Live
from tests.tasks.tax_warehouse import load_shop
from warehouse import tables
from warehouse.engine import make_engine
from warehouse.outbox_tables import notifications
from warehouse.tax_tables import tax_deadlines, vat_lines, vat_returns

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tax"
NOW = datetime(2026, 10, 21, 2, 0, tzinfo=UTC)


@pytest.fixture
def env(
    prefect_server: None, warehouse_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The warehouse and the reports folder of this test; returns the tax reports folder."""
    monkeypatch.setenv("DATABASE_URL", warehouse_url)
    monkeypatch.setenv("ECHEANCIER_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setattr(flows.tax_report, "utc_now", lambda: NOW)
    return tmp_path / "reports" / "tax"


def run(as_of: date) -> TaxReport:
    state = tax_report(as_of=as_of, return_state=True)
    assert state.is_completed(), state.message
    report = state.result()
    assert isinstance(report, TaxReport)
    return report


def returns(engine: Engine, regime: str, period: str) -> list[tuple[Any, ...]]:
    t = vat_returns
    query = select(
        t.c.section,
        t.c.country,
        t.c.rate,
        t.c.corrected_period,
        t.c.taxable_base,
        t.c.vat,
        t.c.corrections,
        t.c.lines,
    ).where(t.c.regime == regime, t.c.period == period)
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(query))


def files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_hand_computed_returns_files_filing_and_reminders(env: Path, warehouse_url: str) -> None:
    engine = make_engine(warehouse_url)
    shop = scenario.shop()
    shop.invoice("in_de3", "c_de", "2026-05-10", [("DE", "19", 5000, 950)], payment="ch_de3")
    load_shop(engine, shop, 1)
    assert "added" in cli("tax", "load-fx", str(FIXTURES / "eurofxref-hist.csv"))

    first = run(date(2026, 7, 2))

    assert returns(engine, "OSS", "2026-Q2") == [
        ("supplies", "DE", Decimal("19.0000"), None, 15000, 2850, 0, 2)
    ]
    assert [(r.regime, r.period, r.vat_due) for r in first.returns] == [
        ("OSS", "2026-Q2", 2850),
        ("OSS", "2026-Q3", 0),  # nothing of July is known on 2 July
        ("FR_CA3", "2026-06", 0),  # only OSS sales in June
        ("FR_CA3", "2026-07", 0),  # nothing domestic yet on 2 July
    ]
    written = files(env)
    assert sorted(written) == sorted(
        f"{regime}_{period}{suffix}"
        for regime, period in [
            ("OSS", "2026-Q2"),
            ("OSS", "2026-Q3"),
            ("FR_CA3", "2026-06"),
            ("FR_CA3", "2026-07"),
        ]
        for suffix in (".csv", ".detail.csv", ".xlsx")
    )
    q2_csv = list(csv.DictReader(io.StringIO(written["OSS_2026-Q2.csv"].decode())))
    assert [(r["country"], r["rate"], r["taxable_base"], r["vat"]) for r in q2_csv] == [
        ("DE", "19", "150.00", "28.50")
    ]

    # the same night again: no row, no file changes
    mtimes = {p.name: p.stat().st_mtime_ns for p in env.iterdir()}
    again = run(date(2026, 7, 2))
    assert set(again.rows_written.values()) == {0}
    assert files(env) == written
    assert {p.name: p.stat().st_mtime_ns for p in env.iterdir()} == mtimes

    # finance files OSS 2026-Q2; a refund dated 28 June reaches the warehouse later
    assert "recorded as filed" in cli("tax", "filed", "OSS", "2026-Q2", "--on", "2026-07-20")
    filed_rows = returns(engine, "OSS", "2026-Q2")
    shop.refund("re_late", "ch_de3", "2026-06-28", 2975)
    load_shop(engine, shop, 2)

    october = run(date(2026, 10, 21))

    assert returns(engine, "OSS", "2026-Q2") == filed_rows
    assert files(env)["OSS_2026-Q2.xlsx"] == written["OSS_2026-Q2.xlsx"]
    assert files(env)["OSS_2026-Q2.csv"] == written["OSS_2026-Q2.csv"]
    assert returns(engine, "OSS", "2026-Q3") == [
        # re_de2 (-100.00 / -19.00) and the late re_late (-25.00 / -4.75), by original period
        ("correction", "DE", Decimal("19.0000"), "2026-Q2", -12500, 0, -2375, 2),
        ("supplies", "BE", Decimal("21.0000"), None, 4050, 850, 0, 1),
        ("supplies", "DE", Decimal("19.0000"), None, 1597, 303, 0, 1),
        ("supplies", "IT", Decimal("22.0000"), None, 4099, 901, 0, 2),
        ("supplies", "NL", Decimal("21.0000"), None, 8547, 1795, 0, 1),
    ]
    q3 = next(r for r in october.returns if (r.regime, r.period) == ("OSS", "2026-Q3"))
    assert (q3.vat_due, q3.corrections, q3.due_on) == (3849 - 2375, -2375, date(2026, 10, 31))
    assert "OSS 2026-Q2" in october.filed

    # the workbook's detail sums to its return
    book = load_workbook(env / "OSS_2026-Q3.xlsx")
    detail = list(book["Detail"].iter_rows(min_row=2, values_only=True))
    *lines, total = detail
    assert total[0] == "total"
    assert sum(Decimal(str(r[21])) for r in lines) == Decimal("14.74")  # VAT due
    assert Decimal(str(total[21])) == Decimal("14.74")
    assert Decimal(str(book["Return"]["B3"].value)) == Decimal("14.74")

    # reminders: OSS Q3 is due in 10 days, CA3 2026-09 in 3 (due on the 24th)
    with engine.connect() as conn:
        queued = conn.execute(
            select(notifications.c.dedupe_key, notifications.c.status, notifications.c.context)
            .where(notifications.c.kind == "tax_deadline")
            .order_by(notifications.c.dedupe_key)
        ).all()
        deadlines = {
            (r.regime, r.period): (r.status, r.reminded_on, r.reminder_days)
            for r in conn.execute(select(tax_deadlines))
        }
    assert [(k, s) for k, s, _ in queued] == [
        ("tax_deadline:FR_CA3:2026-09:3", "queued"),
        ("tax_deadline:OSS:2026-Q3:10", "queued"),
    ]
    assert october.reminders_new == 2
    assert deadlines[("OSS", "2026-Q3")] == ("open", date(2026, 10, 21), 10)
    assert deadlines[("OSS", "2026-Q2")][0] == "filed"
    assert deadlines[("FR_CA3", "2026-07")][0] == "overdue"
    mail = render("tax_deadline", "fr", json.loads(queued[1][2]))
    assert mail.subject == (
        "[Échéance fiscale] Déclaration OSS 2026-Q3 à déposer avant le 31 octobre 2026"
    )
    assert "14,74" in mail.text

    repeat = run(date(2026, 10, 21))
    assert repeat.reminders_new == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(notifications)).scalar() == 2
    engine.dispose()


def test_generated_shop_returns_tie_out_to_the_invoices(
    live: Live, env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flows.nightly, "utc_now", live.sandbox.app.state.clock.now)
    assert nightly(as_of=AS_OF, return_state=True).is_completed()

    report = run(date(2026, 7, 1))

    assert {(r.regime, r.period) for r in report.returns} >= {
        ("OSS", "2026-Q2"),
        ("FR_CA3", "2026-06"),
    }
    assert all(p.reason for p in report.problems)
    # the OSS invoice lines of the quarter are the invoices' own foreign VAT lines
    itl, inv = tables.invoice_tax_lines, tables.invoices
    with live.engine.connect() as conn:
        foreign_vat = conn.execute(
            select(func.coalesce(func.sum(itl.c.tax_amount), 0))
            .select_from(itl.join(inv, inv.c.invoice_id == itl.c.invoice_id))
            .where(inv.c.status.in_(["open", "paid", "uncollectible"]))
            .where(inv.c.issued_on.between(date(2026, 4, 1), date(2026, 6, 30)))
            .where(itl.c.country != "FR", itl.c.taxability_reason != "reverse_charge")
        ).scalar()
        invoice_vat = conn.execute(
            select(func.coalesce(func.sum(vat_lines.c.vat_eur), 0)).where(
                vat_lines.c.regime == "OSS",
                vat_lines.c.period == "2026-Q2",
                vat_lines.c.source == "invoice",
            )
        ).scalar()
    assert int(invoice_vat) == int(foreign_vat) > 0
    summary = list(csv.DictReader(io.StringIO((env / "OSS_2026-Q2.csv").read_text())))
    detail = list(csv.DictReader(io.StringIO((env / "OSS_2026-Q2.detail.csv").read_text())))
    assert sum(Decimal(r["vat_eur"]) for r in detail) == sum(
        Decimal(r["vat"]) + Decimal(r["corrections"]) for r in summary
    )
    q2 = next(r for r in report.returns if (r.regime, r.period) == ("OSS", "2026-Q2"))
    assert Decimal(q2.vat_due).scaleb(-2) == sum(Decimal(r["vat_eur"]) for r in detail)
    assert run(date(2026, 7, 1)).rows_written == dict.fromkeys(report.rows_written, 0)
