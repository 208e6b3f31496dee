"""A night's worth of changes at the providers, written into a stopped sandbox's store, and
the check that the next sync picked up exactly those.

What changes, as the providers would show it (``fraction`` = 1 % by default):

- Stripe: that share of the charges (succeeded, not refunded, not disputed) is refunded
  in full: a new refund with a ``refund.created`` event, the charge ``refunded`` with a
  ``charge.refunded`` event carrying ``previous_attributes``;
- GoCardless: that share of the payments, among those ``paid_out``, fails late: status
  ``failed`` and a ``failed`` event with ``cause: late_failure_settled``;
- AfterShip: that share of the trackings, among those not yet delivered, is delivered:
  ``tag: Delivered`` and a new ``updated_at`` (AfterShip has no events).

Every change is dated in the 12 hours after ``after`` (the sandbox's clock when it was
stopped), inside Stripe's 30-day event window. The choice is seeded, so a night is the
same for the same shop. Example: on the medium shop (104,663 charges, 41,811 GoCardless
payments, 17,808 trackings) about 1,000 charges, 400 payments and the parcels in transit
change, and the next night must write exactly those rows.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

WINDOW = timedelta(hours=12)


@dataclass
class Changes:
    """The ids changed, per kind; and which warehouse rows the next night must write."""

    refunded_charges: list[str] = field(default_factory=list)
    refunds: list[str] = field(default_factory=list)
    late_failures: list[str] = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)

    @property
    def objects(self) -> int:
        """Provider objects changed or created (events aside)."""
        return sum(
            map(len, (self.refunded_charges, self.refunds, self.late_failures, self.delivered))
        )

    @property
    def events(self) -> int:
        return 2 * len(self.refunded_charges) + len(self.late_failures)

    def expected(self) -> dict[str, set[str]]:
        """Warehouse table -> the keys the next night must insert or update, and no others."""
        return {
            "payments": {*self.refunded_charges, *self.late_failures},
            "refunds": set(self.refunds),
            "shipments": set(self.delivered),
        }

    def expected_status(self) -> dict[str, tuple[str, set[str]]]:
        return {
            "refunded": ("payments", set(self.refunded_charges)),
            "failed": ("payments", set(self.late_failures)),
            "delivered": ("shipments", set(self.delivered)),
        }


def change_shop(path: Path, *, after: datetime, fraction: float, seed: int) -> Changes:
    """Write one night of changes into the store at ``path`` (the sandbox must be stopped)."""
    from sandbox import schema  # noqa: F401  (registers the resources' indexes)
    from sandbox.providers.stripe_events import WriteContext
    from sandbox.store import Store

    rng = random.Random(f"echeancier-bench/{seed}")
    store = Store.open(path)
    changes = Changes()
    try:
        # Ids only while choosing, the objects read back once chosen: the large shop's
        # million charges as dicts would take gigabytes (same choice, same rng draws).
        charges = [
            c["id"]
            for c in store.iter_all("stripe", "charges")
            if c.get("status") == "succeeded"
            and not c.get("amount_refunded")
            and not c.get("disputed")
        ]
        total = store.count("stripe", "charges")
        for n, charge_id in enumerate(_pick(rng, charges, total, fraction)):
            charge = store.get("stripe", "charges", charge_id)
            assert charge is not None
            now = _epoch(after, n, len(charges) * fraction)
            ctx = WriteContext(store=store, now=now, seed=seed, request_id=f"req_bench{n:08d}")
            refund = {
                "id": f"re_bench{seed:04d}{n:012d}",
                "object": "refund",
                "amount": charge["amount"],
                "charge": charge["id"],
                "payment_intent": charge.get("payment_intent"),
                "created": now,
                "currency": charge["currency"],
                "status": "succeeded",
                "reason": "requested_by_customer",
            }
            ctx.save("refunds", refund)
            ctx.emit("refund.created", refund)
            refunded = {**charge, "amount_refunded": charge["amount"], "refunded": True}
            ctx.save("charges", refunded)
            ctx.emit("charge.refunded", refunded, before=charge)
            changes.refunded_charges.append(charge["id"])
            changes.refunds.append(refund["id"])
        paid_out = [
            p["id"]
            for p in store.iter_all("gocardless", "payments")
            if p.get("status") == "paid_out"
        ]
        total = store.count("gocardless", "payments")
        for n, payment_id in enumerate(_pick(rng, paid_out, total, fraction)):
            payment = store.get("gocardless", "payments", payment_id)
            assert payment is not None
            stamp = datetime.fromtimestamp(_epoch(after, n, total * fraction), UTC)
            store.replace("gocardless", "payments", {**payment, "status": "failed"})
            store.add("gocardless", "events", _late_failure(payment["id"], seed, n, stamp))
            changes.late_failures.append(payment["id"])
        moving = [
            t["id"] for t in store.iter_all("aftership", "trackings") if t.get("tag") != "Delivered"
        ]
        total = store.count("aftership", "trackings")
        for n, parcel_id in enumerate(_pick(rng, moving, total, fraction)):
            parcel = store.get("aftership", "trackings", parcel_id)
            assert parcel is not None
            stamp = datetime.fromtimestamp(_epoch(after, n, total * fraction), UTC).isoformat()
            delivered = {
                **parcel,
                "tag": "Delivered",
                "subtag": "Delivered_001",
                "shipment_delivery_date": stamp,
                "updated_at": stamp,
            }
            store.replace("aftership", "trackings", delivered)
            changes.delivered.append(parcel["id"])
    finally:
        store.close()
    return changes


def _pick(rng: random.Random, candidates: list[str], total: int, fraction: float) -> list[str]:
    """``fraction`` of ``total`` objects drawn from ``candidates`` (all of them if fewer)."""
    wanted = min(len(candidates), max(1, round(total * fraction)))
    return rng.sample(candidates, wanted)


def _epoch(after: datetime, n: int, count: float) -> int:
    """The n-th change's time, spread over the window after ``after``."""
    step = WINDOW.total_seconds() / max(count, 1)
    return int(after.timestamp() + 60 + n * step)


