"""Notices tasks: read the frames, write tonight's plan, publish, record the run.

Thin wrappers: every decision is ``domain.notices``; here frames come out of the
warehouse and the plan goes into it. The plan is written in one transaction (the
outbox rows, the withdrawals and the ``notice_exceptions`` rows), so a crash leaves
either all of tonight's decisions or none, and the next run decides them again. The
``notice_exceptions`` rows are written with their ``customer_key`` (docs/privacy.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import pandas as pd
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Column, Connection, Engine, Table, func, select

from domain import notices
from domain.notices import NoticePlan, NoticePolicy, NoticeReport, RenewalFrames, ShipmentFrames
from domain.notices import plan as columns
from domain.notices.register import REGISTER_COLUMNS
from domain.pseudonym import customer_keys
from echeancier.settings import Settings
from warehouse import tables
from warehouse.engine import make_engine
from warehouse.notice_tables import notice_exceptions
from warehouse.outbox import cancel_pending, enqueue
from warehouse.outbox_tables import notifications
from warehouse.upsert import dialect_insert

_CHUNK = 500
#: The kinds whose waiting rows the shipment flow may withdraw.
WITHDRAWABLE = ("shipment_delay", "shipment_exception", "return_window")


@contextmanager
def _engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@task(name="load_notice_policy", cache_policy=NO_CACHE)
def load_notice_policy(settings: Settings) -> NoticePolicy:
    """``policies/notices.yaml``, with the settings' time zone and customer portal."""
    policy = notices.load_policy(settings.policies)
    return replace(policy, timezone=settings.timezone, portal_url=settings.portal_url)


@task(name="read_renewal_frames", cache_policy=NO_CACHE)
def read_renewal_frames(settings: Settings) -> RenewalFrames:
    """Subscriptions, their customers and mandates, tacit-renewal notices, the register."""
    n = notifications.c
    with _engine(settings) as engine, engine.connect() as conn:
        return RenewalFrames(
            subscriptions=_frame(conn, tables.subscriptions, columns.SUBSCRIPTION_COLUMNS),
            customers=_frame(conn, tables.customers, columns.CUSTOMER_COLUMNS),
            mandates=_frame(conn, tables.mandates, columns.MANDATE_COLUMNS),
            outbox=_frame(
                conn,
                notifications,
                columns.OUTBOX_COLUMNS,
                n.kind == "tacit_renewal",
                n.audience == "customer",
            ),
            register=_frame(
                conn,
                notice_exceptions,
                REGISTER_COLUMNS,
                notice_exceptions.c.kind == "tacit_renewal_unnoticed",
            ),
            quarantined=_quarantined(conn),
        )


@task(name="read_shipment_frames", cache_policy=NO_CACHE)
def read_shipment_frames(settings: Settings) -> ShipmentFrames:
    """Parcels, who ordered them, what was paid and refunded, waiting parcel notices."""
    n = notifications.c
    with _engine(settings) as engine, engine.connect() as conn:
        return ShipmentFrames(
            shipments=_frame(conn, tables.shipments, columns.SHIPMENT_COLUMNS),
            customers=_frame(conn, tables.customers, columns.CUSTOMER_COLUMNS),
            payments=_frame(
                conn,
                tables.payments,
                columns.PAYMENT_COLUMNS,
                tables.payments.c.order_id.is_not(None),
            ),
            invoices=_frame(
                conn,
                tables.invoices,
                columns.INVOICE_COLUMNS,
                tables.invoices.c.order_id.is_not(None),
            ),
            refunds=_frame(conn, tables.refunds, columns.REFUND_COLUMNS),
            outbox=_frame(
                conn,
                notifications,
                columns.OUTBOX_COLUMNS,
                n.kind.in_(WITHDRAWABLE),
                n.status.in_(("planned", "queued")),
            ),
            register=_frame(
                conn,
                notice_exceptions,
                REGISTER_COLUMNS,
                notice_exceptions.c.kind == "refund_overdue",
            ),
            quarantined=_quarantined(conn),
        )


@task(name="plan_renewal_notices", cache_policy=NO_CACHE)
def plan_renewal_notices(frames: RenewalFrames, as_of: date, policy: NoticePolicy) -> NoticePlan:
    return notices.plan_renewal_notices(frames, as_of, policy)


