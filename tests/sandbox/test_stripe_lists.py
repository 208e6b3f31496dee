"""Stripe lists as the SDK walks them: cursors, date bounds, filters, expansion, events."""

from __future__ import annotations

import pytest
import stripe

from sandbox.server import RunningSandbox
from sandbox.store import Store
from tests.conftest import SANDBOX_NOW
from tests.sandbox.stripe_shop import T0, client, customer, get, invoice


def _charges(store: Store, n: int, *, per_second: int = 7) -> list[str]:
    """``n`` charges, ``per_second`` of them sharing each creation second; ids oldest first."""
    ids = [f"ch_{i:05d}" for i in range(n)]
    with store.bulk() as bulk:
        for i, charge_id in enumerate(ids):
            bulk.add(
                "stripe",
                "charges",
                {
                    "id": charge_id,
                    "object": "charge",
                    "created": T0 + i // per_second,
                    "amount": 1000 + i,
                    "currency": "eur",
                    "customer": "cus_A" if i % 2 else "cus_B",
                    "balance_transaction": f"txn_{i:05d}",
                },
            )
            bulk.add(
                "stripe",
                "balance_transactions",
                {
                    "id": f"txn_{i:05d}",
                    "object": "balance_transaction",
                    "created": T0 + i // per_second,
                    "amount": 1000 + i,
                    "fee": 40,
                    "net": 960 + i,
                    "currency": "eur",
                    "source": charge_id,
                    "type": "charge",
                    "reporting_category": "charge",
                },
                extra={"payout": "po_EVEN" if i % 2 == 0 else "po_ODD"},
            )
    return ids


def _events(store: Store, types: list[str]) -> list[str]:
    ids = [f"evt_{i:03d}" for i in range(len(types))]
    for i, (evt_id, evt_type) in enumerate(zip(ids, types, strict=True)):
        store.add(
            "stripe",
            "events",
            {
                "id": evt_id,
                "object": "event",
                "api_version": "2026-10-28.endive",
                "created": T0 + i // 2,
                "type": evt_type,
                "data": {"object": {"id": f"in_{i}", "object": "invoice"}},
                "pending_webhooks": 0,
                "request": {"id": None, "idempotency_key": None},
            },
        )
    return ids


def test_auto_paging_visits_every_charge_once_newest_first_across_ties(
    sandbox: RunningSandbox, store: Store
) -> None:
    ids = _charges(store, 250)
    page = client(sandbox).v1.charges.list(params={"limit": 100})
    assert page.object == "list"
    assert page.url == "/v1/charges"
    assert page.has_more is True
    assert len(page.data) == 100
    seen = [charge.id for charge in page.auto_paging_iter()]
    assert seen == ids[::-1]  # ties on ``created`` keep insertion order, reversed


def test_ending_before_walks_events_forward_from_a_watermark(
    sandbox: RunningSandbox, store: Store
) -> None:
    ids = _events(store, ["invoice.paid"] * 9)
    first = client(sandbox).v1.events.list(params={"ending_before": ids[1], "limit": 3})
    # The page just newer than the watermark, still newest first; more exist beyond it.
    assert [e.id for e in first.data] == [ids[4], ids[3], ids[2]]
    assert first.has_more is True
    walked = [e.id for e in first.auto_paging_iter()]
    assert walked == ids[2:]  # oldest to newest after the watermark, each once


def test_created_gt_excludes_and_gte_includes_the_boundary_second(
    sandbox: RunningSandbox, store: Store
) -> None:
    ids = _charges(store, 21, per_second=7)  # seconds T0, T0+1, T0+2: 7 charges each
    c = client(sandbox)
    gt = [ch.id for ch in c.v1.charges.list(params={"created": {"gt": T0 + 1}, "limit": 100})]
    gte = [ch.id for ch in c.v1.charges.list(params={"created": {"gte": T0 + 1}, "limit": 100})]
    assert gt == ids[14:][::-1]
    assert gte == ids[7:][::-1]
    exact = get(sandbox, "/v1/charges", created=T0 + 1, limit=100).json()["data"]
    assert [ch["id"] for ch in exact] == ids[7:14][::-1]
    lt = c.v1.charges.list(params={"created": {"lt": T0 + 1}, "limit": 100})
    assert [ch.id for ch in lt] == ids[:7][::-1]


def test_balance_transactions_filter_by_payout_with_expanded_source(
    sandbox: RunningSandbox, store: Store
) -> None:
    ids = _charges(store, 30)
    page = client(sandbox).v1.balance_transactions.list(
        params={"payout": "po_ODD", "limit": 100, "expand": ["data.source"]}
    )
    assert [t.source.id for t in page.data] == [i for i in ids[::-1] if int(i[3:]) % 2]
    assert isinstance(page.data[0].source, stripe.Charge)
    assert all(t.source.amount == t.amount for t in page.data)