def _late_failure(payment: str, seed: int, n: int, stamp: datetime) -> dict[str, Any]:
    return {
        "id": f"EVB{seed:03d}{n:08d}"[:14],
        "created_at": stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "resource_type": "payments",
        "action": "failed",
        "links": {"payment": payment},
        "details": {
            "origin": "bank",
            "cause": "late_failure_settled",
            "description": "The customer's bank reversed the payment after it was paid out.",
            "scheme": "sepa_core",
            "reason_code": "MD07",
        },
        "metadata": {},
    }


def latest_synced(engine: Engine) -> datetime:
    """The newest ``synced_at`` over the fact tables: rows written later are a night's."""
    from warehouse.tables import FACT_TABLES

    with engine.connect() as conn:
        stamps = [
            conn.execute(select(t.c.synced_at).order_by(t.c.synced_at.desc()).limit(1)).scalar()
            for t in FACT_TABLES
        ]
    return max(s for s in stamps if s is not None)


def written_since(engine: Engine, moment: datetime) -> dict[str, set[str]]:
    """Per fact table, the keys of the rows written after ``moment``."""
    from warehouse.tables import FACT_TABLES

    out: dict[str, set[str]] = {}
    with engine.connect() as conn:
        for table in FACT_TABLES:
            keys = list(table.primary_key.columns)
            rows = conn.execute(select(*keys).where(table.c.synced_at > moment)).all()
            out[table.name] = {"/".join(str(v) for v in row) for row in rows}
    return out


def check_picked_up(engine: Engine, moment: datetime, changes: Changes) -> list[str]:
    """Problems, as data: tables written beyond (or short of) the changes, wrong statuses."""
    from warehouse.tables import payments, shipments

    problems = []
    expected = changes.expected()
    for name, keys in written_since(engine, moment).items():
        want = expected.get(name, set())
        if keys != want:
            extra, missing = sorted(keys - want), sorted(want - keys)
            problems.append(
                f"{name}: {len(extra)} unexpected {extra[:3]}, {len(missing)} missing {missing[:3]}"
            )
    tables = {
        "payments": (payments, payments.c.payment_id),
        "shipments": (shipments, shipments.c.tracking_id),
    }
    with engine.connect() as conn:
        for status, (name, ids) in changes.expected_status().items():
            table, key = tables[name]
            found = Counter(
                conn.execute(select(table.c.status).where(key.in_(sorted(ids)))).scalars()
            )
            if ids and found != {status: len(ids)}:
                problems.append(f"{name} expected {len(ids)} {status}, found {found}")
    return problems
