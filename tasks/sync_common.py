"""Sync tasks shared by the three providers: state, run record, links, control totals.

Every task gets the one ``Settings`` object the flow read at its edge and builds its
engine and connectors from it (engines are cached per URL; connectors share the
process-wide rate limiters). Tasks that take ``Settings`` use ``NO_CACHE``: the keys
must never be hashed into a cache key or persisted with a result.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from itertools import islice
from typing import Any, TypeVar

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import (
    Column,
    Engine,
    MetaData,
    String,
    Table,
    and_,
    func,
    insert,
    or_,
    select,
    union,
)

from connectors.factory import Connectors, from_settings
from domain.normalise import resolve_payment_links as resolve_links
from domain.sync_plan import Tally
from domain.sync_streams import STREAMS
from echeancier.settings import Settings
from tasks.sync_load import table
from warehouse import tables
from warehouse.bookkeeping import pipeline_runs
from warehouse.engine import make_engine
from warehouse.state import SyncState, read_sync_states, write_sync_state
from warehouse.types import to_utc
from warehouse.upsert import upsert

T = TypeVar("T")
PAGES_PER_BATCH = 10  # a load transaction covers 1000 Stripe objects (5000 GoCardless)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def connectors_for(settings: Settings) -> Connectors:
    return from_settings(settings)


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def table_amounts() -> dict[str, str | None]:
    """Each fed table's amount column (the control totals' sum), from the streams table."""
    amounts: dict[str, str | None] = {}
    for streams in STREAMS.values():
        for stream in streams:
            for output in stream.outputs:
                amounts[output.table] = output.amount
            if stream.lines is not None:
                amounts[stream.lines.table] = stream.lines.amount
    return amounts


# -- state and run record --------------------------------------------------------------


@task(cache_policy=NO_CACHE)
def read_cursors(settings: Settings) -> list[SyncState]:
    """Every stored stream cursor (empty before the first sync)."""
    with engine_for(settings.database_url).connect() as conn:
        return read_sync_states(conn)


@task(cache_policy=NO_CACHE)
def save_cursors(settings: Settings, states: Sequence[SyncState], at: datetime) -> None:
    """Store the event cursors noted before a full listing, once the listing has landed."""
    with engine_for(settings.database_url).begin() as conn:
        for state in states:
            write_sync_state(conn, state, at=at)


# -- links -----------------------------------------------------------------------------


def _frame(conn: Any, target: Any, where: Any) -> pd.DataFrame:
    """The rows of ``target`` that match ``where``, in key order (so the "last row wins"
    lookups never depend on the query plan)."""
    query = select(target).where(where).order_by(*target.primary_key.columns)
    rows = conn.execute(query).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=[c.name for c in target.columns])


@task(cache_policy=NO_CACHE)
def resolve_payment_links(settings: Settings, seen_at: datetime) -> dict[str, Tally]:
    """Fill payments' invoice, subscription, payout, customer and dispute status from the
    rows that know them; write only the payments that change.

    The rows that know them are found by semi-joins in the database (``column IN (SELECT
    …)`` over the open payments, never two such conditions joined by OR, which PostgreSQL
    cannot turn into a join), one query per table and key: after a first sync every
    payment is open, and looking 1.4 M of them up 500 ids a query took the large shop's
    PostgreSQL over twenty minutes.

    After a completed sync, only payments that this run or a failed one since could
    have changed are looked at (:func:`touched_since`): a link is a function of the
    payment and of the rows that know it, so when none of them was written since the
    last completed link step, nothing can change. Without that, every GoCardless
    payment (never an invoice id), every one-off charge (never a subscription) and
    every payment not yet paid out was read again each night: over a million rows on
    the large shop, most of the sync's own time."""
    p, ip = tables.payments, tables.invoice_payments
    open_links = or_(
        p.c.invoice_id.is_(None),
        p.c.subscription_id.is_(None),
        p.c.payout_id.is_(None),
        p.c.customer_id.is_(None),
        p.c.payment_id.in_(select(tables.disputes.c.payment_id)),
    )

    def of_open(column: Any) -> Any:
        return select(column).where(open_links).where(column.is_not(None))

    with engine_for(settings.database_url).begin() as conn:
        since = last_completed_sync(conn)
        if since is not None:
            _note_touched(conn, since)  # dropped with the connection's transaction below
            open_links = and_(open_links, p.c.payment_id.in_(select(TOUCHED.c.payment_id)))
        payments = _frame(conn, p, open_links)
        if payments.empty:
            return {}
        open_ids = of_open(p.c.payment_id)
        by_intent = ip.c.payment_intent_id.in_(of_open(p.c.payment_intent_id))
        by_charge = ip.c.charge_id.in_(open_ids)
        invoice_payments = (
            pd.concat([_frame(conn, ip, by_intent), _frame(conn, ip, by_charge)], ignore_index=True)
            .drop_duplicates("invoice_payment_id")
            .sort_values("invoice_payment_id", kind="stable", ignore_index=True)
        )
        their_invoices = union(
            of_open(p.c.invoice_id),
            select(ip.c.invoice_id).where(by_intent),
            select(ip.c.invoice_id).where(by_charge),
        )
        inv, lines, disputes, mandates = (
            tables.invoices,
            tables.payout_lines,
            tables.disputes,
            tables.mandates,
        )
        changed = resolve_links(
            payments,
            invoice_payments=invoice_payments,
            invoices=_frame(conn, inv, inv.c.invoice_id.in_(their_invoices)),
            payout_lines=_frame(conn, lines, lines.c.payment_id.in_(open_ids)),
            disputes=_frame(conn, disputes, disputes.c.payment_id.in_(open_ids)),
            mandates=_frame(conn, mandates, mandates.c.mandate_id.in_(of_open(p.c.mandate_id))),
        )
        if changed.empty:
            return {}
        result = upsert(conn, p, changed.drop(columns=["row_hash", "synced_at"]), synced_at=seen_at)
    tally = Tally(inserted=result.inserted, updated=result.updated, unchanged=result.unchanged)
    return {"links/payments": tally}


