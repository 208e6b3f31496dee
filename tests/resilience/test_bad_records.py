"""Bad records through the warehouse and the quality gate, and never to a customer.

1. Property, on SQLite and PostgreSQL: a batch of broken provider objects (the mutations
   of ``tests/domain/normalise/test_bad_input.py``) mixed into a clean little shop goes
   through the sync's own loader (normalise, upsert, quarantine, raw copy, in one
   transaction per stream) and then the real gate (Great Expectations). Nothing raises;
   each broken object is a row or a quarantine row with a reason; the gate either
   passes, quarantining only broken rows, or fails naming the table and expectation.
   Few examples: each one runs the gate (seconds of GX).
2. End to end: an overdue invoice reminded on the first night is updated at Stripe with
   a currency that is not ISO 4217. The next night's sync quarantines the update (the
   stored row, last night's valid copy, stays), and that night's dunning, on the day of
   the invoice's next step, leaves it alone: no action, no mail.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, func, select

from domain.sync_streams import stream
from expectations.gate import run_gate
from flows.dunning import DunningReport, dunning
from flows.sync import sync
from sandbox.providers.stripe_events import WriteContext
from tasks.sync_load import load_objects
from tests.domain.normalise import wire
from tests.domain.normalise.test_bad_input import BUILDERS, CHANGES, broken, storable
from tests.flows.conftest import AS_OF, SEED
from tests.resilience.conftest import in_process
from tests.resilience.harness import world
from warehouse import tables
from warehouse.engine import make_engine
from warehouse.outbox_tables import dunning_actions

FILLER = 20  # clean rows per table, so one orphan stays under a link's 5 % threshold
SEEN = datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
DEFAULT_IDS: dict[tuple[str, str], Callable[..., dict[str, Any]]] = {
    ("stripe", "customers"): wire.stripe_customer,
    ("stripe", "subscriptions"): wire.stripe_subscription,
    ("stripe", "invoices"): wire.stripe_invoice,
    ("stripe", "invoice_payments"): wire.invoice_payment,
    ("stripe", "charges"): wire.charge,
    ("gocardless", "customers"): wire.gc_customer,
    ("gocardless", "mandates"): wire.gc_mandate,
    ("gocardless", "subscriptions"): wire.gc_subscription,
    ("gocardless", "payments"): wire.gc_payment,
    ("aftership", "trackings"): wire.tracking,
}
ORDER = [  # parents before children, as the sync loads lookups first
    ("stripe", "customers"),
    ("gocardless", "customers"),
    ("gocardless", "mandates"),
    ("stripe", "subscriptions"),
    ("gocardless", "subscriptions"),
    ("stripe", "invoices"),
    ("stripe", "invoice_payments"),
    ("stripe", "charges"),
    ("gocardless", "payments"),
    ("aftership", "trackings"),
]


def clean_shop() -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Per stream: the builders' own object (the one every other one links to) and filler."""
    shop: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for which, build in DEFAULT_IDS.items():
        first = build()
        shop[which] = [first] + [BUILDERS[which](f"{first['id']}_{k}") for k in range(FILLER)]
    shop[("stripe", "tax_rates")] = [wire.tax_rate("txr_de_reverse", "DE", 0)]
    return shop


