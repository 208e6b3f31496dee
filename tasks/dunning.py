"""Dunning tasks: read the reconciled state, record tonight's decisions, act on them.

The decisions themselves are ``domain.dunning.decide`` (pure). These tasks are the I/O
around it, in the order that makes a crash or a Retry harmless:

1. :func:`record_dunning_plan` writes every decision to ``dunning_actions`` and its
   e-mails to the ``notifications`` outbox in ONE transaction, keyed by the decision
   (``dunning:{invoice}:{stage}:{action}``): a second run for the same night finds the
   keys and adds nothing. A dry run writes the same rows as ``planned``; a real run
   later promotes them. Each row carries its ``customer_key`` (docs/privacy.md) from
   the moment it is written, not from the retention pass hours later.
2. :func:`execute_dunning_actions` carries out the ``pending`` provider writes (payment
   retries, pauses, cancellations, write-offs), each with the idempotency key derived
   from the same decision, committing each outcome at once. A run that dies between
   the provider's answer and the commit re-sends the same key, and the provider
   replays its first answer instead of charging twice.
3. Items a retry just recovered have their waiting e-mails cancelled before the sender
   runs: a customer who has paid is never reminded.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Connection, Engine, bindparam, delete, select, update

from connectors.errors import ConnectorError
from domain.dunning import (
    ACTION_COLUMNS,
    MAIL_ACTIONS,
    PROVIDER_ACTIONS,
    DunningInputs,
    DunningPlan,
    DunningPolicy,
    LatePaymentRates,
    decide,
    load_late_payment_rates,
    load_policy,
)
from domain.dunning.analytics import dated_failures, failure_facts, grouped
from domain.dunning.inputs import COLUMNS as INPUT_COLUMNS
from domain.pseudonym import customer_keys
from echeancier.settings import Settings
from tasks.partitions import Partition, customer_partitions
from tasks.sync_common import engine_for
from warehouse import tables
from warehouse.bookkeeping import quarantine
from warehouse.frames import frame
from warehouse.outbox import cancel_pending, enqueue, key_id
from warehouse.outbox_tables import dunning_actions, dunning_holds, dunning_recovery, notifications

# The ledger's own columns of a plan's action rows (``notice_key`` becomes
# ``notification_id``); the action families are the domain's.
LEDGER_COLUMNS = tuple(c for c in ACTION_COLUMNS if c != "notice_key")
PROVIDER_WRITES = sorted(PROVIDER_ACTIONS)
EMAIL_ACTIONS = sorted(MAIL_ACTIONS)


def item_of(dedupe_key: str) -> str:
    """``dunning:{item}:{stage}[:{action}]`` → the invoice or payment id."""
    return dedupe_key.split(":")[1]


# -- reading -------------------------------------------------------------------------------


def _frame(conn: Connection, name: str, table: Any, *where: Any) -> pd.DataFrame:
    """The columns the decisions read of ``table`` (``INPUT_COLUMNS[name]``), not whole rows:
    on the large shop the fact tables' other columns (hashes, versions, sync stamps,
    addresses) were about half of the bytes read and of the frames' memory. Read at the
    driver's speed (warehouse/frames.py): the decisions parse dates and flags in bulk."""
    names = [column for column in INPUT_COLUMNS[name] if column in table.c]
    return frame(conn, select(*(table.c[c] for c in names)).where(*where))


# What each input frame is read from (and the rows kept), by ``DunningInputs`` field.
SOURCES: dict[str, tuple[Any, ...]] = {
    "invoices": (tables.invoices,),
    "payments": (tables.payments,),
    "customers": (tables.customers,),
    "subscriptions": (tables.subscriptions,),
    "mandates": (tables.mandates,),
    "disputes": (tables.disputes,),
    "invoice_payments": (tables.invoice_payments,),
    "holds": (dunning_holds,),
    "history": (dunning_actions,),
    "pending_notices": (
        notifications,
        notifications.c.kind == "dunning",
        notifications.c.status.in_(("planned", "queued")),
    ),
    "quarantined": (quarantine, quarantine.c.resolved_at.is_(None)),
}
# The frames read one customer partition at a time (tasks/partitions.py); the others
# (disputes, holds, open quarantine rows: small) are read once, whole, for every partition.
PER_CUSTOMER = frozenset(
    {
        "invoices",
        "payments",
        "customers",
        "subscriptions",
        "mandates",
        "invoice_payments",
        "history",
        "pending_notices",
    }
)
# What the recovery analytics read (``domain.dunning.analytics.recovery``); the rest empty:
# the facts the failures are found in, then the ledger that dates them.
FAILURE_INPUTS = ("invoices", "payments", "invoice_payments", "customers")
RECOVERY_INPUTS = (*FAILURE_INPUTS, "history")