def last_completed_sync(conn: Any) -> datetime | None:
    """When the last completed sync started: every row it (or any earlier run) wrote
    was linked by it. ``None`` before the first one (then every open payment is read)."""
    runs = pipeline_runs
    query = select(func.max(runs.c.started_at)).where(
        runs.c.flow == "sync", runs.c.status == "completed"
    )
    started = conn.execute(query).scalar()
    return None if started is None else to_utc(started)


# The payment ids a night's link step looks at (one connection's temporary table).
TOUCHED = Table(
    "echeancier_touched_payments",
    MetaData(),
    Column("payment_id", String(255)),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)


def _note_touched(conn: Any, since: datetime) -> None:
    """Fill :data:`TOUCHED` once: each of the link step's queries then joins a small table
    instead of evaluating the union again (and on PostgreSQL it is analysed, so they are
    planned for its real size)."""
    TOUCHED.drop(conn, checkfirst=True)
    TOUCHED.create(conn)  # ON COMMIT DROP where the database has it (PostgreSQL)
    found = touched_since(since).subquery()
    ids = select(found.c[0]).where(found.c[0].is_not(None))
    conn.execute(insert(TOUCHED).from_select(["payment_id"], ids))
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {TOUCHED.name}")


def touched_since(since: datetime) -> Any:
    """The payment ids whose links may have changed since ``since``: the payment itself
    written, or a row that knows it (its invoice payment, by intent or by charge, or
    that row's invoice; its invoice; its payout line; its dispute; its mandate). A union
    of semi-joins, each on the rows written since (few on an ordinary night), and never
    two conditions ORed: PostgreSQL cannot make a join of an OR and probes a subplan per
    row instead (billions of steps on the large shop; seen with EXPLAIN)."""
    p, ip, inv = tables.payments, tables.invoice_payments, tables.invoices
    lines, disputes, mandates = tables.payout_lines, tables.disputes, tables.mandates
    new_invoices = select(inv.c.invoice_id).where(inv.c.synced_at >= since)
    return union(
        select(p.c.payment_id).where(p.c.synced_at >= since),
        select(p.c.payment_id).where(
            p.c.payment_intent_id.in_(select(ip.c.payment_intent_id).where(ip.c.synced_at >= since))
        ),
        select(p.c.payment_id).where(
            p.c.payment_intent_id.in_(
                select(ip.c.payment_intent_id).where(ip.c.invoice_id.in_(new_invoices))
            )
        ),
        select(ip.c.charge_id).where(ip.c.synced_at >= since),
        select(ip.c.charge_id).where(ip.c.invoice_id.in_(new_invoices)),
        select(p.c.payment_id).where(p.c.invoice_id.in_(new_invoices)),
        select(lines.c.payment_id).where(lines.c.synced_at >= since),
        select(disputes.c.payment_id).where(disputes.c.synced_at >= since),
        select(p.c.payment_id).where(
            p.c.mandate_id.in_(select(mandates.c.mandate_id).where(mandates.c.synced_at >= since))
        ),
    )


