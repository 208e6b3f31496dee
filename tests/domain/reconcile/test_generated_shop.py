"""On a generated shop, reconciliation finds every deliberate anomaly and nothing else.

The shop (300 customers: three of each anomaly kind) is normalised straight from the
sandbox store (``shop_frames``: the sync's own normalisers, no HTTP). Every exception
must be either a planted anomaly (compared by its ids) or a genuine case the generator
makes on its own: chargebacks and late failures (``Summary.notable``), and a parcel
whose direct debit failed ("shipped, not paid"). A second night, after the store fixes
two anomalies and gains two new ones, resolves and opens exactly those.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.reconcile import (
    Frames,
    ReconPolicy,
    empty_register,
    find_exceptions,
    update_register,
)
from sandbox.generate import Summary, generate
from sandbox.store import Store
from tests.domain.reconcile.anomalies import assert_only_genuine
from tests.domain.reconcile.shop_frames import shop_frames

AS_OF = date(2026, 6, 30)
POLICY = ReconPolicy()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Summary]]:
    store = Store.open(tmp_path_factory.mktemp("shop") / "shop.db")
    summary = generate(store, "small", 7, AS_OF)
    yield store, summary
    store.close()


def test_every_anomaly_is_found_and_nothing_else(shop: tuple[Store, Summary]) -> None:
    store, summary = shop
    frames = shop_frames(store)

    found = find_exceptions(Frames.of(frames), AS_OF, POLICY)

    assert sum(len(v) for v in summary.anomalies.values()) == 19
    assert_only_genuine(found, frames, summary)


def _charge(store: Store, charge_id: str) -> dict[str, Any]:
    obj = store.get("stripe", "charges", charge_id)
    assert obj is not None
    return dict(obj)


def test_a_second_night_resolves_the_fixed_and_opens_the_new(
    shop: tuple[Store, Summary], tmp_path: Path
) -> None:
    source, summary = shop
    copy = tmp_path / "shop.db"
    with sqlite3.connect(source.path) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    store = Store.open(copy)
    night1 = update_register(
        empty_register(), find_exceptions(Frames.of(shop_frames(store)), AS_OF, POLICY), AS_OF
    )
    clock = int(summary.clock_start.timestamp())
    # fixes: the Stripe paid-not-shipped order ships; the Stripe unrefunded return is refunded
    unshipped = next(a for a in summary.anomalies["paid_not_shipped"] if "charge" in a)
    parcel = dict(next(iter(store.iter_all("aftership", "trackings"))))
    parcel.update(id="f" * 32, order_id=unshipped["order_id"], tracking_number="FIX1FR")
    store.add("aftership", "trackings", parcel)
    returned = next(a for a in summary.anomalies["return_without_refund"] if "charge" in a)
    charge = _charge(store, returned["charge"])
    refund = {
        "id": "re_fixreturn000000000000000",
        "object": "refund",
        "amount": charge["amount"],
        "charge": charge["id"],
        "payment_intent": charge.get("payment_intent"),
        "currency": "eur",
        "created": clock + 3600,
        "status": "succeeded",
        "reason": "requested_by_customer",
        "metadata": {"order_id": returned["order_id"]},
    }
    store.add("stripe", "refunds", refund)
    # new: a card order charged a second time, and a charge that names nothing
    order = summary.anomalies["refund_without_return"][0]
    twice = _charge(store, summary.anomalies["amount_mismatch"][0]["charge"])
    twice.update(id="ch_newduplicate0000000000", created=twice["created"] + 60)
    twice["payment_intent"] = "pi_newduplicate0000000000"
    store.add("stripe", "charges", twice)
    orphan = _charge(store, order["charge"])
    orphan.update(id="ch_neworphan000000000000000", created=clock + 60, metadata={})
    orphan.update(payment_intent="pi_neworphan00000000000000", refunded=False, amount_refunded=0)
    store.add("stripe", "charges", orphan)

    night2_as_of = AS_OF + timedelta(days=1)
    found = find_exceptions(Frames.of(shop_frames(store)), night2_as_of, POLICY)
    night2 = update_register(night1, found, night2_as_of)
    store.close()

    resolved = night2[night2["resolved_on"].eq(night2_as_of)]
    opened = night2[night2["first_seen_on"].eq(night2_as_of)]
    assert sorted(resolved["kind"]) == ["paid_not_shipped", "return_without_refund"]
    assert unshipped["order_id"] in resolved["object_ids"].str.cat()
    assert returned["order_id"] in resolved["object_ids"].str.cat()
    assert sorted(opened["kind"]) == ["duplicate_payment", "orphan_payment"]
    assert "ch_newduplicate0000000000" in opened["object_ids"].str.cat()
    assert "ch_neworphan000000000000000" in opened["object_ids"].str.cat()
    unchanged = night2[
        ~night2["exception_id"].isin([*resolved["exception_id"], *opened["exception_id"]])
    ]
    assert (unchanged["status"] == "open").all()
    assert (unchanged["last_seen_on"] == night2_as_of).all()