def read_inputs(engine: Engine, names: Sequence[str] = tuple(SOURCES)) -> DunningInputs:
    """The tables ``decide`` reads (or only ``names``), whole, as synced and reconciled
    tonight (the nightly tasks read them by partition: :func:`partition_inputs`)."""
    with engine.connect() as conn:
        frames = {name: _frame(conn, name, *SOURCES[name]) for name in names}
    return DunningInputs.empty(**frames)


@dataclass(frozen=True)
class Shared:
    """What every partition reads alike: the small whole tables and the unowned rows."""

    whole: dict[str, pd.DataFrame]
    unowned: dict[str, pd.DataFrame]

    @classmethod
    def read(cls, first: Partition, names: Sequence[str]) -> Shared:
        whole, unowned = {}, {}
        for name in names:
            table, *where = SOURCES[name]
            if name in PER_CUSTOMER:
                unowned[name] = first.unowned(table, _columns(name, table), *where)
            else:
                whole[name] = _frame(first.conn, name, table, *where)
        return cls(whole, unowned)


def partition_inputs(part: Partition, shared: Shared) -> DunningInputs:
    """One partition's inputs: its customers' rows, the unowned rows, the whole tables."""
    frames = dict(shared.whole)
    for name, extra in shared.unowned.items():
        table, *where = SOURCES[name]
        own = part.rows(table, _columns(name, table), *where)
        frames[name] = pd.concat([own, extra], ignore_index=True) if len(extra) else own
    return DunningInputs.empty(**frames)


def _columns(name: str, table: Any) -> list[str]:
    return [column for column in INPUT_COLUMNS[name] if column in table.c]


@task(cache_policy=NO_CACHE, name="load-dunning-policy")
def load_dunning_policy(settings: Settings) -> tuple[DunningPolicy, LatePaymentRates]:
    """The ladders and the dated late-payment rates; a bad file fails here, naming the line."""
    return (
        load_policy(settings.policies / "dunning.yaml"),
        load_late_payment_rates(settings.policies / "late_payment.yaml"),
    )


@dataclass(frozen=True)
class Decided:
    """Tonight's plan, and the failures the same reads found (``failure_facts``, every
    partition's in order): the recovery analytics date them against the ledger once
    tonight's actions are done, instead of reading the fact tables a second time.
    ``None`` when not asked for (a dry run rebuilds no analytics)."""

    plan: DunningPlan
    failures: pd.DataFrame | None = None


@task(cache_policy=NO_CACHE, name="decide-dunning")
def decide_dunning(
    settings: Settings,
    policy: DunningPolicy,
    rates: LatePaymentRates,
    as_of: date,
    *,
    with_failures: bool = True,
) -> Decided:
    """Read and decide one customer partition at a time (tasks/partitions.py), then
    merge the plans: the same plan as one pass over the whole shop (tested), in the
    memory of one partition (``ECHEANCIER_DUNNING_PARTITION_SIZE`` customers). With
    ``with_failures``, each partition's failures are found from the same frames."""
    plans, facts = [], []
    engine = engine_for(settings.database_url)
    with customer_partitions(engine, settings.dunning_partition_size) as parts:
        shared = Shared.read(parts[0], tuple(SOURCES))
        for part in parts:
            inputs = partition_inputs(part, shared)
            plan = decide(inputs, policy, rates, as_of, portal_url=settings.portal_url)
            if with_failures:
                facts.append(failure_facts(inputs, as_of, timezone=settings.timezone))
            del inputs  # before the next partition's frames are read
            plans.append(owned_plan(plan, part))
    found = pd.concat(facts, ignore_index=True) if with_failures else None
    return Decided(merge_plans(plans), found)


