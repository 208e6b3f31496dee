"""Queue and cancel notices in the ``notifications`` outbox, exactly once per decision.

Every flow that writes to someone (dunning, renewal and shipment notices, tax
deadlines) turns its decisions into :class:`Notice` values and calls :func:`enqueue`
inside the transaction that records them. The ``dedupe_key`` names the business
decision (``dunning:in_123:reminder_1``), so:

- a new key is inserted, ``queued`` (or ``planned`` in a dry run);
- a key planned by an earlier dry run is promoted to ``queued`` by a real run;
- a key already queued, sent, failed, unknown or cancelled is left as it is: a re-run,
  an operator's Retry or a crash never queues the same decision twice.

:func:`cancel_pending` withdraws notices that are no longer due (the customer paid,
opened a dispute, a parcel was delivered) as long as they have not left: a row being
sent, sent or ``unknown`` is never touched. Sending is ``tasks/outbox.py``'s job.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, select, update

from domain.notice import Notice
from warehouse.outbox_tables import notifications

__all__ = ["EnqueueResult", "Notice", "cancel_pending", "enqueue", "key_id"]

#: Rows still waiting in the outbox: a cancellation may withdraw them.
PENDING = ("planned", "queued")


def key_id(dedupe_key: str) -> str:
    """The 32-hex id of a decision key (``notification_id``, ``action_id``)."""
    return hashlib.blake2b(dedupe_key.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class EnqueueResult:
    inserted: int
    promoted: int
    unchanged: int


def context_json(context: Mapping[str, Any]) -> str:
    """Stable JSON (sorted keys) so a re-run writes byte-identical context."""
    return json.dumps(context, sort_keys=True, default=str, ensure_ascii=False)


def _row(notice: Notice, *, as_of: date, now: datetime, status: str) -> dict[str, Any]:
    return {
        "notification_id": key_id(notice.dedupe_key),
        "dedupe_key": notice.dedupe_key,
        "kind": notice.kind,
        "stage": notice.stage,
        "audience": notice.audience,
        "customer_id": notice.customer_id,
        "invoice_id": notice.invoice_id,
        "subscription_id": notice.subscription_id,
        "payment_id": notice.payment_id,
        "tracking_id": notice.tracking_id,
        "locale": notice.locale,
        "template": notice.template,
        "context": context_json(notice.context),
        "as_of": as_of,
        "planned_for": notice.planned_for,
        "send_after": notice.send_after,
        "status": status,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }


def enqueue(
    conn: Connection,
    notices: Iterable[Notice],
    *,
    as_of: date,
    now: datetime,
    dry_run: bool = False,
) -> EnqueueResult:
    """Record ``notices`` in the outbox: insert new keys, promote planned ones on a real
    run, leave every other existing key alone. Runs in the caller's transaction."""
    wanted: dict[str, Notice] = {}
    for notice in notices:
        wanted.setdefault(notice.dedupe_key, notice)
    if not wanted:
        return EnqueueResult(0, 0, 0)
    existing: dict[str, str] = {}
    keys = list(wanted)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        query = select(notifications.c.dedupe_key, notifications.c.status).where(
            notifications.c.dedupe_key.in_(chunk)
        )
        existing.update({row.dedupe_key: row.status for row in conn.execute(query)})
    status = "planned" if dry_run else "queued"
    fresh = [
        _row(notice, as_of=as_of, now=now, status=status)
        for key, notice in wanted.items()
        if key not in existing
    ]
    if fresh:
        conn.execute(notifications.insert(), fresh)
    promoted = 0
    if not dry_run:
        for key in (k for k, s in existing.items() if s == "planned"):
            row = _row(wanted[key], as_of=as_of, now=now, status="queued")
            del row["created_at"], row["notification_id"], row["dedupe_key"]
            conn.execute(
                update(notifications).where(notifications.c.dedupe_key == key).values(**row)
            )
            promoted += 1
    return EnqueueResult(len(fresh), promoted, len(existing) - promoted)


def cancel_pending(
    conn: Connection,
    *,
    reason: str,
    now: datetime,
    kinds: Iterable[str] | None = None,
    customer_ids: Iterable[str] | None = None,
    invoice_ids: Iterable[str] | None = None,
    subscription_ids: Iterable[str] | None = None,
    tracking_ids: Iterable[str] | None = None,
    dedupe_keys: Iterable[str] | None = None,
) -> int:
    """Cancel notices still waiting (``planned``/``queued``) that match every filter
    given; returns how many. A notice being sent, sent or ``unknown`` is never changed."""
    clauses = [notifications.c.status.in_(PENDING)]
    filters = (
        (notifications.c.kind, kinds),
        (notifications.c.customer_id, customer_ids),
        (notifications.c.invoice_id, invoice_ids),
        (notifications.c.subscription_id, subscription_ids),
        (notifications.c.tracking_id, tracking_ids),
        (notifications.c.dedupe_key, dedupe_keys),
    )
    narrowed = False
    for column, values in filters:
        if values is None:
            continue
        values = sorted(set(values))
        if not values:
            return 0
        narrowed = True
        clauses.append(column.in_(values))
    if not narrowed:
        raise ValueError("cancel_pending needs at least one filter")
    result = conn.execute(
        update(notifications)
        .where(and_(*clauses))
        .values(status="cancelled", cancelled_reason=reason, updated_at=now)
    )
    return result.rowcount or 0
