"""End to end: sync a generated shop, reconcile it, then the real ``kpis`` flow, on SQLite
and PostgreSQL.

Two nights a week apart: each writes its day's KPIs per currency, its 90-day forecast
and the finance report; the second compares the first night's forecast with the payouts
that came in since. Running a night again changes no row. A backfill through the CLI
(``echeancier run kpis --from … --to …``) writes every day of the history in one run,
and its last day is the very row the nightly run wrote.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from domain.kpis import KpiReport
from echeancier.cli import app
from flows.kpis import kpis
from flows.reconcile import reconcile
from reporting import SECTIONS
from tests.domain.kpis.build import invoice
from tests.flows.conftest import AS_OF, Live
from warehouse import kpi_tables, tables
from warehouse.engine import make_engine
from warehouse.state import read_run
from warehouse.upsert import upsert

WEEK_BEFORE = AS_OF - timedelta(days=7)


def run_kpis(**parameters: Any) -> KpiReport:
    state = kpis(**parameters, return_state=True)
    assert state.is_completed(), state.message
    report = state.result()
    assert isinstance(report, KpiReport)
    return report


def stored(source: Live | Engine, table: Any) -> list[dict[str, Any]]:
    engine = source.engine if isinstance(source, Live) else source
    keys = [c for c in table.primary_key.columns]
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).order_by(*keys))]


@pytest.fixture
def reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "reports"
    monkeypatch.setenv("ECHEANCIER_REPORTS", str(folder))
    return folder


@pytest.fixture
def live(synced: Live) -> Live:
    """The shop already synced for AS_OF: copies of the session's one sync of it."""
    return synced


def test_kpi_nights_forecast_accuracy_and_backfill(live: Live, reports: Path) -> None:
    assert reconcile(as_of=AS_OF, return_state=True).is_completed()

    first = run_kpis(as_of=WEEK_BEFORE)
    night = run_kpis(as_of=AS_OF)

    days = stored(live, kpi_tables.kpi_daily)
    assert [(r["as_of"], r["currency"]) for r in days] == [(WEEK_BEFORE, "EUR"), (AS_OF, "EUR")]
    today = days[1]
    assert today["mrr"] > 0
    assert today["active_subscriptions"] >= today["customers"] > 0
    assert today["period_start"] == date(AS_OF.year, AS_OF.month, 1)
    assert today["ar_total"] == sum(
        today[b] for b in ("ar_current", "ar_1_30", "ar_31_60", "ar_61_90", "ar_over_90")
    )
    # what the CLI prints and what the run recorded
    assert night.latest[0]["mrr"] == today["mrr"]
    assert f"finance report: {reports.resolve()}" in night.text()
    with live.engine.connect() as conn:
        recorded = read_run(conn, night.run_id)
    assert recorded is not None
    assert (recorded.flow, recorded.status, recorded.as_of) == ("kpis", "completed", AS_OF)
    assert recorded.counts["kpi_rows"] == 1
    assert recorded.control_totals["kpis"]["EUR"]["mrr"] == today["mrr"]

    # what operators see in the Prefect UI: the key figures, and a link to the report
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[night.run_id]))
        )
    by_key = {a.key: a for a in artifacts}
    assert set(by_key) >= {
        "kpis-summary",
        "kpis-key-figures",
        "cashflow-forecast",
        "finance-report",
    }
    page_path = reports.resolve() / "finance" / f"finance-{AS_OF}.html"
    assert page_path.as_uri() in str(by_key["finance-report"].data)
    assert "| MRR |" in str(by_key["kpis-summary"].data)
    assert "nan" not in str(by_key["kpis-key-figures"].data).lower()

    # the forecast: the 90 days after each night, every source named
    forecast = stored(live, kpi_tables.cashflow_forecast)
    tonight = [r for r in forecast if r["as_of"] == AS_OF]
    assert {r["as_of"] for r in forecast} == {WEEK_BEFORE, AS_OF}
    assert all(AS_OF < r["day"] <= AS_OF + timedelta(days=90) for r in tonight)
    assert {r["source"] for r in tonight} >= {"renewals", "direct_debits", "open_invoices"}
    assert all(0 <= r["expected_in"] <= r["gross_amount"] for r in tonight)

    # the first night had no earlier forecast; the second compares the first one with
    # the payouts that arrived in the week since
    assert first.accuracy == []
    (accuracy,) = stored(live, kpi_tables.cashflow_accuracy)
    made = [r for r in forecast if r["as_of"] == WEEK_BEFORE and r["day"] <= AS_OF]
    arrived = _payouts_between(live, WEEK_BEFORE, AS_OF)
    assert (accuracy["horizon_days"], accuracy["forecast_as_of"]) == (7, WEEK_BEFORE)
    assert accuracy["forecast_in"] == sum(r["expected_in"] for r in made)
    assert accuracy["actual_in"] == arrived > 0
    assert accuracy["error"] == arrived - accuracy["forecast_in"]

    # the finance report of the night, with every section
    page = (reports / "finance" / f"finance-{AS_OF}.html").read_text()
    found = re.findall(r'<section id="([\w-]+)">\s*<h2>([^<]+)</h2>', page)
    assert found == list(SECTIONS)

    # the same night again: not one row changes
    before = [stored(live, t) for t in _tables()]
    run_kpis(as_of=AS_OF)
    assert [stored(live, t) for t in _tables()] == before

    # a backfill of the whole history, through the CLI, in one run
    start = _first_subscription_day(live)
    result = CliRunner().invoke(
        app, ["run", "kpis", "--from", start.isoformat(), "--to", AS_OF.isoformat()]
    )
    assert result.exit_code == 0, result.output
    span = (AS_OF - start).days + 1
    assert f"kpis {start} .. {AS_OF} ({span} days): {span} kpi_daily rows" in result.output
    history = stored(live, kpi_tables.kpi_daily)
    assert [r["as_of"] for r in history] == [start + timedelta(days=n) for n in range(span)]
    assert history[-1] == today  # a backfill and a nightly run agree to the cent
    assert history[-8] == days[0]
    for before_row, row in pairwise(history):
        change = (
            row["mrr_new"]
            + row["mrr_expansion"]
            + row["mrr_reactivation"]
            - row["mrr_contraction"]
            - row["mrr_churned"]
        )
        assert row["mrr"] == before_row["mrr"] + change, row["as_of"]