@task(cache_policy=NO_CACHE)
def refresh_statistics(
    settings: Settings, streams: Mapping[str, Tally], modes: Mapping[str, str]
) -> list[str]:
    """After a full listing on PostgreSQL, ``ANALYZE`` the tables it wrote; returns them.

    Why: the planner chooses its joins from the tables' statistics, and a first sync
    fills empty tables with millions of rows. Autovacuum analyses them eventually (not at
    all where it is off), but the night's first steps run minutes later, and the link,
    partition and reconciliation queries planned on "empty" tables can be nested loops
    over a million rows. ``ANALYZE`` samples each table (about a second each). An
    incremental night changes too little to matter and analyses nothing."""
    if "full" not in modes.values():
        return []
    engine = engine_for(settings.database_url)
    if engine.dialect.name != "postgresql":
        return []
    written = {
        name.split("/", 1)[1]
        for name, tally in streams.items()
        if tally.inserted + tally.updated > 0 and "/" in name
    }
    names = sorted(written & set(tables.metadata.tables))
    with engine.begin() as conn:
        for name in names:
            conn.exec_driver_sql(f'ANALYZE "{name}"')
    return names


# -- control totals --------------------------------------------------------------------


@task(cache_policy=NO_CACHE)
def check_control_totals(
    settings: Settings, streams: Mapping[str, Tally], modes: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """Per provider table: what the provider returned this run vs what the warehouse holds.

    After a full listing the two must agree (``matches``); after an incremental night
    ``received`` counts only the objects that changed.
    """
    amounts = table_amounts()
    totals: dict[str, dict[str, Any]] = {}
    with engine_for(settings.database_url).connect() as conn:
        for name, tally in streams.items():
            provider, table_name = name.split("/", 1)
            if table_name not in amounts:
                continue
            target = table(table_name)
            amount = amounts[table_name]
            total = func.coalesce(func.sum(target.c[amount]), 0) if amount else None
            query = select(func.count(), *([total] if total is not None else [])).where(
                target.c.provider == provider
            )
            row = conn.execute(query).one()
            held, held_amount = int(row[0]), int(row[1]) if amount else 0
            entry: dict[str, Any] = {
                "mode": modes.get(provider),
                "received": tally.received,
                "received_amount": tally.received_amount,
                "quarantined": tally.quarantined,
                "warehouse_rows": held,
                "warehouse_amount": held_amount,
            }
            if modes.get(provider) == "full":
                entry["matches"] = (tally.received, tally.received_amount) == (held, held_amount)
            totals[name] = entry
    return totals
