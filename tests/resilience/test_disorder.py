"""Event disorder end to end: duplicated, out-of-order and late Stripe events never roll an
object back, through the real sync on SQLite and PostgreSQL.

Stripe lists events by their ``created`` second; within one second their order is not
a promise, and an event of that second can appear after the sync has read past it. So
after the first night the shop's customer pays an open invoice (through Stripe's own
``pay`` endpoint: ``invoice.paid`` and its companions), and in the same second the
stream also carries a duplicate of ``invoice.paid`` and an ``invoice.updated`` holding
the invoice as it was before (open, nothing paid), listed after them. The next night
must store the invoice paid. Then, after that night, one more stale ``invoice.updated``
of that same second turns up past the cursor: the night after must still say paid
(that night also reads the paid events again in its overlap before the cursor: refused).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import select
from stripe import StripeClient

from flows.sync import sync
from sandbox.providers.stripe_events import WriteContext
from tests.flows.conftest import AS_OF, Live
from warehouse import tables


def synced(live: Live) -> Any:
    state = sync(as_of=AS_OF, return_state=True)
    assert state.is_completed(), state.message
    return state.result()


def stored(live: Live, invoice_id: str) -> dict[str, Any]:
    t = tables.invoices
    with live.engine.connect() as conn:
        return dict(conn.execute(select(t).where(t.c.invoice_id == invoice_id)).one()._mapping)


def newest_event(live: Live) -> dict[str, Any]:
    return max(live.store.iter_all("stripe", "events"), key=lambda e: e["created"])


def replay(live: Live, event: dict[str, Any], event_type: str, snapshot: dict[str, Any]) -> None:
    """A new event in ``event``'s second carrying ``snapshot``, listed after it."""
    ctx = WriteContext(store=live.store, now=int(event["created"]), seed=7, request_id="req_late")
    ctx.emit(event_type, copy.deepcopy(snapshot))


# The newest-wins merge's SQL is proven on both databases by tests/warehouse/
# test_upsert_order.py; this end-to-end replay runs on SQLite to keep the suite in budget.
@pytest.mark.parametrize("warehouse_url", ["sqlite"], indirect=True)
def test_duplicated_out_of_order_and_late_events_never_roll_an_invoice_back(live: Live) -> None:
    synced(live)
    before = next(
        i
        for i in live.store.iter_all("stripe", "invoices")
        if i.get("status") == "open" and i.get("amount_remaining")
    )
    assert stored(live, before["id"])["status"] == "open"

    live.advance(3600)
    stripe = StripeClient(live.sandbox.env()["STRIPE_API_KEY"], base_addresses={"api": live.url})
    stripe.v1.invoices.pay(before["id"], {"paid_out_of_band": True})
    paid_event = newest_event(live)
    paid = live.store.get("stripe", "invoices", before["id"])
    assert paid is not None
    assert paid["status"] == "paid"
    replay(live, paid_event, "invoice.paid", paid)  # delivered twice
    replay(live, paid_event, "invoice.updated", before)  # an older state, listed after

    report = synced(live)  # (one batch: the open copy is superseded within it)
    row = stored(live, before["id"])
    assert (row["status"], row["amount_remaining"]) == ("paid", 0)
    assert report.streams["stripe/invoices"].updated == 1

    replay(live, paid_event, "invoice.updated", before)  # late: past tonight's cursor
    late = synced(live).streams["stripe/invoices"]
    row = stored(live, before["id"])
    assert (row["status"], row["amount_remaining"]) == ("paid", 0)
    # Refused as older, both: the night's overlap reads the paid invoice's events of the
    # night before again (at position 0, under the stored version), then the late copy.
    assert (late.stale, late.updated) == (2, 0)
