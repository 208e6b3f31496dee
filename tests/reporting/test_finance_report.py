"""The finance report's HTML: every section, charts embedded, nothing fetched, no NaN."""

from __future__ import annotations

import base64
import re
from datetime import date

import pandas as pd
import pytest

from domain.kpis import kpi_daily
from reporting import SECTIONS, FinanceData, render_finance_report
from tests.domain.kpis.build import TZ, inputs, invoice, sub

AS_OF = date(2026, 3, 31)
PNG = b"\x89PNG\r\n\x1a\n"


def data(**changes: object) -> FinanceData:
    shop = inputs(
        subscriptions=[sub("s1", "A", "2026-01-05", 1900), sub("s2", "B", "2026-02-01", 3900)],
        invoices=[invoice("I1", 12000, "2026-03-01", status="open")],
    )
    values: dict[str, object] = {
        "as_of": AS_OF,
        "kpis": kpi_daily(shop, date(2026, 1, 1), AS_OF, TZ),
        "recovery": pd.DataFrame(
            {
                "failure_month": ["2026-03", "2026-03"],
                "currency": ["EUR", "EUR"],
                "stage": ["none", "open"],
                "count": [1, 1],
                "amount": [1900, 3900],
            }
        ),
        "forecast": pd.DataFrame(
            {
                "as_of": [AS_OF] * 2,
                "day": [date(2026, 4, 1), date(2026, 4, 5)],
                "currency": ["EUR"] * 2,
                "source": ["renewals", "open_invoices"],
                "expected_in": [1862, 6000],
                "gross_amount": [1900, 12000],
                "items": [1, 1],
            }
        ),
        "accuracy": pd.DataFrame(
            columns=[
                "as_of",
                "horizon_days",
                "currency",
                "forecast_as_of",
                "forecast_in",
                "actual_in",
                "error",
                "abs_pct_error",
            ]
        ),
        "exceptions": pd.DataFrame(
            {
                "exception_id": ["e1"],
                "kind": ["duplicate_payment"],
                "provider": ["stripe"],
                "object_ids": ['["<script>alert(1)</script>", "ch_2"]'],
                "amount": [1900],
                "currency": ["EUR"],
                "first_seen_on": [date(2026, 3, 2)],
                "age_days": [29],
                "ageing_bucket": ["8-30"],
                "status": ["open"],
            }
        ),
    }
    values.update(changes)
    return FinanceData(**values)  # type: ignore[arg-type]


def test_every_section_is_there_in_order_with_its_heading() -> None:
    html = render_finance_report(data())
    found = re.findall(r'<section id="([\w-]+)">\s*<h2>([^<]+)</h2>', html)
    assert found == list(SECTIONS)


def test_charts_are_png_data_uris_and_nothing_is_fetched() -> None:
    html = render_finance_report(data())
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert len(sources) >= 6
    for source in sources:
        prefix = "data:image/png;base64,"
        assert source.startswith(prefix)
        assert base64.b64decode(source.removeprefix(prefix)).startswith(PNG)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<script" not in html.replace("&lt;script&gt;", "")  # the only one is escaped text
    assert "<link" not in html


def test_figures_read_in_major_units_and_missing_rates_as_a_dash() -> None:
    html = render_finance_report(data())
    assert "<td>MRR</td><td>58.00</td>" in html  # 19.00 + 39.00
    # nobody paid at the start of January: January's churn is "—", never nan
    assert "<td>2026-01</td><td>19.00</td><td>1</td><td>—</td>" in html
    text = re.sub(r'src="data:[^"]*"', "", html)  # base64 may spell anything
    assert not re.search(r">\s*nan\s*<|NaN", text)
    assert "no forecast from 7 or 30 days ago yet" in html
    assert "<td>120.00</td>" in html  # the open invoice, 1-30 days past due


def test_an_empty_warehouse_still_gives_every_section() -> None:
    full = data()
    empty = data(
        kpis=kpi_daily(inputs(), date(2026, 3, 1), AS_OF, TZ),
        recovery=full.recovery.iloc[0:0],
        forecast=full.forecast.iloc[0:0],
        exceptions=full.exceptions.iloc[0:0],
    )
    html = render_finance_report(empty)
    assert [s for s, _ in re.findall(r'<section id="([\w-]+)">\s*<h2>([^<]+)</h2>', html)] == [
        s for s, _ in SECTIONS
    ]
    assert "0 open in recon_exceptions" in html


@pytest.mark.parametrize("currency", ["EUR", "GBP"])
def test_each_currency_gets_its_own_charts(currency: str) -> None:
    shop = inputs(
        subscriptions=[
            sub("s1", "A", "2026-01-05", 1900),
            sub("s2", "B", "2026-01-05", 2500, currency="GBP"),
        ]
    )
    html = render_finance_report(data(kpis=kpi_daily(shop, date(2026, 1, 1), AS_OF, TZ)))
    assert f'alt="MRR over time, {currency}"' in html