def owned_plan(plan: DunningPlan, part: Partition) -> DunningPlan:
    """``plan`` without the decisions about customers another partition answers for
    (the unowned rows every partition reads are decided in partition 0 only)."""
    if part.count == 1:
        return plan
    owners = pd.Series([n.customer_id for n in plan.notices], dtype="string")
    keep = part.owns(owners).tolist()
    return DunningPlan(
        actions=plan.actions[part.owns(plan.actions["customer_id"])],
        notices=[n for n, kept in zip(plan.notices, keep, strict=True) if kept],
        cancellations=plan.cancellations,
        skipped=plan.skipped[part.owns(plan.skipped["customer_id"])],
    )


def merge_plans(plans: Sequence[DunningPlan]) -> DunningPlan:
    """One plan from the partitions' plans, in the order one pass would give: actions by
    item then key, notices by item, cancellations by key, skipped by item and reason."""
    if len(plans) == 1:
        return plans[0]
    actions = pd.concat([p.actions for p in plans], ignore_index=True)
    order = actions.assign(item=actions["dedupe_key"].map(item_of))
    actions = actions.loc[order.sort_values(["item", "dedupe_key"], kind="stable").index]
    cancellations = pd.concat([p.cancellations for p in plans], ignore_index=True)
    skipped = pd.concat([p.skipped for p in plans], ignore_index=True)
    return DunningPlan(
        actions=actions.reset_index(drop=True),
        notices=sorted((n for p in plans for n in p.notices), key=lambda n: item_of(n.dedupe_key)),
        cancellations=cancellations.drop_duplicates("dedupe_key")
        .sort_values("dedupe_key", kind="stable")
        .reset_index(drop=True),
        skipped=skipped.sort_values(["item_id", "reason"], kind="stable").reset_index(drop=True),
    )


# -- recording -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    actions_new: int
    actions_promoted: int
    notices_new: int
    notices_promoted: int
    notices_cancelled: int
    actions_cancelled: int

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


def _action_rows(
    plan: DunningPlan, as_of: date, now: datetime, status: str, secret: str | None
) -> dict[str, dict[str, Any]]:
    """The ledger rows of tonight's actions by dedupe key, each with its customer's
    ``customer_key`` (``None`` without a secret), hashed once per customer of the batch."""
    rows: dict[str, dict[str, Any]] = {}
    frame = plan.actions
    keys = customer_keys(frame["customer_id"].tolist() if len(frame) else [], secret)
    for record, pseudonym in zip(frame.to_dict("records"), keys, strict=True):
        row = {c: _plain(record.get(c)) for c in LEDGER_COLUMNS}
        notice_key = _plain(record.get("notice_key"))
        row.update(
            action_id=key_id(row["dedupe_key"]),
            as_of=as_of,
            notification_id=key_id(notice_key) if notice_key else None,
            status=status,
            decided_at=now,
            customer_key=pseudonym,
        )
        row["amount"] = None if row["amount"] is None else int(row["amount"])
        row["days_overdue"] = int(row["days_overdue"])
        rows.setdefault(row["dedupe_key"], row)
    return rows


