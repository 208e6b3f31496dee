"""GDPR erasure on a synced shop, on SQLite and PostgreSQL: the customer's e-mail, name and
address are gone from every table and payload, their money facts are untouched, their
pending notices cancelled; a second run changes nothing; a full re-sync from the providers
(which still hold the data) does not bring it back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, String, Text, func, select

from domain.erasure import erased_email, pseudonym
from domain.notice import Notice
from flows.erase_customer import erase_customer
from flows.sync import sync
from tasks.erase_customer import UnknownCustomer
from tests.flows.conftest import AS_OF, Live
from warehouse import tables
from warehouse.outbox import enqueue
from warehouse.outbox_tables import notifications


def _most_referenced_stripe_customer(engine: Engine) -> dict:
    p, c = tables.payments, tables.customers
    with engine.connect() as conn:
        customer_id = conn.execute(
            select(p.c.customer_id)
            .where(p.c.provider == "stripe", p.c.customer_id.is_not(None))
            .group_by(p.c.customer_id)
            .order_by(func.count().desc(), p.c.customer_id)
            .limit(1)
        ).scalar_one()
        return dict(conn.execute(select(c).where(c.c.customer_id == customer_id)).mappings().one())


def _money(engine: Engine, customer_id: str) -> tuple:
    i, p = tables.invoices, tables.payments
    with engine.connect() as conn:
        invoices = conn.execute(
            select(func.count(), func.sum(i.c.total)).where(i.c.customer_id == customer_id)
        ).one()
        payments = conn.execute(
            select(func.count(), func.sum(p.c.amount)).where(p.c.customer_id == customer_id)
        ).one()
    return tuple(invoices), tuple(payments)


def _rows_mentioning(engine: Engine, needle: str) -> list[str]:
    """Every (table.column) holding ``needle`` anywhere in the warehouse."""
    found = []
    with engine.connect() as conn:
        for table in tables.metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, (String, Text)):
                    hit = conn.execute(
                        select(func.count()).where(column.like(f"%{needle}%"))
                    ).scalar_one()
                    if hit:
                        found.append(f"{table.name}.{column.name}")
    return found


def _queue_reminder(engine: Engine, customer: dict) -> None:
    notice = Notice(
        dedupe_key=f"dunning:in_test:{customer['customer_id']}",
        kind="dunning",
        template="dunning_reminder_1",
        locale="fr",
        planned_for=AS_OF,
        context={"customer_name": customer["name"], "amount": 4990, "currency": "EUR"},
        customer_id=customer["customer_id"],
        stage="reminder_1",
    )
    with engine.begin() as conn:
        enqueue(conn, [notice], as_of=AS_OF, now=datetime.now(UTC))


@pytest.fixture
def live(synced: Live) -> Live:
    """The shop already synced for AS_OF: copies of the session's one sync of it."""
    return synced


def test_erasure_pseudonymises_everywhere_keeps_the_money_and_sticks(live: Live) -> None:
    customer = _most_referenced_stripe_customer(live.engine)
    cid, email = customer["customer_id"], customer["email"]
    assert email
    assert customer["name"]
    _queue_reminder(live.engine, customer)
    money = _money(live.engine, cid)
    assert "raw_objects.payload" in _rows_mentioning(live.engine, email)

    preview = erase_customer(customer_id=cid, dry_run=True)
    assert preview.changed["customers"] == 1
    assert preview.changed["raw_objects"] >= 1
    assert _rows_mentioning(live.engine, email) != []  # a dry run changes nothing

    report = erase_customer(customer_id=cid)
    assert report.changed == preview.changed
    assert report.cancelled_notices == 1
    assert _rows_mentioning(live.engine, email) == []
    with live.engine.connect() as conn:
        row = (
            conn.execute(select(tables.customers).where(tables.customers.c.customer_id == cid))
            .mappings()
            .one()
        )
        notice = conn.execute(
            select(notifications.c.status, notifications.c.context).where(
                notifications.c.customer_id == cid
            )
        ).one()
    assert (row["email"], row["name"], row["postal_code"]) == (
        erased_email(cid),
        pseudonym(cid),
        None,
    )
    assert (row["country"], row["vat_id"], row["currency"]) == (
        customer["country"],
        customer["vat_id"],
        customer["currency"],
    )
    assert notice.status == "cancelled"
    assert customer["name"] not in notice.context
    assert pseudonym(cid) in notice.context
    assert _money(live.engine, cid) == money

    again = erase_customer(customer_id=cid)
    assert again.changed == {}
    assert again.cancelled_notices == 0

    # The providers still hold the data: a full re-list must not bring it back.
    with live.engine.begin() as conn:
        conn.execute(tables.sync_state.delete())
    assert sync(as_of=AS_OF, return_state=True).is_completed()
    assert _rows_mentioning(live.engine, email) == []


def test_an_unknown_customer_is_a_clear_error_that_changes_nothing(live: Live) -> None:
    state = erase_customer(customer_id="cus_nobody", return_state=True)
    assert state.is_failed()
    with pytest.raises(UnknownCustomer, match="no customer 'cus_nobody'"):
        state.result()
