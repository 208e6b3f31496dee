"""What the tax step reads: every fact that can change tonight's returns or threshold.

The open returns on 2026-10-21 are OSS 2026-Q4 and CA3 2026-09/10, yet facts far
outside them still count; this drives ``read_tax_inputs`` and ``compute_tax_returns``
on SQLite and PostgreSQL so that a read narrowed to the open periods would fail here.
Figures worked out by hand (seller in France):

- in_old 2024-03-10, German consumer, DE 19 %: 100.00 / 19.00 (gross 119.00), refunded
  by half (59.50) on 2026-10-20: VAT 1900 × 5950 / 11900 = 950, base 5950 − 950 = 5000;
  OSS 2026-Q4 corrects 2024-Q1 by −50.00 / −9.50 (art. 369g(4)).
- in_q3 2026-08-05, Italian consumer, IT 22 %: 81.97 / 18.03 (gross 100.00); OSS 2026-Q3
  is filed, then a refund of 50.00 dated 2026-09-25 arrives: VAT 1803 × 5000 / 10000 =
  901.5 → 902, base 4098; OSS 2026-Q4 corrects 2026-Q3 by −40.98 / −9.02.
- in_be 2025-06-01, Belgian consumer, BE 21 %: 12 000.00 / 2 520.00: distance sales
  cross the EUR 10 000 threshold that day, so 2026 requires destination VAT whatever
  2026 sells; 2025's previous year (2024) is in_old's 100.00.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from echeancier.settings import Settings
from tasks.tax import compute_tax_returns, read_tax_inputs, store_tax_returns
from tests.domain.tax.shop import ShopBuilder
from tests.tasks.tax_warehouse import file_return, load_shop

POLICIES = Path(__file__).resolve().parents[2] / "policies"


def night(settings: Settings, as_of: date, *, store: bool = False):  # type: ignore[no-untyped-def]
    from domain.tax import load_tax_calendar, load_vat_rates

    rates, calendar = load_vat_rates(POLICIES), load_tax_calendar(POLICIES)
    inputs = read_tax_inputs.fn(settings)
    computed = compute_tax_returns.fn(inputs, as_of, rates, calendar, "Europe/Paris")
    if store:
        store_tax_returns.fn(settings, computed)
    return computed


def test_facts_far_from_the_open_returns_still_count(engine: Engine, tmp_path: Path) -> None:
    url = engine.url.render_as_string(hide_password=False)
    settings = Settings(DATABASE_URL=url, ECHEANCIER_REPORTS=str(tmp_path))  # type: ignore[call-arg]
    shop = ShopBuilder()
    for cid, country in [("c_de", "DE"), ("c_it", "IT"), ("c_be", "BE")]:
        shop.customer(cid, country)
    shop.invoice("in_old", "c_de", "2024-03-10", [("DE", "19", 10000, 1900)], payment="ch_old")
    shop.invoice("in_be", "c_be", "2025-06-01", [("BE", "21", 1200000, 252000)])
    shop.invoice("in_q3", "c_it", "2026-08-05", [("IT", "22", 8197, 1803)], payment="ch_q3")
    load_shop(engine, shop)
    night(settings, date(2026, 10, 2), store=True)
    file_return(engine, "OSS", "2026-Q3", date(2026, 10, 15))  # finance files OSS 2026-Q3
    shop.refund("re_q3", "ch_q3", "2026-09-25", 5000)  # synced after the filing
    shop.refund("re_old", "ch_old", "2026-10-20", 5950)
    load_shop(engine, shop)

    computed = night(settings, date(2026, 10, 21))

    q4 = computed.ledger.totals
    q4 = q4[(q4["regime"] == "OSS") & (q4["period"] == "2026-Q4")]
    assert sorted(
        (r.section, r.country, str(r.rate), r.corrected_period, r.taxable_base, r.corrections)
        for r in q4.itertuples()
    ) == [
        ("correction", "DE", "19.0000", "2024-Q1", -5000, -950),
        ("correction", "IT", "22.0000", "2026-Q3", -4098, -902),
    ]
    years = {t.year: t for t in computed.threshold}
    assert (years[2025].distance_sales, years[2025].crossed_on) == (1200000, date(2025, 6, 1))
    assert years[2025].previous_year_sales == 10000  # 2024, a year no return holds
    assert years[2026].distance_sales == 8197 - 4098 - 5000
    assert years[2026].destination_vat_required  # because 2025 was over
    assert computed.problems == []