def _plain(value: Any) -> Any:
    """pandas' missing values and numpy scalars → None and Python values."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value.item() if hasattr(value, "item") else value


def record_plan(
    conn: Connection,
    plan: DunningPlan,
    as_of: date,
    now: datetime,
    *,
    dry_run: bool,
    secret: str | None = None,
) -> Recorded:
    """Write tonight's decisions, e-mails and cancellations (caller's transaction).

    ``secret`` is the pseudonym key: new rows are written with their ``customer_key``,
    and a real run also keys tonight's rows already in the ledger whose key is empty or
    made with another secret (written before the key was set or before a rotation). A
    second run finds every key right and changes nothing; without a secret no key is
    written or cleared."""
    status = "planned" if dry_run else "pending"
    wanted = _action_rows(plan, as_of, now, status, secret)
    existing: dict[str, str] = {}
    stored_keys: dict[str, str | None] = {}
    keys = list(wanted)
    for start in range(0, len(keys), 500):
        query = select(
            dunning_actions.c.dedupe_key, dunning_actions.c.status, dunning_actions.c.customer_key
        ).where(dunning_actions.c.dedupe_key.in_(keys[start : start + 500]))
        for r in conn.execute(query):
            existing[r.dedupe_key] = r.status
            stored_keys[r.dedupe_key] = r.customer_key
    fresh = [row for key, row in wanted.items() if key not in existing]
    if fresh:
        conn.execute(dunning_actions.insert(), fresh)
    promoted = 0
    if not dry_run:
        _rekey(conn, wanted, stored_keys)
        planned = [k for k, s in existing.items() if s == "planned"]
        for start in range(0, len(planned), 500):
            result = conn.execute(
                update(dunning_actions)
                .where(dunning_actions.c.dedupe_key.in_(planned[start : start + 500]))
                .values(status="pending", decided_at=now)
            )
            promoted += result.rowcount or 0
    queued = enqueue(conn, plan.notices, as_of=as_of, now=now, dry_run=dry_run)
    cancelled_notices = cancelled_actions = 0
    if not dry_run and len(plan.cancellations):
        for reason, group in plan.cancellations.groupby("reason"):
            notice_keys = list(group["dedupe_key"])
            cancelled_notices += cancel_pending(
                conn, reason=str(reason), now=now, dedupe_keys=notice_keys
            )
            cancelled_actions += cancel_item_actions(
                conn, sorted({item_of(k) for k in notice_keys}), str(reason)
            )
    return Recorded(
        actions_new=len(fresh),
        actions_promoted=promoted,
        notices_new=queued.inserted,
        notices_promoted=queued.promoted,
        notices_cancelled=cancelled_notices,
        actions_cancelled=cancelled_actions,
    )


def _rekey(
    conn: Connection, wanted: dict[str, dict[str, Any]], stored: dict[str, str | None]
) -> None:
    """Set ``customer_key`` on the stored rows of tonight's actions whose key is not the
    one ``wanted`` carries (one executemany; rows without a wanted key are left alone)."""
    stale = [
        {"b_dedupe_key": key, "b_customer_key": wanted[key]["customer_key"]}
        for key, current in stored.items()
        if wanted[key]["customer_key"] is not None and current != wanted[key]["customer_key"]
    ]
    if stale:
        conn.execute(
            update(dunning_actions)
            .where(dunning_actions.c.dedupe_key == bindparam("b_dedupe_key"))
            .values(customer_key=bindparam("b_customer_key")),
            stale,
        )


def cancel_item_actions(conn: Connection, items: list[str], reason: str) -> int:
    """Withdraw the not-yet-executed actions of items that no longer need dunning.

    A ``pending`` provider write is not withdrawn: a run may have died after the
    provider carried it out and before its outcome was recorded (the item then looks
    paid). It is replayed under its idempotency key, and the provider's first answer
    says what really happened (a retry that paid is credited to the retry)."""
    done = 0
    unexecuted = (dunning_actions.c.status == "planned") | (
        (dunning_actions.c.status == "pending") & dunning_actions.c.action.not_in(PROVIDER_WRITES)
    )
    for start in range(0, len(items), 500):
        chunk = items[start : start + 500]
        result = conn.execute(
            update(dunning_actions)
            .where(
                unexecuted,
                (dunning_actions.c.invoice_id.in_(chunk))
                | (
                    dunning_actions.c.invoice_id.is_(None) & dunning_actions.c.payment_id.in_(chunk)
                ),
            )
            .values(status="cancelled", outcome=reason)
        )
        done += result.rowcount or 0
    return done


@task(cache_policy=NO_CACHE, name="record-dunning-plan")
def record_dunning_plan(
    settings: Settings, plan: DunningPlan, as_of: date, now: datetime, dry_run: bool
) -> Recorded:
    with engine_for(settings.database_url).begin() as conn:
        return record_plan(
            conn, plan, as_of, now, dry_run=dry_run, secret=settings.pseudonym_secret()
        )


# -- acting --------------------------------------------------------------------------------


def _execute(connectors: Any, row: dict[str, Any]) -> tuple[str, str, bool]:
    """Carry out one provider action: (status, outcome, recovered)."""
    action, provider, key = row["action"], row["provider"], row["idempotency_key"]
    if not key:
        return "skipped", "no idempotency key: not sent", False
    if action == "retry_payment" and provider == "stripe":
        if not row["invoice_id"]:
            return "skipped", "a Stripe retry needs an invoice", False
        paid = connectors.stripe.pay_invoice(row["invoice_id"], key)
        if paid.paid:
            return "done", "succeeded", True
        return "done", f"declined:{paid.decline_code or paid.error_code or 'unknown'}", False
    if action == "retry_payment" and provider == "gocardless":
        retried = connectors.gocardless.retry_payment(row["payment_id"], key)
        if retried.status == "retried":
            return "done", "retried", False
        return "skipped", f"refused:{retried.reason or 'invalid_state'}", False
    if provider != "stripe":
        return "skipped", f"{action} is not available for {provider}", False
    if action == "suspend":
        if not row["subscription_id"]:
            return "skipped", "no subscription to suspend", False
        connectors.stripe.pause_collection(row["subscription_id"], "keep_as_draft", key)
        return "done", "collection paused", False
    if action == "cancel_at_period_end":
        if not row["subscription_id"]:
            return "skipped", "no subscription to cancel", False
        connectors.stripe.cancel_at_period_end(row["subscription_id"], key)
        return "done", "cancels at period end", False
    if action == "mark_uncollectible":
        connectors.stripe.mark_uncollectible(row["invoice_id"], key)
        return "done", "marked uncollectible", False
    return "skipped", f"unknown action {action}", False


ACTION_WORKERS = 4
"""Customers whose provider actions run at once. Each action waits ~100 ms on its provider,
so one at a time the night's retries took twice their rate-limit floor (54 s against
27.8 s on the large shop); the connectors' token buckets still hold the rate."""


