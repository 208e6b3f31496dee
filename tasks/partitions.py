"""Customer partitions: read a big shop's per-customer tables one slice of persons at a time.

Why: the dunning decisions, the recovery analytics and the VAT lines look at one
person's invoices, payments, refunds and ledger at a time (what a customer owes, or the
VAT of their sale, never depends on another person's rows), yet one frame of every
invoice, payment and ledger row took ~8 GB on the large shop (200,000 customers, 1.4 M
payments). Reading and computing one partition at a time bounds the memory by the
partition, not by the shop; the work is the same, plus one scan of each table per
partition.

A partition is a set of **persons** (the lower-cased e-mail, else the customer id, as
``domain.dunning.items.persons`` defines them), so that one person's Stripe and
GoCardless customers, whose payments settle each other's items, are always read
together. Partition of a person: a stable hash of it, modulo the number of partitions
(``ceil(customers / size)``; a shop up to ``size`` customers is one partition, read
exactly as before).

Tables without a customer id follow their parent row (:data:`THROUGH`): an invoice link
or an invoice's tax line its invoice, a refund its payment.

Rows no partition owns (no customer id, or one the customers table does not hold; a row
of a :data:`THROUGH` table whose parent is unknown or unowned) are read once and added
to *every* partition: a payment without a customer may still pay an invoice of any
partition, and leaving it out there would remind a customer who has paid. What is
decided about such rows is the same in every partition; callers keep it from partition
0 only (:meth:`Partition.owns`).

Example: 45,000 customers, size 20,000 → 3 partitions; ``alice@example.com``'s Stripe
customer ``cus_1`` and GoCardless customer ``CU1`` both land in partition
``hash("alice@example.com") % 3``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    exists,
    insert,
    select,
)

from domain.dunning.inputs import DunningInputs
from domain.dunning.items import persons
from warehouse import tables
from warehouse.frames import frame, typed_frame

_BATCH = 10_000

#: Tables without a customer id → (the parent table whose customer owns a row, the key
#: that links them): a row is in its parent's partition.
THROUGH: dict[str, tuple[str, str]] = {
    "invoice_payments": ("invoices", "invoice_id"),
    "invoice_tax_lines": ("invoices", "invoice_id"),
    "refunds": ("payments", "payment_id"),
}

_scratch = MetaData()
#: customer id → partition, for the length of one reading connection (a temporary table).
PARTS = Table(
    "echeancier_customer_part",
    _scratch,
    Column("customer_id", String(255), primary_key=True),
    Column("part", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)


def assign(customers: pd.DataFrame, count: int) -> pd.Series:
    """customer id → partition number (0 … count-1), by a stable hash of the person.

    ``customers`` has ``customer_id`` and ``email``. The hash is pandas' own (SipHash
    with a fixed key): the same person gets the same partition in every process."""
    who = persons(DunningInputs.empty(customers=customers))
    if who.empty:
        return pd.Series([], dtype="int64", index=pd.Index([], dtype="string"))
    hashed = pd.util.hash_pandas_object(who["person"].fillna(""), index=False)
    parts = (hashed % max(count, 1)).astype("int64").to_numpy()
    return pd.Series(parts, index=pd.Index(who["customer_id"]), name="part")


def count_for(customers: int, size: int) -> int:
    """How many partitions ``customers`` customers take at ``size`` customers each."""
    return max(1, math.ceil(customers / max(size, 1)))


@dataclass(frozen=True)
class Partition:
    """One slice of persons on an open reading connection (see the module docstring)."""

    number: int
    count: int
    conn: Connection
    customers: frozenset[str]
    known: frozenset[str]

    def owns(self, customer_ids: pd.Series) -> pd.Series:
        """Which of these rows' customers this partition answers for: its own customers,
        and in partition 0 those no partition owns (unknown or missing)."""
        ids = customer_ids.astype("string")
        mine = ids.isin(self.customers).fillna(False).astype(bool)
        if self.number == 0:
            unowned = ~ids.isin(self.known).fillna(False).astype(bool) | ids.isna()
            mine |= unowned.astype(bool)
        return mine

    def rows(
        self, table: Table, columns: list[str], *where: Any, processed: bool = False
    ) -> pd.DataFrame:
        """``columns`` of ``table``'s rows of this partition (a per-customer table, or a
        :data:`THROUGH` table through its parent) that match ``where``, without the
        unowned rows. ``processed``: values as SQLAlchemy's types give them (``Decimal``
        NUMERICs on SQLite too), not the driver's (warehouse/frames.py)."""
        mine = () if self.count == 1 else (_of_part(table, self.number),)
        return _read(self.conn, table, columns, *mine, *where, processed=processed)

    def unowned(
        self, table: Table, columns: list[str], *where: Any, processed: bool = False
    ) -> pd.DataFrame:
        """``table``'s rows no partition owns that match ``where`` (none with one
        partition: then every row is the partition's own)."""
        if self.count == 1:
            return pd.DataFrame(columns=columns)
        return _read(self.conn, table, columns, _unowned(table), *where, processed=processed)


