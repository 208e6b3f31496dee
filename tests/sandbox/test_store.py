"""The store's list order and cursors are what every emulator's pagination stands on."""

from __future__ import annotations

import pytest

from sandbox import schema  # noqa: F401  (registers the indexes)
from sandbox.store import Store, UnknownCursor


def _charges(store: Store, n: int, *, per_second: int = 3) -> list[str]:
    ids = [f"ch_{i:04d}" for i in range(n)]
    with store.bulk() as bulk:
        for i, charge_id in enumerate(ids):
            bulk.add(
                "stripe",
                "charges",
                {
                    "id": charge_id,
                    "object": "charge",
                    "created": 1_700_000_000 + i // per_second,
                    "customer": "cus_A" if i % 2 else "cus_B",
                },
            )
    return ids


def _walk(store: Store, **kwargs: object) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        page, more = store.list("stripe", "charges", after=after, limit=7, **kwargs)  # type: ignore[arg-type]
        seen += [obj["id"] for obj in page]
        if not more:
            return seen
        after = page[-1]["id"]


def test_walking_after_cursors_yields_each_object_once_newest_first(store: Store) -> None:
    ids = _charges(store, 50)
    assert _walk(store) == list(reversed(ids))


def test_before_cursor_returns_the_nearest_newer_items_in_list_order(store: Store) -> None:
    ids = _charges(store, 20)
    page, more = store.list("stripe", "charges", before=ids[5], limit=3)
    assert [o["id"] for o in page] == [ids[8], ids[7], ids[6]]
    assert more is True
    page, more = store.list("stripe", "charges", before=ids[17], limit=3)
    assert [o["id"] for o in page] == [ids[19], ids[18]]
    assert more is False


def test_created_bounds_separate_gt_from_gte_on_the_boundary_second(store: Store) -> None:
    _charges(store, 12, per_second=3)  # seconds 0..3, three charges each
    boundary = 1_700_000_002
    gte, _ = store.list("stripe", "charges", created={"gte": boundary}, limit=100)
    gt, _ = store.list("stripe", "charges", created={"gt": boundary}, limit=100)
    assert len(gte) == 6
    assert len(gt) == 3
    assert all(o["created"] > boundary for o in gt)


def test_filters_and_wildcards(store: Store) -> None:
    _charges(store, 10)
    page, _ = store.list("stripe", "charges", where={"customer": "cus_A"}, limit=100)
    assert {o["customer"] for o in page} == {"cus_A"}
    assert len(page) == 5
    for i, kind in enumerate(["invoice.paid", "invoice.payment_failed", "charge.failed"]):
        store.add(
            "stripe",
            "events",
            {"id": f"evt_{i}", "object": "event", "created": 1_700_000_000 + i, "type": kind},
        )
    page, _ = store.list("stripe", "events", where={"type": "invoice.*"}, limit=10)
    assert [o["type"] for o in page] == ["invoice.payment_failed", "invoice.paid"]
    page, _ = store.list("stripe", "events", where={"type": ["charge.failed", "x"]}, limit=10)
    assert [o["id"] for o in page] == ["evt_2"]


def test_replace_keeps_position_and_extra_keys(store: Store) -> None:
    for i in range(3):
        store.add(
            "stripe",
            "balance_transactions",
            {"id": f"txn_{i}", "object": "balance_transaction", "created": 10 + i},
            extra={"payout": "po_1"},
        )
    store.replace(
        "stripe",
        "balance_transactions",
        {"id": "txn_0", "object": "balance_transaction", "created": 10, "status": "available"},
    )
    page, _ = store.list("stripe", "balance_transactions", where={"payout": "po_1"}, limit=10)
    assert [o["id"] for o in page] == ["txn_2", "txn_1", "txn_0"]
    assert page[-1]["status"] == "available"


def test_unknown_cursor_is_an_error_not_an_empty_page(store: Store) -> None:
    _charges(store, 3)
    with pytest.raises(UnknownCursor):
        store.list("stripe", "charges", after="ch_missing", limit=10)


def _load_one_good_one_bad(store: Store) -> None:
    with store.bulk() as bulk:
        bulk.add("stripe", "charges", {"id": "ch_1", "object": "charge", "created": 1})
        bulk.add("stripe", "charges", {"id": "ch_2", "object": "charge"})


def test_bulk_failure_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(ValueError, match="has no created"):
        _load_one_good_one_bad(store)
    assert store.count("stripe", "charges") == 0