def execute_actions(
    engine: Engine, connectors: Any, now: datetime, workers: int = ACTION_WORKERS
) -> tuple[Counter[str], list[str]]:
    """Run every ``pending`` provider action; returns outcomes and the recovered items.

    A refusal or a decline is an outcome. A provider that stays unreachable raises
    (after the connector's own retries): the run fails clearly, no further action is
    started, the unsent ones stay ``pending`` and the next run re-sends the same
    idempotency key. Customers are served ``workers`` at a time; one customer's actions
    run one after the other, in the ledger's order, as they did before.
    """
    with engine.connect() as conn:
        rows = [
            dict(r._mapping)
            for r in conn.execute(
                select(dunning_actions)
                .where(
                    dunning_actions.c.status == "pending",
                    dunning_actions.c.action.in_(PROVIDER_WRITES),
                )
                .order_by(dunning_actions.c.as_of, dunning_actions.c.dedupe_key)
            )
        ]
    by_customer: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_customer.setdefault(row["customer_id"], []).append(row)
    for provider in sorted({row["provider"] for row in rows}):
        getattr(connectors, provider, None)  # built once here, not raced for by the threads
    stop = threading.Event()

    def serve(actions: list[dict[str, Any]]) -> tuple[Counter[str], list[str]]:
        counts: Counter[str] = Counter()
        recovered: list[str] = []
        for row in actions:
            if stop.is_set():
                break
            try:
                status, outcome, paid = _execute(connectors, row)
            except ConnectorError as exc:
                if exc.retryable:
                    stop.set()
                    raise
                status, outcome, paid = "failed", str(exc)[:500], False
            try:
                _record_outcome(engine, row, status, outcome, paid, now)
            except BaseException:
                stop.set()
                raise
            counts[f"{row['action']}:{status}"] += 1
            if paid:
                recovered.append(row["invoice_id"] or row["payment_id"])
        return counts, recovered

    counts: Counter[str] = Counter()
    recovered: list[str] = []
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="dunning") as pool:
        for done in [pool.submit(serve, actions) for actions in by_customer.values()]:
            got, paid = done.result()  # the first unreachable provider's error, raised
            counts.update(got)
            recovered += paid
    return counts, recovered


def _record_outcome(
    engine: Engine, row: dict[str, Any], status: str, outcome: str, paid: bool, now: datetime
) -> None:
    """The action's outcome; a paid item's other actions and queued reminders cancelled."""
    with engine.begin() as conn:
        conn.execute(
            update(dunning_actions)
            .where(dunning_actions.c.action_id == row["action_id"])
            .values(status=status, outcome=outcome, executed_at=now)
        )
        if paid:
            item = row["invoice_id"] or row["payment_id"]
            cancel_item_actions(conn, [item], "paid_by_retry")
            cancel_pending(
                conn,
                reason="paid_by_retry",
                now=now,
                kinds=["dunning"],
                **(
                    {"invoice_ids": [item]}
                    if row["invoice_id"]
                    else {"dedupe_keys": _notice_keys(conn, item)}
                ),
            )


