"""The sync's link step on SQLite and PostgreSQL: after a completed sync it looks only at
the payments a row written since could change, and still fills every link that arrives
after its payment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select

from domain.sync_plan import Tally
from domain.sync_streams import stream
from echeancier.settings import Settings
from tasks.sync_common import refresh_statistics, resolve_payment_links
from tasks.sync_load import load_objects
from tests.domain.normalise import wire
from warehouse import tables
from warehouse.bookkeeping import pipeline_runs

FIRST = datetime(2026, 7, 1, 2, tzinfo=UTC)
SECOND = FIRST + timedelta(days=1)
THIRD = SECOND + timedelta(days=1)


def load(engine: Engine, resource: str, objects: list[dict[str, Any]], seen: datetime) -> None:
    version = int(seen.timestamp())
    with engine.begin() as conn:
        load_objects(
            conn,
            stream("stripe", resource),
            objects,
            [version] * len(objects),
            tz="Europe/Paris",
            seen_at=seen,
            run_id=None,
        )


def link_night(engine: Engine, seen: datetime) -> None:
    """The link step of a sync started at ``seen``, then that sync recorded completed."""
    url = engine.url.render_as_string(hide_password=False)
    resolve_payment_links.fn(Settings(DATABASE_URL=url), seen)  # type: ignore[call-arg]
    with engine.begin() as conn:
        conn.execute(
            insert(pipeline_runs).values(
                run_id=f"sync-{seen:%Y%m%d}",
                flow="sync",
                as_of=date(seen.year, seen.month, seen.day),
                started_at=seen,
                finished_at=seen + timedelta(minutes=1),
                status="completed",
            )
        )


def payment(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(tables.payments).where(tables.payments.c.payment_id == "ch_1"))
        return dict(row.one()._mapping)


def test_an_invoice_payment_that_arrives_a_night_after_its_charge_links_it(
    engine: Engine,
) -> None:
    load(engine, "charges", [wire.charge(payment_intent="pi_1")], FIRST)
    link_night(engine, FIRST)
    link_night(engine, SECOND)  # a quiet night: the charge is older than the last sync
    assert payment(engine)["invoice_id"] is None  # nothing knows its invoice yet

    # Only the invoice and its invoice payment are written, not the charge.
    load(engine, "invoices", [wire.stripe_invoice()], THIRD)
    load(engine, "invoice_payments", [wire.invoice_payment()], THIRD)
    link_night(engine, THIRD)

    linked = payment(engine)
    assert linked["invoice_id"] == "in_1"
    assert (
        linked["subscription_id"]
        == wire.stripe_invoice()["parent"]["subscription_details"]["subscription"]
    )


def test_an_invoice_that_learns_its_subscription_later_passes_it_to_its_payment(
    engine: Engine,
) -> None:
    no_subscription = wire.stripe_invoice(parent=None)
    load(engine, "charges", [wire.charge(payment_intent="pi_1")], FIRST)
    load(engine, "invoices", [no_subscription], FIRST)
    load(engine, "invoice_payments", [wire.invoice_payment()], FIRST)
    link_night(engine, FIRST)
    link_night(engine, SECOND)  # a quiet night
    assert payment(engine)["invoice_id"] == "in_1"
    assert payment(engine)["subscription_id"] is None

    # Only the invoice changes: its invoice payment and the charge are not written again.
    load(engine, "invoices", [wire.stripe_invoice()], THIRD)
    link_night(engine, THIRD)

    assert payment(engine)["subscription_id"] is not None


def test_a_night_that_wrote_nothing_changes_no_payment(engine: Engine) -> None:
    load(engine, "charges", [wire.charge(payment_intent="pi_1")], FIRST)
    link_night(engine, FIRST)
    before = payment(engine)

    link_night(engine, SECOND)

    assert payment(engine) == before


def test_a_full_listing_on_postgresql_leaves_its_tables_analysed(engine: Engine) -> None:
    """The planner needs statistics of the tables a first sync fills: without them the
    night's joins are planned as over empty tables."""
    load(engine, "charges", [wire.charge(payment_intent="pi_1")], FIRST)
    url = engine.url.render_as_string(hide_password=False)
    settings = Settings(DATABASE_URL=url)  # type: ignore[call-arg]
    streams = {"stripe/payments": Tally(inserted=1), "stripe/refunds": Tally(unchanged=3)}

    before = analysed_at(engine)
    quiet = refresh_statistics.fn(settings, streams, {"stripe": "incremental"})
    full = refresh_statistics.fn(settings, streams, {"stripe": "full"})

    assert quiet == []
    if engine.dialect.name != "postgresql":
        assert full == []  # SQLite plans without statistics
        return
    assert full == ["payments"]  # written; refunds were not
    after = analysed_at(engine)
    assert after["payments"] is not None
    assert after["payments"] != before.get("payments")
    assert after.get("refunds") == before.get("refunds")


def analysed_at(engine: Engine) -> dict[str, Any]:
    if engine.dialect.name != "postgresql":
        return {}
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT relname, last_analyze FROM pg_stat_user_tables")
        return {name: when for name, when in rows}
