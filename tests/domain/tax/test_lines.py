"""VAT lines from invoices, payments with no breakdown and refunds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from domain.tax.lines import COLUMNS, LINE_COLUMNS, Facts, Problem, supply_lines
from domain.tax.policy import VatRates
from tests.domain.tax import lines_oracle as oracle
from tests.domain.tax import random_shop, scenario
from tests.domain.tax.shop import DE_VAT, FR_VAT, ShopBuilder


def lines_of(shop: ShopBuilder, rates: VatRates) -> tuple[pd.DataFrame, list[Problem]]:
    return supply_lines(shop.facts(), rates, seller_country="FR", timezone="Europe/Paris")


def view(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    columns = ["line_key", "treatment", "country", "rate", "taxable_base", "vat"]
    return [tuple(r) for r in frame[columns].itertuples(index=False, name=None)]


def test_every_sale_and_refund_of_the_shop_is_a_line(rates: VatRates) -> None:
    frame, problems = lines_of(scenario.shop(), rates)

    assert problems == []
    assert view(frame[frame["source"] == "refund"]) == [
        ("refund:re_de2:txr_DE_19_0", "oss", "DE", Decimal("19"), -10000, -1900),
        ("refund:re_it1:txr_IT_22_0", "oss", "IT", Decimal("22"), -4098, -902),
    ]
    refund = frame[frame["source_id"] == "re_de2"].iloc[0]
    assert (str(refund["tax_point_on"]), str(refund["supply_on"])) == ("2026-07-05", "2026-06-10")
    assert view(frame[frame["source"] == "payment"]) == [
        ("payment:pm_be1", "oss", "BE", Decimal("21"), 4050, 850)
    ]
    treatments = dict(zip(frame["source_id"], frame["treatment"], strict=False))
    assert treatments["in_deb"] == "reverse_charge"
    assert treatments["in_frb"] == "domestic"


def test_a_payment_with_no_breakdown_is_taxed_where_the_customer_is(rates: VatRates) -> None:
    shop = ShopBuilder()
    shop.customer("c_fr_b2b", "FR", vat_id=FR_VAT, business=True)
    shop.customer("c_de_b2b", "DE", vat_id=DE_VAT, business=True)
    shop.customer("c_de_bad", "DE", vat_id="DE123456789", business=True)  # bad checksum
    shop.customer("c_ch", "CH")
    shop.payment("pm_1", "c_fr_b2b", "2026-03-02", 12000)
    shop.payment("pm_2", "c_de_b2b", "2026-03-02", 12000)
    shop.payment("pm_3", "c_de_bad", "2026-03-02", 11900)
    shop.payment("pm_4", "c_ch", "2026-03-02", 5000)
    shop.payment("pm_5", "c_ch", "2026-03-02", 5000, status="failed")

    frame, problems = lines_of(shop, rates)

    assert problems == []
    assert view(frame) == [
        ("payment:pm_1", "domestic", "FR", Decimal("20"), 10000, 2000),  # French B2B pays VAT
        ("payment:pm_2", "reverse_charge", "DE", Decimal("0"), 12000, 0),
        ("payment:pm_3", "oss", "DE", Decimal("19"), 10000, 1900),  # invalid id: as a consumer
        ("payment:pm_4", "outside_eu", "CH", Decimal("0"), 5000, 0),
    ]
    assert list(frame["rate_source"]) == ["policy"] * 4


def test_a_refund_of_a_two_rate_invoice_is_shared_line_by_line(rates: VatRates) -> None:
    shop = ShopBuilder()
    shop.customer("c_fr", "FR")
    # 60.00 + 12.00 at 20 % and 20.00 + 1.10 at 5.5 %: total 93.10, refunded 31.03 (a third)
    shop.invoice(
        "in_1",
        "c_fr",
        "2026-03-02",
        [("FR", "20", 6000, 1200), ("FR", "5.5", 2000, 110)],
        payment="ch_1",
    )
    shop.refund("re_1", "ch_1", "2026-04-02", 3103)

    frame, _ = lines_of(shop, rates)

    refund = frame[frame["source"] == "refund"]
    # 20 %: gross 7200 × 3103/9310 = 2399.74 -> 2400, VAT 1200 × 3103/9310 = 399.96 -> 400
    # 5.5 %: the rest of the gross, 3103 - 2400 = 703; VAT 110 × 3103/9310 = 36.66 -> 37
    assert view(refund) == [
        ("refund:re_1:txr_FR_20_0", "domestic", "FR", Decimal("20"), -2000, -400),
        ("refund:re_1:txr_FR_5.5_1", "domestic", "FR", Decimal("5.5"), -666, -37),
    ]
    assert int((refund["taxable_base"] + refund["vat"]).sum()) == -3103


def test_what_cannot_be_placed_is_a_problem_with_its_id(rates: VatRates) -> None:
    shop = ShopBuilder()
    shop.customer("c_none", None)
    shop.customer("c_it", "IT")
    shop.customer("c_fr", "FR")
    shop.payment("pm_nowhere", "c_none", "2026-03-02", 1000)
    shop.refund("re_orphan", "pm_unknown", "2026-03-03", 500)
    shop.payment("pm_it", "c_it", "2026-03-02", 1000)
    shop.invoice("in_rc", "c_fr", "2026-03-02", [("FR", "0", 1000, 0)], reverse=True)
    shop.invoice("in_odd", "c_it", "2026-03-02", [("IT", "21", 1000, 210)])

    frame, problems = lines_of(shop, rates)

    assert sorted(problems, key=lambda p: p.object_id) == [
        Problem("in_odd", "rate 21 % is not a IT rate on 2026-03-02 in vat_rates.yaml"),
        Problem("in_rc", "reverse charge without a valid VAT id of another member state"),
        Problem("pm_nowhere", "customer has no country: VAT not derived"),
        Problem("re_orphan", "refund of a payment that is not in the warehouse"),
    ]
    assert "pm_nowhere" not in set(frame["source_id"])
    assert "pm_it" in set(frame["source_id"])


def test_drafts_voids_failed_payments_and_failed_refunds_are_not_sales(rates: VatRates) -> None:
    shop = ShopBuilder()
    shop.customer("c_fr", "FR")
    shop.invoice("in_draft", "c_fr", "2026-03-02", [("FR", "20", 1000, 200)], status="draft")
    shop.invoice("in_void", "c_fr", "2026-03-02", [("FR", "20", 1000, 200)], status="void")
    shop.payment("pm_failed", "c_fr", "2026-03-02", 1200, status="failed")
    shop.payment("pm_ok", "c_fr", "2026-03-02", 1200)
    shop.refund("re_failed", "pm_ok", "2026-03-05", 1200)
    shop.rows["refunds"][0]["status"] = "failed"

    frame, problems = lines_of(shop, rates)

    assert list(frame["source_id"]) == ["pm_ok"]
    assert problems == []


# -- column-wise = per-row ---------------------------------------------------------------


def _as_sqlite(facts: Facts) -> Facts:
    """The same facts as SQLite hands them over: instants as naive UTC ISO text."""

    def text(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        for column in out.columns:
            if isinstance(out[column].dtype, pd.DatetimeTZDtype):
                out[column] = [
                    None if pd.isna(v) else v.tz_convert(None).isoformat(sep=" ")
                    for v in out[column]
                ]
        return out

    return Facts(**{name: text(getattr(facts, name)) for name in COLUMNS})


def _same(facts: Facts, rates: VatRates) -> int:
    want, want_problems = oracle.supply_lines(
        facts, rates, seller_country="FR", timezone="Europe/Paris"
    )
    got, got_problems = supply_lines(facts, rates, seller_country="FR", timezone="Europe/Paris")
    assert got_problems == want_problems
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    for column in want.columns:  # Decimal('19') vs Decimal('19.0000') shows in the files
        assert [repr(v) for v in got[column]] == [repr(v) for v in want[column]], column
    return len(want)


@pytest.mark.parametrize("seed", range(6))
def test_the_column_wise_lines_are_the_per_row_lines(rates: VatRates, seed: int) -> None:
    facts = random_shop.facts(seed)

    assert _same(facts, rates) > 300
    _same(_as_sqlite(facts), rates)


def test_no_facts_no_lines(rates: VatRates) -> None:
    frame, problems = supply_lines(
        Facts.empty(), rates, seller_country="FR", timezone="Europe/Paris"
    )

    assert (list(frame.columns), len(frame), problems) == (list(LINE_COLUMNS), 0, [])
    _same(Facts.empty(), rates)
    _same(scenario.facts(), rates)
