"""The outbox sender: deliver queued notices once, and never twice.

One pass (:func:`deliver`), called by each acting flow for its own kinds:

1. **Interrupted sends.** A row left ``sending`` was claimed by a run that died between
   the request and the commit of its outcome: it may or may not have left. It becomes
   ``unknown`` — never re-sent blindly.
2. **Unknown sends are resolved**, once the activity feed has had time to see them
   (``UNKNOWN_GRACE``): every mail carries its ``notification_id`` in SendGrid's
   ``custom_args``, so the Email Activity feed says whether it arrived. Found → ``sent``
   with its message id; not found → ``queued`` again (SendGrid never had it); the feed
   cannot be asked → stays ``unknown`` for finance to look at.
3. **Claim** the ``queued`` rows whose send window has opened (``send_after``) and whose
   back-off has passed, marking them ``sending`` in their own short transaction — a few
   at a time (as many as there are send workers), each chunk when the previous one is in
   flight, with one recipient lookup per chunk.
4. **Send** each: render it (a SendGrid dynamic template when ``policies/templates.yaml``
   maps one, else our Jinja template in the recipient's language), post it, and commit
   its outcome at once — ``sent`` (message id), ``failed`` (SendGrid refused it: the data
   needs fixing), rescheduled after ``Retry-After`` or a back-off (429/5xx, connection
   refused), or ``unknown`` (the request left and no answer came).

Sends overlap: a mail spends its time waiting on SendGrid's answer, so up to
``settings.outbox_send_workers`` (``ECHEANCIER_OUTBOX_SEND_WORKERS``, 8) requests are in
flight at once, on a small thread pool. Only the requests run on the pool: this thread
looks the addresses up (in batches), renders each mail, and commits each outcome in its
own transaction as soon as its answer is in, so the guarantees above are unchanged; a run
that dies leaves at most ``2 × workers`` rows ``sending`` (the ones in flight and the chunk
claimed next), and a row whose answer came back is recorded as SendGrid answered, never
left ``queued``. Every request still takes its token from the account's one SendGrid
bucket (``connectors.ratelimit``), which sets the pace once the pool is wider than
latency × rate, and a 429 holds all of them. When a send or a record fails mid-batch,
nothing new is started, the answers of the requests already in flight are still
recorded, and the error is raised.

The recipient's address is looked up at send time (customers' from ``customers``,
finance's from settings) and never written to a log, an error or an artifact.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Connection, Engine, and_, or_, select, update

from connectors.sendgrid import SendGridConnector, SendResult
from domain.erasure import is_erased_email
from echeancier.settings import Settings
from tasks.sync_common import engine_for
from warehouse.outbox_tables import notifications
from warehouse.tables import customers

UNKNOWN_GRACE = timedelta(minutes=30)  # SendGrid's activity feed lags behind the send
MAX_ATTEMPTS = 8  # a notice rescheduled this often is marked failed for a person to see
BATCH = 500


@dataclass
class Delivery:
    """What one pass of the sender did, by outcome."""

    outcomes: Counter[str] = field(default_factory=Counter)

    def add(self, outcome: str, n: int = 1) -> None:
        if n:
            self.outcomes[outcome] += n

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self.outcomes.items()))


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes, at most an hour: a provider outage does not burn the attempts."""
    return timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


def template_ids(policies: Path) -> dict[str, dict[str, str]]:
    """``policies/templates.yaml``: template name → {locale: SendGrid dynamic template id}."""
    path = policies / "templates.yaml"
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    mapping = data.get("sendgrid_templates") or {}
    return {str(k): {str(lk): str(lv) for lk, lv in (v or {}).items()} for k, v in mapping.items()}


def mail_body(
    row: Mapping[str, Any],
    *,
    to_email: str,
    to_name: str | None,
    mail_from: str,
    dynamic_ids: Mapping[str, Mapping[str, str]],
) -> dict[str, Any]:
    """The mail/send body for one outbox row (one recipient, our id in custom_args)."""
    context = json.loads(row["context"])
    recipient: dict[str, Any] = {"email": to_email}
    if to_name:
        recipient["name"] = to_name
    body: dict[str, Any] = {
        "personalizations": [{"to": [recipient]}],
        "from": {"email": mail_from},
        "categories": [row["kind"]],
        "custom_args": {"notification_id": row["notification_id"]},
    }
    template_id = (dynamic_ids.get(row["template"]) or {}).get(row["locale"])
    if template_id:
        body["template_id"] = template_id
        body["personalizations"][0]["dynamic_template_data"] = context
        return body
    from templates.render import render

    rendered = render(row["template"], row["locale"], context)
    body["subject"] = rendered.subject
    body["content"] = [
        {"type": "text/plain", "value": rendered.text},
        {"type": "text/html", "value": rendered.html},
    ]
    return body


def _kind_filter(kinds: Iterable[str] | None) -> list[Any]:
    return [] if kinds is None else [notifications.c.kind.in_(sorted(set(kinds)))]


