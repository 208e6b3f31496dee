"""Building blocks of the schema: the shared ``MetaData`` and column factories.

Each factory fixes one house rule so the tables cannot drift from it: money is
``BigInteger`` minor units, currencies are uppercase ISO 4217 (a CHECK, so ``eur``
never sits beside ``EUR``), instants are aware UTC, provider ids are ``String(64)``,
and constraint names come from one naming convention (``ck_payments_status_allowed``)
so later migrations can address them on both databases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Column, MetaData, String

from warehouse.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

PAYMENT_PROVIDERS = ("stripe", "gocardless")
PAYMENT_STATUSES = (
    "pending",
    "succeeded",
    "failed",
    "refunded",
    "partially_refunded",
    "disputed",
    "charged_back",
    "cancelled",
)
INVOICE_STATUSES = ("draft", "open", "paid", "uncollectible", "void")
SHIPMENT_DIRECTIONS = ("outbound", "return")
SYNC_MODES = ("full", "incremental")
RUN_STATUSES = ("running", "completed", "failed", "cancelled", "crashed")

BOOKKEEPING_COLUMNS = ("source_version", "row_hash", "synced_at")


def one_of(column: str, values: tuple[str, ...], name: str | None = None) -> CheckConstraint:
    """A CHECK that ``column`` takes one of ``values`` (NULL passes, as in SQL)."""
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name or f"{column}_allowed")


def currency(nullable: bool = False, name: str = "currency") -> Column[str]:
    """The ISO 4217 code beside an amount; pair it with ``iso_currency()``."""
    return Column(name, String(3), nullable=nullable)


def iso_currency(name: str = "currency") -> CheckConstraint:
    """Uppercase three letters, so ``eur`` from Stripe and ``EUR`` from GoCardless meet."""
    return CheckConstraint(f"length({name}) = 3 AND upper({name}) = {name}", name=f"{name}_iso")


def money(name: str, nullable: bool = True) -> Column[int]:
    """An amount in minor units, 64 bits: 2^31 cents is only 21 million euros."""
    return Column(name, BigInteger, nullable=nullable)


def at(name: str, nullable: bool = True) -> Column[datetime]:
    """An instant, stored and read back as aware UTC on both databases."""
    return Column(name, UTCDateTime(), nullable=nullable)


def ref(name: str, nullable: bool = True) -> Column[str]:
    """A provider object id that is not this table's key (``cus_…``, ``MD01…``)."""
    return Column(name, String(64), nullable=nullable)


def key(name: str, length: int = 64) -> Column[str]:
    """A primary-key column: the provider's own id (or a line's natural key)."""
    return Column(name, String(length), primary_key=True)


def bookkeeping() -> list[Column[Any]]:
    """``source_version``, ``row_hash``, ``synced_at``: what newest-wins upserts need."""
    return [
        Column("source_version", BigInteger, nullable=False),
        Column("row_hash", String(32), nullable=False),
        at("synced_at", nullable=False),
    ]


def provider(values: tuple[str, ...] = PAYMENT_PROVIDERS) -> list[Any]:
    """The ``provider`` column and the CHECK listing who may appear in it."""
    return [Column("provider", String(16), nullable=False), one_of("provider", values)]
