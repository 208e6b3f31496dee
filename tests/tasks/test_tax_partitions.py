"""The tax step over several customer partitions gives exactly the one-pass result.

``compute_tax_returns_by_partition`` reads and turns into VAT lines one slice of
customers at a time; ``read_tax_inputs`` + ``compute_tax_returns`` read every fact at
once. On a shop with what makes the step hard to slice, both must give the same ledger
lines, totals, deadlines, threshold years and problems (in the same order), on SQLite
and PostgreSQL:

- a 2024 sale to a German consumer refunded in 2026 (a refund of a sale years ago, in
  a return that corrects 2024-Q1);
- OSS 2026-Q3 filed, then a refund of one of its sales synced late (a correction);
- sales in pounds (converted at the ECB rate; the open quarter's rate provisional) and
  one in yen (no ECB rate: its lines are left out, a problem);
- a GoCardless payment with no customer id and its refund, invoices, payments and
  refunds of customers the customers table does not hold: rows no partition owns, read
  in every partition; a line or problem of them must come out once;
- a payment with no customer id of a known customer's invoice, refunded: wherever the
  refund is read, it must find its sale (else a problem the one pass does not have);
- customers without a country and an invoice off the rate table, spread over the
  partitions (problems, whose order must survive the slicing).

The comparison is shown to fail when the unowned rows are dropped or kept from every
partition.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, insert

from domain.tax import load_tax_calendar, load_vat_rates
from echeancier.settings import Settings
from tasks import partitions
from tasks.tax import (
    TaxComputation,
    TaxShared,
    compute_tax_returns,
    compute_tax_returns_by_partition,
    read_tax_inputs,
    store_tax_returns,
)
from tests.domain.tax.shop import ShopBuilder
from tests.tasks.tax_warehouse import file_return, load_shop
from warehouse.tax_tables import fx_rates

POLICIES = Path(__file__).resolve().parents[2] / "policies"
AS_OF = date(2026, 10, 21)


def one_pass(settings: Settings, as_of: date) -> TaxComputation:
    rates, calendar = load_vat_rates(POLICIES), load_tax_calendar(POLICIES)
    inputs = read_tax_inputs.fn(settings)
    return compute_tax_returns.fn(inputs, as_of, rates, calendar, "Europe/Paris")


def by_partition(settings: Settings, as_of: date) -> TaxComputation:
    rates, calendar = load_vat_rates(POLICIES), load_tax_calendar(POLICIES)
    return compute_tax_returns_by_partition.fn(settings, as_of, rates, calendar, "Europe/Paris")


def outcome(computed: TaxComputation) -> dict[str, Any]:
    """Everything the night stores, writes or reports of a computation."""
    ledger = computed.ledger
    return {
        "returns": ledger.returns,
        "filed": ledger.filed,
        "provisional": sorted(ledger.provisional_fx, key=lambda k: (k.regime, k.period)),
        "threshold": [asdict(year) for year in computed.threshold],
        "problems": computed.problems,
        "ledger problems": ledger.problems,
    }


def assert_same(got: TaxComputation, want: TaxComputation) -> None:
    for name in ("lines", "totals", "deadlines"):
        pd.testing.assert_frame_equal(getattr(got.ledger, name), getattr(want.ledger, name))
    assert outcome(got) == outcome(want)


def differs(got: TaxComputation, want: TaxComputation) -> bool:
    try:
        assert_same(got, want)
    except AssertionError:
        return True
    return False


def shop() -> ShopBuilder:
    shop = ShopBuilder()
    countries = {"c_de": "DE", "c_it": "IT", "c_be": "BE", "c_fr": "FR", "c_at": "AT"}
    for cid, country in countries.items():
        shop.customer(cid, country)
    shop.customer("c_es", "ES")
    shop.customer("c_nowhere", None)
    shop.customer("c_ghost", "DE")  # on its invoice, but not in the customers table
    shop.customer("c_anon", "FR")  # on its invoice, not in the customers table
    shop.invoice("in_old", "c_de", "2024-03-10", [("DE", "19", 10000, 1900)], payment="ch_old")
    shop.invoice("in_be", "c_be", "2025-06-01", [("BE", "21", 1200000, 252000)])
    shop.invoice("in_q3", "c_it", "2026-08-05", [("IT", "22", 8197, 1803)], payment="ch_q3")
    shop.invoice("in_fr", "c_fr", "2026-09-12", [("FR", "20", 5000, 1000)], payment="ch_fr")
    shop.invoice("in_gbp", "c_at", "2026-09-20", [("AT", "20", 4000, 800)], currency="GBP")
    shop.invoice("in_gbp2", "c_es", "2026-10-05", [("ES", "21", 3000, 630)], currency="GBP")
    shop.invoice("in_jpy", "c_de", "2026-10-06", [("DE", "19", 90000, 17100)], currency="JPY")
    shop.invoice("in_odd", "c_at", "2026-10-07", [("AT", "17", 1000, 170)])  # not an AT rate
    shop.invoice("in_ghost", "c_ghost", "2026-10-08", [("DE", "19", 2000, 380)], payment="ch_gh")
    shop.invoice("in_anon", "c_anon", "2026-10-08", [("FR", "20", 3000, 600)], payment="ch_an")
    shop.invoice("in_it2", "c_it", "2026-10-09", [("IT", "22", 1000, 220)], payment="ch_it2")
    shop.payment("PM_anon", None, "2026-10-09", 4900)  # GoCardless, no customer id
    shop.payment("PM_nowhere", "c_nowhere", "2026-10-10", 1200)
    shop.payment("PM_be", "c_be", "2026-10-11", 4900)
    for row in shop.rows["payments"]:
        if row["customer_id"] == "c_anon" or row["payment_id"] == "ch_it2":
            row["customer_id"] = None
    gone = {"c_ghost", "c_anon"}
    shop.rows["customers"] = [c for c in shop.rows["customers"] if c["customer_id"] not in gone]
    return shop


def load_rates(engine: Engine) -> None:
    rows = [
        {"currency": "GBP", "day": day, "rate": rate, "source": "ECB"}
        for day, rate in [
            (date(2026, 9, 30), "0.87100"),
            (date(2026, 10, 1), "0.87150"),
            (date(2026, 10, 20), "0.87300"),
        ]
    ]
    with engine.begin() as conn:
        conn.execute(insert(fx_rates), rows)


def night(engine: Engine, tmp_path: Path, size: int) -> Settings:
    """The warehouse as of 2026-10-21: a first night on 2026-10-02 stored, OSS 2026-Q3
    filed, then refunds synced late; the settings read it ``size`` customers at a time."""
    url = engine.url.render_as_string(hide_password=False)
    settings = Settings(DATABASE_URL=url, ECHEANCIER_REPORTS=str(tmp_path))  # type: ignore[call-arg]
    built = shop()
    load_shop(engine, built)
    load_rates(engine)
    rates, calendar = load_vat_rates(POLICIES), load_tax_calendar(POLICIES)
    first = compute_tax_returns.fn(
        read_tax_inputs.fn(settings), date(2026, 10, 2), rates, calendar, "Europe/Paris"
    )
    store_tax_returns.fn(settings, first)
    file_return(engine, "OSS", "2026-Q3", date(2026, 10, 15))  # finance files OSS 2026-Q3
    built.refund("re_q3", "ch_q3", "2026-09-25", 5000)  # synced after the filing
    built.refund("re_old", "ch_old", "2026-10-20", 5950)  # of a 2024 sale
    built.refund("re_fr", "ch_fr", "2026-10-12", 1200)
    built.refund("re_anon", "PM_anon", "2026-10-13", 4900)  # of a payment with no customer
    built.refund("re_ghost", "ch_gh", "2026-10-14", 1190)  # of an unknown customer's sale
    built.refund("re_an", "ch_an", "2026-10-14", 1200)  # of a sale with no customer id
    built.refund("re_it2", "ch_it2", "2026-10-14", 610)  # paid with no customer id
    built.refund("re_lost", "ch_nothing", "2026-10-15", 100)  # of no payment at all
    load_shop(engine, built)
    return settings.model_copy(update={"tax_partition_size": size})


def test_several_partitions_give_the_one_pass_result(engine: Engine, tmp_path: Path) -> None:
    settings = night(engine, tmp_path, size=2)
    with partitions.customer_partitions(engine, 2) as parts:
        assert len(parts) == 4  # 7 customers, 2 a partition
    want = one_pass(settings, AS_OF)
    # the shop has what the slicing must survive
    lines = want.ledger.lines
    assert set(lines["corrected_period"].dropna()) == {"2024-Q1", "2026-Q3"}
    assert "GBP" in set(lines["currency"])
    assert want.ledger.provisional_fx
    assert {"c_ghost", "c_anon"} <= set(lines["customer_id"])
    assert {"re_an", "re_ghost", "re_it2"} <= set(lines["source_id"])
    assert {p.object_id for p in want.problems} >= {"in_odd", "PM_anon", "re_anon", "re_lost"}
    assert any(p.reason.startswith("no ECB rate for JPY") for p in want.problems)
    assert sum(p.object_id == "PM_anon" for p in want.problems) == 1

    assert_same(by_partition(settings, AS_OF), want)
    whole = settings.model_copy(update={"tax_partition_size": 1000})
    assert_same(by_partition(whole, AS_OF), want)  # one partition: read as before


def test_the_comparison_fails_if_unowned_rows_are_dropped_or_duplicated(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = night(engine, tmp_path, size=2)
    want = one_pass(settings, AS_OF)
    assert not differs(by_partition(settings, AS_OF), want)

    with monkeypatch.context() as patch:  # unowned rows read in no partition
        patch.setattr(partitions.Partition, "unowned", _none)
        assert differs(by_partition(settings, AS_OF), want)

    every = partitions.Partition.owns
    with monkeypatch.context() as patch:  # unowned lines and problems kept from every partition
        patch.setattr(partitions.Partition, "owns", lambda self, ids: every(_as_first(self), ids))
        patch.setattr(TaxShared, "unowned_ids", lambda self: frozenset())
        assert differs(by_partition(settings, AS_OF), want)


def _as_first(part: partitions.Partition) -> partitions.Partition:
    """The partition as if it were partition 0 (which keeps the unowned rows)."""
    return partitions.Partition(0, part.count, part.conn, part.customers, part.known)


def _none(self: partitions.Partition, table: Any, columns: list[str], **_: Any) -> pd.DataFrame:
    return pd.DataFrame(columns=columns)