def _read(
    conn: Connection, table: Table, columns: list[str], *where: Any, processed: bool = False
) -> pd.DataFrame:
    query = select(*(table.c[c] for c in columns)).where(*where)
    return typed_frame(conn, query) if processed else frame(conn, query)


def _of_part(table: Table, number: int) -> Any:
    """``customer_id IN (this partition's customers)``; a :data:`THROUGH` table through
    its parent. A semi-join each, never ORed (docs/benchmarks.md: PostgreSQL cannot make
    a join of an OR)."""
    mine = select(PARTS.c.customer_id).where(PARTS.c.part == number)
    if table.name in THROUGH:
        parent, key = _parent(table)
        owned = select(parent.c[key]).where(parent.c.customer_id.in_(mine))
        return table.c[key].in_(owned)
    return table.c.customer_id.in_(mine)


def _unowned(table: Table) -> Any:
    """No customer id, or one the partitions do not hold (for a :data:`THROUGH` table:
    no parent, or a parent no partition owns): one anti-join (``NOT EXISTS`` is true of
    a NULL too). ``NOT IN`` a million ids, or an OR, would make PostgreSQL probe a
    subplan per row."""
    if table.name in THROUGH:
        parent, key = _parent(table)
        owned = (
            select(1)
            .select_from(parent.join(PARTS, PARTS.c.customer_id == parent.c.customer_id))
            .where(parent.c[key] == table.c[key])
        )
        return ~exists(owned)
    return ~exists(select(1).where(PARTS.c.customer_id == table.c.customer_id))


def _parent(table: Table) -> tuple[Table, str]:
    name, key = THROUGH[table.name]
    return tables.metadata.tables[name], key


@contextmanager
def customer_partitions(engine: Engine, size: int) -> Iterator[list[Partition]]:
    """The partitions of the shop's customers, on one connection that holds the
    temporary table of customer → partition (dropped on the way out)."""
    with engine.connect() as conn:
        customers = _read(conn, tables.customers, ["customer_id", "email"])
        count = count_for(len(customers), size)
        parts = assign(customers, count)
        known = frozenset(parts.index.dropna())
        if count > 1:
            _fill(conn, parts)
        try:
            yield [
                Partition(
                    number,
                    count,
                    conn,
                    frozenset(parts.index[parts.to_numpy() == number].dropna()),
                    known,
                )
                for number in range(count)
            ]
        finally:
            if count > 1:
                PARTS.drop(conn, checkfirst=True)
            conn.rollback()


def _fill(conn: Connection, parts: pd.Series) -> None:
    PARTS.drop(conn, checkfirst=True)
    PARTS.create(conn)
    rows = [
        {"customer_id": customer, "part": int(part)}
        for customer, part in zip(parts.index, parts.to_numpy(), strict=True)
        if customer is not None and not pd.isna(customer)
    ]
    for start in range(0, len(rows), _BATCH):
        conn.execute(insert(PARTS), rows[start : start + _BATCH])
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {PARTS.name}")
