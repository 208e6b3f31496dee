"""Apply the retention policy to the warehouse: one task per record, each idempotent.

What each record's fate is, and why, is ``domain/retention.py``'s; these tasks find the
rows older than their cut-off and write the result page by page (a page of
:data:`PAGE` rows per transaction: an interrupted run keeps what it did, and the next run
finds only what is left). A dry run counts the rows that would change and writes none.
A pseudonymised row gets ``updated_at`` = now where the table has it (the outbox), so the
next night does not read it again.

Nothing here touches ``source_version`` or ``row_hash``: a newer state of the same object
from the provider replaces the pseudonymised copy (the provider still has the data, and
the object is current again); an unchanged one is not rewritten (same hash).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Table,
    and_,
    delete,
    func,
    select,
    tuple_,
)
from sqlalchemy import update as sql_update

from domain import erasure
from domain.pseudonym import customer_key
from domain.retention import (
    CLOSED_NOTIFICATIONS,
    Cutoff,
    RetentionPolicy,
    inactive_customers,
    load_policy,
    payload_owner,
    pseudonymised,
)
from echeancier.settings import Settings
from tasks.sync_common import engine_for
from warehouse import tables
from warehouse.notice_tables import notice_exceptions
from warehouse.outbox_tables import dunning_actions, notifications
from warehouse.tax_tables import vat_lines

PAGE = 1000
# The analytics tables that name a customer: each carries ``customer_key`` beside the id.
KEYED_TABLES: tuple[Table, ...] = (dunning_actions, notice_exceptions, vat_lines)


def _pages(
    engine: Engine, table: Table, where: ColumnElement[bool], columns: Sequence[str]
) -> Iterator[list[Row[Any]]]:
    """Rows of ``table`` matching ``where``, by primary key, :data:`PAGE` at a time (each
    page read in its own short connection: the caller may write between pages)."""
    keys = list(table.primary_key)
    query = select(*keys, *(table.c[c] for c in columns)).where(where).order_by(*keys)
    last: tuple[Any, ...] | None = None
    while True:
        page_query = query if last is None else query.where(tuple_(*keys) > tuple_(*last))
        with engine.connect() as conn:
            rows = list(conn.execute(page_query.limit(PAGE)))
        if not rows:
            return
        yield rows
        last = tuple(rows[-1][: len(keys)])


def _key(table: Table, row: Row[Any]) -> ColumnElement[bool]:
    return and_(*(c == row[i] for i, c in enumerate(table.primary_key)))


def _rewrite(
    engine: Engine,
    table: Table,
    where: ColumnElement[bool],
    column: str,
    owner: Callable[[Any], str],
    *,
    dry_run: bool,
    also: Sequence[str] = (),
    extra: dict[str, Any] | None = None,
) -> int:
    """Pseudonymise ``column`` (JSON text) of the rows matching ``where``; rows changed.
    ``owner`` names the customer of a row (its mapping, with the key, ``column`` and
    ``also``)."""
    changed = 0
    for rows in _pages(engine, table, where, [column, *also]):
        updates = []
        for row in rows:
            current = row._mapping[column]
            new = pseudonymised(current, owner(row._mapping))
            if new != current:
                updates.append((row, new))
        changed += len(updates)
        if dry_run or not updates:
            continue
        with engine.begin() as conn:
            for row, new in updates:
                conn.execute(
                    sql_update(table).where(_key(table, row)).values({column: new, **(extra or {})})
                )
    return changed


def _owner_of_payload(row: Mapping[str, Any]) -> str:
    try:
        payload = json.loads(row["payload"])
    except (TypeError, ValueError):
        payload = None
    return payload_owner(payload, str(row["object_id"]))


@task(name="read_retention_policy", cache_policy=NO_CACHE)
def read_retention_policy(settings: Settings) -> RetentionPolicy:
    """``policies/retention.yaml`` (defaults when absent); a mistake names its line."""
    return load_policy(settings.policies)


@task(name="pseudonymise_raw_payloads", cache_policy=NO_CACHE)
def pseudonymise_raw_payloads(settings: Settings, cutoff: Cutoff, dry_run: bool) -> int:
    """Raw provider JSON not changed since the cut-off loses its personal keys."""
    raw = tables.raw_objects
    return _rewrite(
        engine_for(settings.database_url),
        raw,
        raw.c.synced_at < cutoff.at,
        "payload",
        _owner_of_payload,
        dry_run=dry_run,
    )


@task(name="pseudonymise_old_notifications", cache_policy=NO_CACHE)
def pseudonymise_old_notifications(
    settings: Settings, cutoff: Cutoff, now: datetime, dry_run: bool
) -> int:
    """Notices no longer waiting, untouched since the cut-off: their context is history."""
    n = notifications
    where = and_(n.c.status.in_(CLOSED_NOTIFICATIONS), n.c.updated_at < cutoff.at)
    return _rewrite(
        engine_for(settings.database_url),
        n,
        where,
        "context",
        lambda row: row["customer_id"] or "finance",
        dry_run=dry_run,
        also=("customer_id",),
        extra={"updated_at": now},
    )


@task(name="expire_quarantine", cache_policy=NO_CACHE)
def expire_quarantine(settings: Settings, cutoff: Cutoff, dry_run: bool) -> dict[str, int]:
    """Resolved rows past the cut-off are deleted; open ones keep their reason and ids,
    their payload pseudonymised (they still stop dunning from acting on the object)."""
    q = tables.quarantine
    engine = engine_for(settings.database_url)
    resolved = and_(q.c.resolved_at.is_not(None), q.c.resolved_at < cutoff.at)
    deleted = _delete(engine, q, resolved, dry_run=dry_run)
    open_old = and_(q.c.resolved_at.is_(None), q.c.last_seen_at < cutoff.at)
    rewritten = _rewrite(engine, q, open_old, "payload", _owner_of_payload, dry_run=dry_run)
    return {"quarantine:deleted": deleted, "quarantine:pseudonymised": rewritten}


@task(name="delete_old_runs", cache_policy=NO_CACHE)
def delete_old_runs(settings: Settings, cutoff: Cutoff, dry_run: bool) -> int:
    """Finished runs started before the cut-off (a run still going is never deleted)."""
    runs = tables.pipeline_runs
    where = and_(runs.c.finished_at.is_not(None), runs.c.started_at < cutoff.at)
    return _delete(engine_for(settings.database_url), runs, where, dry_run=dry_run)


@task(name="pseudonymise_inactive_customers", cache_policy=NO_CACHE)
def pseudonymise_inactive_customers(settings: Settings, cutoff: Cutoff, dry_run: bool) -> int:
    """Customers inactive since the cut-off, owing nothing: name, e-mail, postal code."""
    c = tables.customers
    engine = engine_for(settings.database_url)
    with engine.connect() as conn:
        frames = {
            "customers": _frame(conn, c, ("customer_id", "email", "created_at")),
            "invoices": _frame(
                conn,
                tables.invoices,
                ("customer_id", "status", "amount_remaining", "created_at", "paid_at"),
            ),
            "payments": _frame(conn, tables.payments, ("customer_id", "created_at")),
            "subscriptions": _frame(
                conn,
                tables.subscriptions,
                ("customer_id", "status", "ended_at", "canceled_at", "current_period_end"),
            ),
        }
    ids = inactive_customers(**frames, cutoff=cutoff.at)
    if not dry_run:
        with engine.begin() as conn:
            for customer_id in ids:
                conn.execute(
                    sql_update(c)
                    .where(c.c.customer_id == customer_id)
                    .values(
                        email=erasure.erased_email(customer_id),
                        name=erasure.pseudonym(customer_id),
                        postal_code=None,
                    )
                )
    return len(ids)


@task(name="clear_old_vat_numbers", cache_policy=NO_CACHE)
def clear_old_vat_numbers(settings: Settings, cutoff: Cutoff, dry_run: bool) -> dict[str, int]:
    """Invoices and VAT lines past every legal period keep their amounts, dates and
    countries; the customer's VAT number is cleared."""
    engine = engine_for(settings.database_url)
    inv = tables.invoices
    targets = {
        "financial_records:invoices": (inv, inv.c.issued_on < cutoff.day),
        "financial_records:vat_lines": (vat_lines, vat_lines.c.tax_point_on < cutoff.day),
    }
    done: dict[str, int] = {}
    with engine.begin() as conn:
        for name, (table, older) in targets.items():
            where = and_(older, table.c.customer_vat_id.is_not(None))
            if dry_run:
                done[name] = len(conn.execute(select(*table.primary_key).where(where)).all())
            else:
                result = conn.execute(sql_update(table).where(where).values(customer_vat_id=None))
                done[name] = result.rowcount or 0
    return done


