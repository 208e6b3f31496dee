"""The analytics tables name customers by a keyed hash beside the id, and no table but
``customers`` has a column for an e-mail address."""

from __future__ import annotations

from tasks.retention import KEYED_TABLES
from warehouse.tables import metadata

# Tables analysts read that name a customer; they must carry ``customer_key``.
ANALYTICS_WITH_CUSTOMERS = {"dunning_actions", "notice_exceptions", "vat_lines"}


def test_every_analytics_table_naming_a_customer_carries_the_key() -> None:
    assert {t.name for t in KEYED_TABLES} == ANALYTICS_WITH_CUSTOMERS
    for name in ANALYTICS_WITH_CUSTOMERS:
        columns = metadata.tables[name].columns
        assert "customer_id" in columns
        assert "customer_key" in columns


def test_no_table_but_customers_has_an_email_column() -> None:
    holding = sorted(
        f"{table.name}.{column.name}"
        for table in metadata.tables.values()
        for column in table.columns
        if "email" in column.name or "mail" in column.name
    )
    assert holding == ["customers.email"]
