"""A tax test shop written to a warehouse as the sync stores it, and finance filing a return:
shared by the tax task and flow tests."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, update

from tests.domain.tax.shop import ShopBuilder
from warehouse import tables
from warehouse.tax_tables import tax_deadlines
from warehouse.upsert import upsert


def load_shop(engine: Engine, shop: ShopBuilder, version: int = 1) -> None:
    """The shop's rows as the sync stores them (the columns the schema requires)."""
    extra = {
        "customers": {"provider": "stripe"},
        "invoices": {"amount_paid": 0, "amount_remaining": 0},
        "invoice_tax_lines": {"provider": "stripe"},
        "payments": {"provider_status": "paid"},
        "refunds": {},
    }
    with engine.begin() as conn:
        for name, add in extra.items():
            rows = [{**row, **add, "source_version": version} for row in shop.rows[name]]
            if rows:
                upsert(conn, tables.metadata.tables[name], rows)


def file_return(engine: Engine, regime: str, period: str, filed_on: date) -> None:
    """Finance records ``regime`` ``period`` as filed (as ``echeancier tax filed`` does)."""
    with engine.begin() as conn:
        conn.execute(
            update(tax_deadlines)
            .where(tax_deadlines.c.regime == regime, tax_deadlines.c.period == period)
            .values(status="filed", filed_on=filed_on)
        )