def _tables() -> tuple[Any, ...]:
    return (kpi_tables.kpi_daily, kpi_tables.cashflow_forecast, kpi_tables.cashflow_accuracy)


def _payouts_between(live: Live, start: date, end: date) -> int:
    p = tables.payouts
    query = select(p.c.amount).where(
        p.c.arrival_on > start, p.c.arrival_on <= end, p.c.status.not_in(("failed", "canceled"))
    )
    with live.engine.connect() as conn:
        return sum(int(a) for (a,) in conn.execute(query))


def _first_subscription_day(live: Live) -> date:
    s = tables.subscriptions
    with live.engine.connect() as conn:
        first = min(r[0] for r in conn.execute(select(s.c.start_at)))
    return first.date()


def test_a_shop_without_subscriptions_stores_null_rates_and_still_reports(
    prefect_server: None, warehouse_url: str, reports: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One-off orders only: MRR 0, receivables, and NULL (never 0, never NaN) churn rates."""
    monkeypatch.setenv("DATABASE_URL", warehouse_url)
    engine = make_engine(warehouse_url)
    order = invoice("in_1", 4990, "2026-06-02", status="open", due="2026-06-12")
    with engine.begin() as conn:
        upsert(conn, tables.invoices, [{**order, "source_version": 1}])
    try:
        report = run_kpis(as_of=AS_OF)
        (row,) = stored(engine, kpi_tables.kpi_daily)
    finally:
        engine.dispose()
    assert (row["mrr"], row["customers"], row["ar_1_30"]) == (0, 0, 4990)
    assert row["logo_churn_rate"] is None
    assert row["net_mrr_churn_rate"] is None
    assert row["failed_payment_rate"] is None
    assert row["unpaid_rate"] is None  # nothing fell due 30 to 59 days ago
    assert row["dso_days"] is not None
    assert "logo churn —" in report.text()
    page = (reports / "finance" / f"finance-{AS_OF}.html").read_text()
    assert [s for s, _ in re.findall(r'<section id="([\w-]+)">\s*<h2>([^<]+)</h2>', page)] == [
        s for s, _ in SECTIONS
    ]
