"""What ``echeancier run kpis`` prints and the Prefect UI shows."""

from __future__ import annotations

import json
from datetime import date

import numpy as np

from domain.kpis import KpiReport

ROW = {
    "currency": "EUR",
    "mrr": 783207,
    "active_subscriptions": 246,
    "customers": 240,
    "logo_churn_rate": 0.008696,
    "net_mrr_churn_rate": np.nan,
    "involuntary_churn_rate": 0.004348,
    "failed_payment_rate": 0.017647,
    "unpaid_rate": None,
    "dso_days": 4.1,
    "avg_payment_delay_days": -0.1,
    "dunning_recovery_rate": np.nan,
    "ar_total": 140060,
}


def report(**changes: object) -> KpiReport:
    values: dict[str, object] = {
        "run_id": "r1",
        "as_of": date(2026, 6, 30),
        "date_from": date(2026, 6, 30),
        "date_to": date(2026, 6, 30),
        "rows": 1,
        "latest": [ROW],
        "forecast": [
            {
                "currency": "EUR",
                "source": "renewals",
                "next_30_days": 500000,
                "next_90_days": 1200000,
            },
            {
                "currency": "EUR",
                "source": "open_invoices",
                "next_30_days": 26018,
                "next_90_days": 750931,
            },
        ],
        "report_path": "/tmp/finance-2026-06-30.html",
    }
    values.update(changes)
    return KpiReport(**values)  # type: ignore[arg-type]


def test_text_shows_key_figures_in_major_units_and_missing_rates_as_a_dash() -> None:
    text = report().text()
    assert "kpis 2026-06-30: 1 kpi_daily rows" in text
    assert "MRR 7,832.07" in text
    assert "logo churn 0.87 %" in text
    assert "net MRR churn —" in text  # no denominator: not 0, not nan
    assert "unpaid at 30 days —" in text
    assert " nan" not in text.lower()
    assert "expected in the bank: 5,260.18 in 30 days, 19,509.31 in 90" in text
    assert "finance report: /tmp/finance-2026-06-30.html" in text


def test_a_backfill_says_its_range_and_an_empty_shop_says_so() -> None:
    text = report(date_from=date(2025, 6, 1), rows=395, latest=[], forecast=[]).text()
    assert "kpis 2025-06-01 .. 2026-06-30 (395 days): 395 kpi_daily rows" in text
    assert "nothing to measure" in text


def test_markdown_and_control_totals_hold_plain_values() -> None:
    md = report().markdown()
    assert "| MRR | 7,832.07 |" in md
    assert "| net MRR churn | — |" in md
    assert "| expected in 90 days | 19,509.31 |" in md
    totals = report().control_totals()
    assert totals == {
        "kpis": {"EUR": {"mrr": 783207, "ar_total": 140060, "forecast_90_days": 1950931}}
    }
    json.dumps(totals, allow_nan=False)