def empty(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(tables.metadata.sorted_tables):
            conn.execute(delete(table))


def load(engine: Engine, shop: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
    """As the sync does: one transaction per stream's batch, lookups read from raw copies."""
    for which in [("stripe", "tax_rates"), *ORDER]:
        objects = shop.get(which, [])
        with engine.begin() as conn:
            load_objects(
                conn,
                stream(*which),
                objects,
                [1] * len(objects),
                tz="Europe/Paris",
                seen_at=SEEN,
                run_id="bad-records",
            )


BATCH = st.lists(st.tuples(st.sampled_from(ORDER), CHANGES), min_size=4, max_size=10)


@pytest.fixture
def warehouse(warehouse_url: str) -> Engine:
    return make_engine(warehouse_url)


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=BATCH)
def test_broken_objects_are_quarantined_or_the_gate_names_what_failed(
    warehouse: Engine, batch: list[tuple[tuple[str, str], Any]]
) -> None:
    empty(warehouse)
    shop = clean_shop()
    bad_ids = []
    for n, (which, changes) in enumerate(batch):
        bad = broken(BUILDERS[which](f"bad_{n}"), changes)
        shop[which].append(bad)
        bad_ids.append((which, bad.get("id")))

    load(warehouse, shop)  # never raises
    result = run_gate(warehouse, seen_at=SEEN, run_id="bad-records")  # nor does this

    q = tables.quarantine
    with warehouse.connect() as conn:
        parked = {(r.object_type, r.object_id): r.reason for r in conn.execute(select(q))}
        for which, object_id in bad_ids:
            spec = stream(*which)
            table = tables.metadata.tables[spec.outputs[0].table]
            key = next(iter(table.primary_key.columns))
            if not isinstance(object_id, str) or not object_id or not storable(object_id):
                continue  # quarantined under a stand-in id (``no-id:…``)
            stored = conn.execute(select(func.count()).where(key == object_id)).scalar_one()
            assert stored or (spec.object_type, object_id) in parked, (which, object_id)
        assert all(reason for reason in parked.values())
    good = {o["id"] for which in ORDER for o in shop[which][: FILLER + 1]}
    if result.passed:
        assert not {i for _, i in parked if i in good}  # no clean row is taken for a bad one
    else:
        assert "expect_" in result.message
        assert any(f"{name}." in result.message for name in tables.metadata.tables)


# -- end to end: quarantined tonight, left alone tonight -----------------------------------


def run_dunning(as_of: Any) -> DunningReport:
    state = dunning(as_of=as_of, return_state=True)
    assert state.is_completed(), state.message
    return state.result()


@pytest.mark.usefixtures("prefect_server")
def test_an_invoice_quarantined_tonight_gets_no_dunning_tonight(
    shop_template: tuple[Path, Any],
    sqlite_warehouse_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from domain.dunning import load_policy
    from echeancier.settings import load_settings

    template, summary = shop_template
    shutil.copyfile(sqlite_warehouse_template, tmp_path / "warehouse.db")
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    with world(template, summary, url, tmp_path, seed=SEED) as w:
        in_process(w, monkeypatch)
        assert sync(as_of=AS_OF, return_state=True).is_completed()
        run_dunning(AS_OF)
        with w.engine.connect() as conn:
            first = conn.execute(
                select(dunning_actions).where(dunning_actions.c.action == "email")
            ).first()
        assert first is not None, "the shop has an invoice reminded on its last day"
        invoice_id, ladder, stage = first.invoice_id, first.ladder, first.stage
        steps = {
            s.stage: s.day
            for s in load_policy(load_settings().policies / "dunning.yaml").ladders[ladder].steps
        }
        later = sorted(d for d in steps.values() if d > steps[stage])
        assert later, "the invoice has a step ahead of it"
        next_night = AS_OF + timedelta(days=later[0] - first.days_overdue)
        mailed = len(w.mails())

        # The provider sends an update of the invoice with a currency that is no currency.
        w.advance(86_400 * (next_night - AS_OF).days)
        sparse = w.store.get("stripe", "invoices", invoice_id)
        assert sparse is not None
        bad = {**sparse, "currency": "EURO"}
        ctx = WriteContext(
            store=w.store, now=int(w.sandbox.app.state.clock.epoch()), seed=7, request_id="req_bad"
        )
        ctx.save("invoices", bad)
        ctx.emit("invoice.updated", bad, before=sparse)

        assert sync(as_of=next_night, return_state=True).is_completed()
        report = run_dunning(next_night)

        q = tables.quarantine
        with w.engine.connect() as conn:
            parked = (
                conn.execute(
                    select(q.c.reason).where(q.c.object_id == invoice_id, q.c.resolved_at.is_(None))
                )
                .scalars()
                .all()
            )
            stored = conn.execute(
                select(tables.invoices.c.currency).where(tables.invoices.c.invoice_id == invoice_id)
            ).scalar_one()
            tonight = conn.execute(
                select(dunning_actions).where(
                    dunning_actions.c.invoice_id == invoice_id,
                    dunning_actions.c.as_of == next_night,
                )
            ).all()
        assert parked == ["currency 'EURO' is not ISO 4217"]
        assert stored == "EUR"  # last night's valid copy stays …
        assert tonight == []  # … and is not acted on while its update is quarantined
        assert report.decided.get("skipped:quarantined", 0) >= 1
        assert len(w.mails()) == mailed