def test_invoices_filter_by_customer(sandbox: RunningSandbox, store: Store) -> None:
    customer(store, "cus_A")
    customer(store, "cus_B")
    for i in range(6):
        invoice(store, f"in_{i}", "cus_A" if i % 3 else "cus_B", created=T0 + i)
    page = client(sandbox).v1.invoices.list(params={"customer": "cus_A"})
    assert [inv.id for inv in page.data] == ["in_5", "in_4", "in_2", "in_1"]
    assert all(isinstance(inv, stripe.Invoice) for inv in page.data)


def test_expand_on_retrieve_and_both_array_encodings(sandbox: RunningSandbox, store: Store) -> None:
    _charges(store, 3)
    charge = client(sandbox).v1.charges.retrieve(
        "ch_00001", params={"expand": ["balance_transaction"]}
    )
    assert isinstance(charge.balance_transaction, stripe.BalanceTransaction)
    assert charge.balance_transaction.source == "ch_00001"
    for key in ("expand[]", "expand[0]"):
        body = get(sandbox, "/v1/charges", **{key: "data.balance_transaction"}).json()
        assert body["data"][0]["balance_transaction"]["object"] == "balance_transaction"
    plain = get(sandbox, "/v1/charges").json()
    assert plain["data"][0]["balance_transaction"] == "txn_00002"


def test_events_type_wildcard_and_types_array(sandbox: RunningSandbox, store: Store) -> None:
    types = ["invoice.paid", "charge.failed", "invoice.payment_failed", "customer.updated"]
    ids = _events(store, types)
    c = client(sandbox)
    wildcard = c.v1.events.list(params={"type": "invoice.*"})
    assert [e.id for e in wildcard] == [ids[2], ids[0]]
    several = c.v1.events.list(params={"types": ["charge.failed", "customer.updated"]})
    assert [e.id for e in several] == [ids[3], ids[1]]
    exact = c.v1.events.list(params={"type": "invoice.paid"})
    assert [e.id for e in exact] == [ids[0]]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        c.v1.events.list(params={"type": "invoice.paid", "types": ["charge.failed"]})
    assert exc.value.param == "type"


def test_subscriptions_list_hides_canceled_unless_asked(
    sandbox: RunningSandbox, store: Store
) -> None:
    for i, status in enumerate(["active", "canceled", "past_due"]):
        store.add(
            "stripe",
            "subscriptions",
            {"id": f"sub_{i}", "object": "subscription", "created": T0 + i, "status": status},
        )
    c = client(sandbox)
    assert [s.id for s in c.v1.subscriptions.list()] == ["sub_2", "sub_0"]
    assert [s.id for s in c.v1.subscriptions.list(params={"status": "all"})] == [
        "sub_2",
        "sub_1",
        "sub_0",
    ]
    assert [s.id for s in c.v1.subscriptions.list(params={"status": "canceled"})] == ["sub_1"]


@pytest.mark.parametrize(
    ("params", "param", "message"),
    [
        ({"limit": "0"}, "limit", "This value must be greater than or equal to 1."),
        ({"limit": "101"}, "limit", "This value must be less than or equal to 100."),
        ({"limit": "ten"}, "limit", "Invalid integer: ten"),
        ({"created[gte]": "soon"}, "created[gte]", "Invalid integer: soon"),
    ],
)
def test_invalid_list_parameters_get_stripes_400(
    sandbox: RunningSandbox, params: dict[str, str], param: str, message: str
) -> None:
    response = get(sandbox, "/v1/charges", **params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "parameter_invalid_integer"
    assert error["param"] == param
    assert error["message"] == message
    assert response.headers["Request-Id"].startswith("req_")


def test_unknown_cursor_and_unknown_filter_are_invalid_requests(
    sandbox: RunningSandbox, store: Store
) -> None:
    _charges(store, 3)
    c = client(sandbox)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        c.v1.charges.list(params={"starting_after": "ch_gone"})
    assert exc.value.code == "resource_missing"
    assert exc.value.param == "starting_after"
    assert exc.value.user_message == "No such charge: 'ch_gone'"
    response = get(sandbox, "/v1/charges", payout="po_1")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Received unknown parameter: payout"


def test_events_older_than_30_days_are_gone(sandbox: RunningSandbox, store: Store) -> None:
    now = int(SANDBOX_NOW.timestamp())
    for evt_id, age_days in (("evt_old", 31), ("evt_recent", 29)):
        store.add(
            "stripe",
            "events",
            {
                "id": evt_id,
                "object": "event",
                "created": now - age_days * 86400,
                "type": "invoice.paid",
                "data": {"object": {"id": "in_1", "object": "invoice"}},
            },
        )
    c = client(sandbox)
    assert [e.id for e in c.v1.events.list()] == ["evt_recent"]
    assert [e.id for e in c.v1.events.list(params={"created": {"gte": 0}})] == ["evt_recent"]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        c.v1.events.retrieve("evt_old")
    assert exc.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        c.v1.events.list(params={"ending_before": "evt_old"})
    assert exc.value.param == "ending_before"
    assert c.v1.events.retrieve("evt_recent").type == "invoice.paid"