def mark_interrupted(conn: Connection, now: datetime, kinds: Iterable[str] | None) -> int:
    """``sending`` rows belong to a run that died mid-send: their outcome is unknown."""
    result = conn.execute(
        update(notifications)
        .where(notifications.c.status == "sending", *_kind_filter(kinds))
        .values(
            status="unknown",
            last_error="interrupted between the send and its record",
            updated_at=now,
        )
    )
    return result.rowcount or 0


def resolve_unknown(
    engine: Engine, sender: SendGridConnector, now: datetime, kinds: Iterable[str] | None
) -> Counter[str]:
    """Settle ``unknown`` rows old enough for the activity feed to know them."""
    settled: Counter[str] = Counter()
    with engine.connect() as conn:
        rows = conn.execute(
            select(notifications.c.notification_id).where(
                notifications.c.status == "unknown",
                notifications.c.updated_at <= now - UNKNOWN_GRACE,
                *_kind_filter(kinds),
            )
        ).all()
    for (notification_id,) in rows:
        found = sender.find_sent("notification_id", notification_id)
        if found is None:
            settled["still_unknown"] += 1
            continue
        values: dict[str, Any]
        if found:
            values = {"status": "sent", "provider_message_id": found[0], "sent_at": now}
            settled["resolved_sent"] += 1
        else:
            values = {"status": "queued", "next_attempt_at": None}
            settled["resolved_requeued"] += 1
        with engine.begin() as conn:
            conn.execute(
                update(notifications)
                .where(
                    notifications.c.notification_id == notification_id,
                    notifications.c.status == "unknown",
                )
                .values(**values, last_error=None, updated_at=now)
            )
    return settled


def claim(
    engine: Engine, now: datetime, kinds: Iterable[str] | None, limit: int
) -> list[dict[str, Any]]:
    """Take up to ``limit`` due ``queued`` rows, marking them ``sending`` (committed)."""
    due = and_(
        notifications.c.status == "queued",
        or_(notifications.c.send_after.is_(None), notifications.c.send_after <= now),
        or_(notifications.c.next_attempt_at.is_(None), notifications.c.next_attempt_at <= now),
        *_kind_filter(kinds),
    )
    with engine.begin() as conn:
        rows = [
            dict(r._mapping)
            for r in conn.execute(
                select(notifications)
                .where(due)
                .order_by(notifications.c.created_at, notifications.c.notification_id)
                .limit(limit)
            )
        ]
        claimed = []
        for row in rows:
            taken = conn.execute(
                update(notifications)
                .where(
                    notifications.c.notification_id == row["notification_id"],
                    notifications.c.status == "queued",
                )
                .values(status="sending", attempts=row["attempts"] + 1, updated_at=now)
            )
            if taken.rowcount:
                row["attempts"] += 1
                claimed.append(row)
    return claimed


def recipients(engine: Engine, rows: list[dict[str, Any]]) -> dict[str, tuple[str, str | None]]:
    """customer_id → (email, name) for the customers these rows write to."""
    ids = sorted({r["customer_id"] for r in rows if r["customer_id"]})
    found: dict[str, tuple[str, str | None]] = {}
    with engine.connect() as conn:
        for start in range(0, len(ids), BATCH):
            query = select(customers.c.customer_id, customers.c.email, customers.c.name).where(
                customers.c.customer_id.in_(ids[start : start + BATCH])
            )
            for row in conn.execute(query):
                if row.email:
                    found[row.customer_id] = (row.email, row.name)
    return found


