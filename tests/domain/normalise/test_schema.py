"""The normalisers' columns are the warehouse tables' columns: the contract cannot drift."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.normalise import aftership, gocardless, gocardless_money
from domain.normalise import stripe_customers as sc
from domain.normalise import stripe_invoices as si
from domain.normalise import stripe_payments as sp
from domain.normalise import stripe_payouts as spo
from domain.normalise.core import frame
from domain.normalise.schema import WAREHOUSE_SPECS, Spec
from tests.domain.normalise import wire
from warehouse import tables
from warehouse.rows import prepare

LOADER_COLUMNS = {"row_hash", "synced_at"}


@pytest.mark.parametrize("spec", WAREHOUSE_SPECS, ids=lambda s: s.table)
def test_spec_has_exactly_the_table_columns(spec: Spec) -> None:
    table = tables.metadata.tables[spec.table]
    expected = [c.name for c in table.columns if c.name not in LOADER_COLUMNS]
    assert list(spec.names) == expected


@pytest.mark.parametrize("spec", WAREHOUSE_SPECS, ids=lambda s: s.table)
def test_an_empty_batch_still_has_the_columns_and_dtypes(spec: Spec) -> None:
    empty = frame(spec, [])
    assert list(empty.columns) == list(spec.names)
    for name, kind in spec.columns:
        if kind == "money":
            assert str(empty[name].dtype) == "Int64", name
        if kind == "time":
            assert str(empty[name].dtype) == "datetime64[us, UTC]", name


def test_the_loader_accepts_every_normaliser_output() -> None:
    """Canonicalising for the warehouse (NOT NULLs, types) succeeds on realistic rows."""
    rates = {"txr_de_reverse": wire.tax_rate("txr_de_reverse", "DE", 0)}
    dispute = {
        "id": "du_1",
        "amount": 1,
        "charge": "ch_1",
        "created": wire.T0,
        "currency": "eur",
        "status": "lost",
    }
    payout = {
        "id": "po_1",
        "amount": 1,
        "created": wire.T0,
        "currency": "eur",
        "status": "paid",
        "arrival_date": wire.T0,
    }
    batches = {
        "customers": sc.normalise_customers([wire.stripe_customer()], 1),
        "subscriptions": gocardless.normalise_subscriptions(
            [wire.gc_subscription()], 1, mandates={"MD123": wire.gc_mandate()}
        ),
        "invoices": si.normalise_invoices([wire.stripe_invoice()], 1),
        "invoice_tax_lines": si.normalise_invoice_tax_lines(
            [wire.stripe_invoice()], 1, tax_rates=rates
        ),
        "payments": gocardless_money.normalise_payments([wire.gc_payment()], 1),
        "refunds": gocardless_money.normalise_refunds(
            [
                {
                    "id": "RF1",
                    "amount": 1,
                    "currency": "EUR",
                    "status": "paid",
                    "created_at": "2026-06-01T10:00:00Z",
                    "links": {"payment": "PM1"},
                }
            ],
            1,
        ),
        "disputes": sp.normalise_disputes([dispute], 1),
        "payouts": spo.normalise_payouts([payout], 1),
        "payout_lines": spo.normalise_payout_lines({"po_1": [wire.balance_transaction()]}, 1),
        "shipments": aftership.normalise_shipments([wire.tracking()], 1),
    }
    for name, batch in batches.items():
        assert batch.problems.empty, name
        prepared = prepare(
            tables.metadata.tables[name], batch.rows, synced_at=datetime(2026, 7, 1, tzinfo=UTC)
        )
        assert len(prepared.rows) == 1, name
    stripe_payment = sp.normalise_charges([wire.charge()], 1).rows
    assert (
        len(
            prepare(
                tables.payments, stripe_payment, synced_at=datetime(2026, 7, 1, tzinfo=UTC)
            ).rows
        )
        == 1
    )