@task(name="plan_shipment_notices", cache_policy=NO_CACHE)
def plan_shipment_notices(frames: ShipmentFrames, as_of: date, policy: NoticePolicy) -> NoticePlan:
    return notices.plan_shipment_notices(frames, as_of, policy)


@task(name="queue_notices", cache_policy=NO_CACHE)
def queue_notices(
    settings: Settings, plan: NoticePlan, as_of: date, now: datetime, dry_run: bool
) -> dict[str, Any]:
    """Write the plan in one transaction; return the outbox statuses of its keys before
    tonight (``before``) and the withdrawals by reason (``withdrawn``).

    A dry run writes ``planned`` rows and nothing else: no withdrawal (counted only) and
    no ``notice_exceptions`` row.
    """
    keys = [n.dedupe_key for n in plan.notices]
    withdrawn: dict[str, int] = {}
    with _engine(settings) as engine, engine.begin() as conn:
        before = _statuses(conn, keys)
        enqueue(conn, plan.notices, as_of=as_of, now=now, dry_run=dry_run)
        for withdrawal in plan.withdrawals:
            count = len(withdrawal.dedupe_keys)
            if not dry_run:
                count = cancel_pending(
                    conn, reason=withdrawal.reason, now=now, dedupe_keys=withdrawal.dedupe_keys
                )
            withdrawn[withdrawal.reason] = withdrawn.get(withdrawal.reason, 0) + count
        if not dry_run:
            _upsert_register(conn, plan.register, settings.pseudonym_secret())
    return {"before": before, "withdrawn": withdrawn}


@task(name="publish_notice_artifacts", cache_policy=NO_CACHE)
def publish_notice_artifacts(report: NoticeReport) -> None:
    """The summary, and tonight's notices as a table (ids and keys only; no address)."""
    slug = report.flow
    create_markdown_artifact(
        key=f"{slug}-summary", markdown=notices.markdown(report), description=slug
    )
    create_table_artifact(
        key=f"{slug}-tonight",
        table=report.tonight or [{"kind": "none"}],
        description=f"{slug}: notices new on {report.as_of}"
        + (" (dry run: planned, nothing sent)" if report.dry_run else ""),
    )
    create_table_artifact(
        key=f"{slug}-by-kind",
        table=report.by_kind or [{"kind": "none"}],
        description=f"{slug}: notices by kind on {report.as_of}",
    )


def _frame(conn: Connection, table: Table, names: Sequence[str], *where: Any) -> pd.DataFrame:
    """The columns as Python values (object dtype: no int becomes a float, no date text)."""
    cols: list[Column[Any]] = [table.c[name] for name in names]
    rows = conn.execute(select(*cols).where(*where)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=list(names), dtype=object)


def _quarantined(conn: Connection) -> frozenset[str]:
    q = tables.quarantine
    rows = conn.execute(select(q.c.object_id).where(q.c.resolved_at.is_(None))).scalars()
    return frozenset(str(r) for r in rows)


def _statuses(conn: Connection, keys: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(keys), _CHUNK):
        query = select(notifications.c.dedupe_key, notifications.c.status).where(
            notifications.c.dedupe_key.in_(keys[start : start + _CHUNK])
        )
        found.update({row.dedupe_key: row.status for row in conn.execute(query)})
    return found


def _upsert_register(conn: Connection, rows: Sequence[dict[str, Any]], secret: str | None) -> None:
    """Upsert the register rows, each with its ``customer_key`` under ``secret``.

    A row written without a key (no secret configured, or no customer) keeps the key it
    already has: the column is set only when there is a key to set, so a night without
    the secret does not undo the retention pass, and a night with it fills a row written
    before the secret was set. The same rows and secret write the same values again."""
    if not rows:
        return
    keys = customer_keys((row.get("customer_id") for row in rows), secret)
    keyed = [{**row, "customer_key": key} for row, key in zip(rows, keys, strict=True)]
    stmt = dialect_insert(conn, notice_exceptions)
    changed = [c.name for c in notice_exceptions.columns if c.name != "exception_id"]
    update = {name: stmt.excluded[name] for name in changed}
    update["customer_key"] = func.coalesce(
        stmt.excluded.customer_key, notice_exceptions.c.customer_key
    )
    stmt = stmt.on_conflict_do_update(index_elements=["exception_id"], set_=update)
    for start in range(0, len(keyed), _CHUNK):
        conn.execute(stmt, keyed[start : start + _CHUNK])