def outcome_values(result: SendResult, row: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The columns a send's outcome sets (no address ever reaches ``last_error``)."""
    if result.status == "sent":
        return {
            "status": "sent",
            "provider_message_id": result.message_id,
            "sent_at": now,
            "last_error": None,
        }
    if result.status == "failed":
        return {"status": "failed", "last_error": result.error}
    if result.status == "unknown":
        return {"status": "unknown", "last_error": result.error}
    if row["attempts"] >= MAX_ATTEMPTS:
        gave_up = f"gave up after {row['attempts']} attempts: {result.error}"
        return {"status": "failed", "last_error": gave_up}
    wait = timedelta(seconds=result.retry_after) if result.retry_after else backoff(row["attempts"])
    return {"status": "queued", "next_attempt_at": now + wait, "last_error": result.error}


def deliver(
    settings: Settings,
    now: datetime,
    *,
    kinds: Iterable[str] | None = None,
    sender: SendGridConnector | None = None,
    limit: int = 10_000,
    workers: int | None = None,
) -> Delivery:
    """One pass of the sender over ``kinds`` (all kinds when ``None``). See the module doc.

    ``workers`` (default ``settings.outbox_send_workers``) is how many sends may be in
    flight at once; 1 sends one mail after the other.
    """
    from connectors.factory import sendgrid_from_settings

    kinds = None if kinds is None else tuple(kinds)
    workers = settings.outbox_send_workers if workers is None else workers
    if workers < 1:
        raise ValueError("workers must be at least 1")
    engine = engine_for(settings.database_url)
    delivery = Delivery()
    with engine.begin() as conn:
        delivery.add("interrupted", mark_interrupted(conn, now, kinds))
    with engine.connect() as conn:
        waiting = conn.execute(
            select(notifications.c.notification_id)
            .where(
                notifications.c.status.in_(("queued", "unknown")),
                *_kind_filter(kinds),
            )
            .limit(1)
        ).first()
    if waiting is None:
        return delivery
    sender = sender or sendgrid_from_settings(settings)
    for outcome, n in resolve_unknown(engine, sender, now, kinds).items():
        delivery.add(outcome, n)
    dynamic_ids = template_ids(settings.policies)
    addresses: dict[str, tuple[str, str | None]] = {}

    def claimed() -> Iterator[dict[str, Any]]:
        # ``workers`` rows at a time, each chunk claimed when the previous one is all in
        # flight: a run killed mid-pass strands its sends in flight and one chunk, not the
        # whole pass, as ``sending`` (→ ``unknown``, settled only after UNKNOWN_GRACE).
        left = limit
        while left > 0:
            chunk = claim(engine, now, kinds, min(left, workers))
            if not chunk:
                return
            left -= len(chunk)
            addresses.update(recipients(engine, chunk))
            yield from chunk

    def prepare(row: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        return _prepare(row, settings, addresses, dynamic_ids)

    def record(row: dict[str, Any], values: dict[str, Any]) -> None:
        delivery.add(values["status"] if values["status"] != "queued" else "rescheduled")
        with engine.begin() as conn:
            conn.execute(
                update(notifications)
                .where(notifications.c.notification_id == row["notification_id"])
                .values(**values, updated_at=now)
            )

    send_claimed(claimed(), sender, prepare, record, now, workers)
    return delivery


def send_claimed(
    rows: Iterable[dict[str, Any]],
    sender: SendGridConnector,
    prepare: Callable[[dict[str, Any]], tuple[dict[str, Any] | None, dict[str, Any] | None]],
    record: Callable[[dict[str, Any], dict[str, Any]], None],
    now: datetime,
    workers: int,
) -> None:
    """Send claimed ``rows`` with at most ``workers`` requests in flight.

    ``prepare(row)`` gives ``(body, None)`` to send or ``(None, values)`` when the row is
    settled without sending (no address, erased, not rendered); ``record(row, values)``
    commits one outcome. Both run in this thread, one row at a time, so the database is
    only ever touched from here; the pool's threads only post (``sender.send`` is safe to
    share between threads). The window is exactly ``workers`` wide: nothing is queued
    behind the running sends, so an interruption strands no more than those.
    """
    in_flight: dict[Future[SendResult], dict[str, Any]] = {}

    def settle(done: Iterable[Future[SendResult]]) -> None:
        for future in done:
            row = in_flight.pop(future)
            record(row, outcome_values(future.result(), row, now))

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="outbox-send") as pool:
        try:
            for row in rows:
                body, values = prepare(row)
                if body is None:
                    record(row, values or {})
                    continue
                while len(in_flight) >= workers:
                    settle(wait(in_flight, return_when=FIRST_COMPLETED)[0])
                in_flight[pool.submit(sender.send, body)] = row
            while in_flight:
                settle(wait(in_flight, return_when=FIRST_COMPLETED)[0])
        finally:
            # Stopped by an error (or an interrupt): start nothing more, but the mails
            # already in flight may well have left, so record what SendGrid answers for
            # them. A row whose answer or record fails stays ``sending``: the next pass
            # makes it ``unknown`` and the activity feed settles it.
            for future in as_completed(list(in_flight)):
                row = in_flight.pop(future)
                try:
                    record(row, outcome_values(future.result(), row, now))
                except Exception:  # the error that stopped the batch is the one raised
                    continue


def _prepare(
    row: dict[str, Any],
    settings: Settings,
    addresses: Mapping[str, tuple[str, str | None]],
    dynamic_ids: Mapping[str, Mapping[str, str]],
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """``(body, None)``: send this body; ``(None, values)``: settled here, nothing sent."""
    if row["audience"] == "finance":
        to_email, to_name = settings.finance_email, None
    elif row["customer_id"] in addresses:
        to_email, to_name = addresses[row["customer_id"]]
    else:
        return None, {
            "status": "failed",
            "last_error": "the customer has no e-mail address on file",
        }
    if is_erased_email(to_email):  # erased under GDPR: there is no one at the other end
        return None, {"status": "cancelled", "cancelled_reason": "customer erased"}
    try:
        body = mail_body(
            row,
            to_email=to_email,
            to_name=to_name,
            mail_from=settings.mail_from,
            dynamic_ids=dynamic_ids,
        )
    except Exception as exc:  # a template or context problem: fix it, do not send
        return None, {
            "status": "failed",
            "last_error": f"not rendered: {type(exc).__name__}: {exc}",
        }
    return body, None


@task(cache_policy=NO_CACHE, name="deliver-outbox")
def deliver_outbox(
    settings: Settings, now: datetime, kinds: tuple[str, ...] | None = None
) -> dict[str, int]:
    """Send what is queued for ``kinds``; returns counts by outcome."""
    return deliver(settings, now, kinds=kinds).as_dict()
