"""Erase one customer's personal data from the warehouse, in one transaction.

The rules (what is replaced, what is kept and why) are ``domain/erasure.py``'s; this task
finds the rows: every table with a ``customer_id`` column (so tables added later are
covered), the raw provider payloads and quarantined records that mention the customer's
id or e-mail, and the pending notices to cancel. Erased fact rows and raw payloads get
``source_version = ERASED_VERSION`` so that a later sync cannot bring the data back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Connection, String, Table, Text, and_, or_, select, update

from domain import erasure
from echeancier.settings import Settings
from tasks.sync_common import engine_for
from warehouse import tables
from warehouse.outbox import cancel_pending

# Links that open the customer's documents: dropped wherever they are.
DROPPED = {"hosted_invoice_url"}
PAYLOAD_TABLES = ("raw_objects", "quarantine")


class UnknownCustomer(LookupError):
    """The id names no customer in the warehouse (nothing was changed)."""


def _scrubbable(values: list[str]) -> list[str]:
    """Values safe to replace inside free text: with a letter, four characters or more
    (a postal code "1000" must not turn amounts into pseudonyms)."""
    return [v for v in values if len(v) >= 4 and any(c.isalpha() for c in v)]


def _text_columns(table: Table) -> list[str]:
    keys = {c.name for c in table.primary_key}
    return [
        c.name
        for c in table.columns
        if isinstance(c.type, (String, Text))
        and c.name not in keys
        and c.name != "customer_id"
        and not c.name.endswith("_id")
        and c.name != "row_hash"
    ]


def _payload_rows(conn: Connection, name: str, needles: list[str]) -> list[Mapping[str, Any]]:
    table = tables.metadata.tables[name]
    hits = or_(*(table.c.payload.like(f"%{n}%") for n in needles))
    rows = conn.execute(select(table).where(hits)).mappings().all()
    return [r for r in rows if r["payload"] and any(n in r["payload"] for n in needles)]


def _key(table: Table, row: Mapping[str, Any]) -> Any:
    return and_(*(c == row[c.name] for c in table.primary_key))


@task(name="erase_customer_data", cache_policy=NO_CACHE)
def erase_customer_data(
    settings: Settings, customer_id: str, now: datetime, dry_run: bool
) -> tuple[dict[str, int], int]:
    """Pseudonymise ``customer_id`` everywhere; returns (rows changed per table, pending
    notices cancelled). A dry run counts and changes nothing."""
    with engine_for(settings.database_url).begin() as conn:
        customers = tables.customers
        row = (
            conn.execute(select(customers).where(customers.c.customer_id == customer_id))
            .mappings()
            .one_or_none()
        )
        if row is None:
            raise UnknownCustomer(f"no customer {customer_id!r} in the warehouse")
        email = row["email"] if not erasure.is_erased_email(row["email"]) else None
        needles = [customer_id, *([email] if email else [])]
        payloads = {name: _payload_rows(conn, name, needles) for name in PAYLOAD_TABLES}
        own = [
            json.loads(r["payload"])
            for r in payloads["raw_objects"]
            if r["object_id"] == customer_id
        ]
        values = erasure.personal_values({"email": row["email"], "name": row["name"]}, *own)
        values = [v for v in values if not v.startswith(erasure.pseudonym(customer_id))]
        scrub = _scrubbable(values)
        changed: dict[str, int] = {}

        def write(table: Table, current: Mapping[str, Any], new: dict[str, Any]) -> None:
            new = {k: v for k, v in new.items() if current[k] != v}
            if not new:
                return
            changed[table.name] = changed.get(table.name, 0) + 1
            if "source_version" in table.c:
                new["source_version"] = erasure.ERASED_VERSION
            if not dry_run:
                conn.execute(update(table).where(_key(table, current)).values(**new))

        write(
            customers,
            row,
            {
                "email": erasure.erased_email(customer_id),
                "name": erasure.pseudonym(customer_id),
                "postal_code": None,
            },
        )
        for table in tables.metadata.sorted_tables:
            if "customer_id" not in table.c or table is customers:
                continue
            columns = _text_columns(table)
            for current in conn.execute(
                select(table).where(table.c.customer_id == customer_id)
            ).mappings():
                new = {
                    c: None
                    if c in DROPPED
                    else erasure.redact_json_text(current[c], scrub, customer_id)
                    for c in columns
                }
                write(table, current, new)
        for name, rows in payloads.items():
            table = tables.metadata.tables[name]
            for current in rows:
                redacted = erasure.redact_json_text(current["payload"], scrub, customer_id)
                write(table, current, {"payload": redacted})
        cancelled = 0
        if not dry_run:
            cancelled = cancel_pending(
                conn, reason="customer erased (GDPR)", now=now, customer_ids=[customer_id]
            )
    return changed, cancelled