def _notice_keys(conn: Connection, item: str) -> list[str]:
    query = select(notifications.c.dedupe_key).where(
        notifications.c.dedupe_key.like(f"dunning:{item}:%")
    )
    return [r.dedupe_key for r in conn.execute(query)]


@task(cache_policy=NO_CACHE, name="execute-dunning-actions")
def execute_dunning_actions(settings: Settings, now: datetime) -> dict[str, Any]:
    from connectors.factory import Connectors

    engine = engine_for(settings.database_url)
    counts, recovered = execute_actions(engine, Connectors(settings), now)
    return {"outcomes": dict(sorted(counts.items())), "recovered": recovered}


def settle_email_actions(conn: Connection, now: datetime) -> int:
    """E-mail actions follow their outbox row: sent → done, failed → failed,
    cancelled → cancelled (queued and unknown rows leave the action pending)."""
    changed = 0
    for notice_status, action_status in (
        ("sent", "done"),
        ("failed", "failed"),
        ("cancelled", "cancelled"),
    ):
        sent = select(notifications.c.notification_id).where(
            notifications.c.status == notice_status
        )
        result = conn.execute(
            update(dunning_actions)
            .where(
                dunning_actions.c.status == "pending",
                dunning_actions.c.action.in_(EMAIL_ACTIONS),
                dunning_actions.c.notification_id.in_(sent.scalar_subquery()),
            )
            .values(status=action_status, outcome=f"notification {notice_status}", executed_at=now)
        )
        changed += result.rowcount or 0
    return changed


@task(cache_policy=NO_CACHE, name="settle-email-actions")
def settle_dunning_emails(settings: Settings, now: datetime) -> int:
    with engine_for(settings.database_url).begin() as conn:
        return settle_email_actions(conn, now)


# -- analytics -----------------------------------------------------------------------------


@task(cache_policy=NO_CACHE, name="rebuild-dunning-recovery")
def rebuild_dunning_recovery(
    settings: Settings, as_of: date, facts: pd.DataFrame | None = None
) -> int:
    """Recompute ``dunning_recovery`` from tonight's state (replace, in one transaction).

    ``facts``: the failures tonight's decisions found (:class:`Decided`); tonight's
    actions changed only the ledger, so only the ledger is read here. Without them (a
    rebuild on its own), failures are found one customer partition at a time. Either
    way an unowned failure every partition finds is counted once (partition 0's)."""
    engine = engine_for(settings.database_url)
    if facts is None:
        facts = find_failure_facts(engine, settings, as_of)
    with engine.connect() as conn:
        history = _frame(conn, "history", *SOURCES["history"])
    frame = grouped(dated_failures(facts, history, as_of), as_of)
    columns = [c.name for c in dunning_recovery.columns]
    rows = [{c: _plain(r.get(c)) for c in columns} for r in frame.to_dict("records")]
    with engine.begin() as conn:
        conn.execute(delete(dunning_recovery))
        if rows:
            conn.execute(dunning_recovery.insert(), rows)
    return len(rows)


def find_failure_facts(engine: Engine, settings: Settings, as_of: date) -> pd.DataFrame:
    """Every partition's ``failure_facts``, in partition order (what :class:`Decided`
    carries), read for the analytics alone."""
    found = []
    with customer_partitions(engine, settings.dunning_partition_size) as parts:
        shared = Shared.read(parts[0], FAILURE_INPUTS)
        for part in parts:
            inputs = partition_inputs(part, shared)
            found.append(failure_facts(inputs, as_of, timezone=settings.timezone))
    return pd.concat(found, ignore_index=True)


def planned_table(plan: DunningPlan) -> list[dict[str, Any]]:
    """Tonight's actions for the artifact: ids, stage, action, amount (no address, no name)."""
    keep = ["invoice_id", "payment_id", "customer_id", "provider", "ladder", "stage"]
    keep += ["days_overdue", "action", "amount", "currency"]
    frame = plan.actions.reindex(columns=keep)
    return json.loads(frame.to_json(orient="records"))