@task(name="key_analytics_customers", cache_policy=NO_CACHE)
def key_analytics_customers(settings: Settings, dry_run: bool) -> int | None:
    """Set ``customer_key`` where it is missing or made with another secret (a rotated
    key re-keys every row); rows changed, ``None`` when no secret is configured. Reads
    one row per table and customer, never the secret into a log or an error.

    The writers key their own rows as they write them (``tasks/dunning.py``,
    ``tasks/notices.py``, ``tasks/tax.py``); this pass is for the rest: rows written
    before the secret was set and not written since, and every row after a rotation."""
    if settings.pseudonym_key is None or not settings.pseudonym_key.get_secret_value():
        return None
    secret = settings.pseudonym_key.get_secret_value()
    engine = engine_for(settings.database_url)
    changed = 0
    for table in KEYED_TABLES:
        pairs = select(table.c.customer_id, table.c.customer_key).where(
            table.c.customer_id.is_not(None)
        )
        with engine.connect() as conn:
            found = [tuple(row) for row in conn.execute(pairs.distinct())]
        stale: dict[str, str] = {}
        for customer_id, key in found:
            wanted = customer_key(customer_id, secret)
            if key != wanted:
                stale[customer_id] = wanted
        if not stale:
            continue
        with engine.begin() as conn:
            for customer_id, wanted in stale.items():
                off = table.c.customer_key.is_(None) | (table.c.customer_key != wanted)
                where = and_(table.c.customer_id == customer_id, off)
                if dry_run:
                    count = select(func.count()).select_from(table).where(where)
                    changed += conn.execute(count).scalar_one()
                    continue
                result = conn.execute(sql_update(table).where(where).values(customer_key=wanted))
                changed += result.rowcount or 0
    return changed


def _delete(engine: Engine, table: Table, where: ColumnElement[bool], *, dry_run: bool) -> int:
    with engine.begin() as conn:
        if dry_run:
            return len(conn.execute(select(*table.primary_key).where(where)).all())
        return conn.execute(delete(table).where(where)).rowcount or 0


def _frame(conn: Connection, table: Table, columns: Sequence[str]) -> pd.DataFrame:
    rows = conn.execute(select(*(table.c[c] for c in columns))).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=list(columns))
