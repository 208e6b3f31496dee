"""Scenario folders: load, write, round trip, clear errors, the generated-shop cache."""

from __future__ import annotations

import filecmp
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from sandbox.generate import generate
from sandbox.scenario import ScenarioError, load_dir, prepare, write_dir
from sandbox.store import Store

AS_OF = date(2026, 6, 30)


def _put(root: Path, rel: str, data: Any) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def _tree(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*.json"))


def test_write_load_write_gives_identical_files(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "gen.db")
    generate(store, "small", 11, AS_OF, customers=150)
    first = write_dir(store, tmp_path / "one")
    loaded = Store.open(tmp_path / "loaded.db")
    counts = load_dir(loaded, tmp_path / "one")
    second = write_dir(loaded, tmp_path / "two")
    assert first == second
    assert counts["stripe/charges"] == first["stripe/charges.json"]
    assert _tree(tmp_path / "one") == _tree(tmp_path / "two")
    for rel in _tree(tmp_path / "one"):
        assert filecmp.cmp(tmp_path / "one" / rel, tmp_path / "two" / rel, shallow=False), rel
    # links the wire objects lack survive the trip
    bt = next(iter(loaded.iter_grouped("stripe", "balance_transactions", "payout")))
    assert bt[0].startswith("po_")
    payment = next(loaded.iter_all("gocardless", "payments"))
    assert loaded.extra("gocardless", "payments", payment["id"])["customer"].startswith("CU")


def test_written_folder_has_the_design_layout(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "gen.db")
    generate(store, "small", 11, AS_OF, customers=60)
    write_dir(store, tmp_path / "out")
    names = {str(p) for p in _tree(tmp_path / "out")}
    assert {
        "stripe/charges.json",
        "stripe/payment_methods.json",
        "stripe/tax_rates.json",
        "stripe/events.json",
        "stripe/payout_balance_transactions.json",
        "gocardless/payments.json",
        "gocardless/payout_items.json",
        "aftership/trackings.json",
    } <= names
    charges = json.loads((tmp_path / "out" / "stripe" / "charges.json").read_text())
    assert charges
    assert all(c["object"] == "charge" for c in charges)
    links = json.loads(
        (tmp_path / "out" / "stripe" / "payout_balance_transactions.json").read_text()
    )
    assert all(k.startswith("po_") and v for k, v in links.items())
    items = json.loads((tmp_path / "out" / "gocardless" / "payout_items.json").read_text())
    assert all(k.startswith("PO") and isinstance(v, list) for k, v in items.items())


def test_a_hand_written_scenario_loads_with_derived_links(tmp_path: Path) -> None:
    root = tmp_path / "scenario"
    _put(
        root,
        "stripe/balance_transactions.json",
        [
            {
                "id": "txn_1",
                "object": "balance_transaction",
                "created": 1780000000,
                "amount": 1000,
                "fee": 40,
                "net": 960,
                "type": "charge",
                "source": "ch_1",
                "currency": "eur",
            }
        ],
    )
    _put(root, "stripe/payout_balance_transactions.json", {"po_1": ["txn_1"]})
    _put(
        root,
        "stripe/payouts.json",
        [{"id": "po_1", "object": "payout", "created": 1780100000, "amount": 960}],
    )
    _put(
        root,
        "gocardless/mandates.json",
        [{"id": "MD1", "created_at": "2026-05-01T10:00:00.000Z", "links": {"customer": "CU1"}}],
    )
    _put(
        root,
        "gocardless/payments.json",
        [
            {
                "id": "PM1",
                "created_at": "2026-05-02T10:00:00.000Z",
                "charge_date": "2026-05-06",
                "amount": 1900,
                "links": {"mandate": "MD1"},
            }
        ],
    )
    _put(
        root,
        "gocardless/payouts.json",
        [{"id": "PO1", "created_at": "2026-05-08T08:00:00.000Z", "amount": 1850}],
    )
    _put(
        root,
        "gocardless/payout_items.json",
        {
            "PO1": [
                {"amount": "19.00", "type": "payment_paid_out", "links": {"payment": "PM1"}},
                {"amount": "-0.50", "type": "gocardless_fee", "links": {"payment": "PM1"}},
            ]
        },
    )
    store = Store.open(tmp_path / "s.db")
    counts = load_dir(store, root)
    assert counts == {
        "stripe/payouts": 1,
        "stripe/balance_transactions": 1,
        "gocardless/mandates": 1,
        "gocardless/payments": 1,
        "gocardless/payouts": 1,
        "gocardless/payout_items": 2,
    }
    assert store.extra("stripe", "balance_transactions", "txn_1") == {"payout": "po_1"}
    assert store.extra("gocardless", "payments", "PM1") == {"customer": "CU1"}
    items, _ = store.list("gocardless", "payout_items", where={"payout": "PO1"})
    assert sorted(i["type"] for i in items) == ["gocardless_fee", "payment_paid_out"]
    assert store.count("stripe", "customers") == 0  # missing file: empty collection


@pytest.mark.parametrize(
    ("rel", "data", "message"),
    [
        (
            "stripe/charges.json",
            [
                {"id": "ch_1", "object": "charge", "created": 1},
                {"id": "re_1", "object": "refund", "created": 2},
            ],
            "stripe/charges.json: object 1: \"object\" is 'refund', expected 'charge'",
        ),
        ("stripe/charges.json", {"id": "ch_1"}, "stripe/charges.json: must be an array"),
        (
            "stripe/customers.json",
            [{"object": "customer", "created": 1}],
            'stripe/customers.json: object 0: missing or non-string "id"',
        ),
        (
            "stripe/customers.json",
            [{"id": "cus_1", "object": "customer"}],
            "stripe/customers.json: object 0: stripe customers object has no created",
        ),
        (
            "stripe/customers.json",
            [
                {"id": "cus_1", "object": "customer", "created": 1},
                {"id": "cus_1", "object": "customer", "created": 2},
            ],
            "stripe/customers.json: object 1: duplicate id 'cus_1'",
        ),
        (
            "gocardless/payments.json",
            [{"id": "PM1", "created_at": "2026-05-02T10:00:00.000Z", "links": {"mandate": "MD9"}}],
            "gocardless/payments.json: object 0: links.mandate 'MD9' is not in",
        ),
        (
            "gocardless/payout_items.json",
            {"PO9": []},
            "gocardless/payout_items.json: payout 'PO9' is not in gocardless/payouts.json",
        ),
        ("stripe/invoice.json", [], "stripe/invoice.json: unknown file"),
        ("aftership/trackings.json", [1], "aftership/trackings.json: object 0: must be a JSON"),
    ],
)
def test_bad_input_names_the_file_and_the_object(
    tmp_path: Path, rel: str, data: Any, message: str
) -> None:
    root = tmp_path / "bad"
    _put(root, rel, data)
    with pytest.raises(ScenarioError) as err:
        load_dir(Store.open(tmp_path / "s.db"), root)
    assert message in str(err.value)


def test_invalid_json_is_reported_with_its_file(tmp_path: Path) -> None:
    root = tmp_path / "bad"
    (root / "stripe").mkdir(parents=True)
    (root / "stripe" / "refunds.json").write_text("[{]")
    with pytest.raises(ScenarioError, match=r"stripe/refunds.json: not valid JSON"):
        load_dir(Store.open(tmp_path / "s.db"), root)


def test_prepare_caches_and_hands_out_private_copies(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    store, summary = prepare("small", 5, AS_OF, tmp_path / "a.db", cache_dir=cache)
    cached = cache / f"small-5-{AS_OF.isoformat()}-{summary.generator_version}.db"
    assert cached.exists()
    stamp = cached.stat().st_mtime_ns
    charge = next(store.iter_all("stripe", "charges"))
    store.add("stripe", "charges", {**charge, "status": "failed"})
    again, summary2 = prepare("small", 5, AS_OF, tmp_path / "b.db", cache_dir=cache)
    assert cached.stat().st_mtime_ns == stamp  # served from the cache
    assert summary2 == summary
    assert again.get("stripe", "charges", charge["id"]) == charge  # the change did not leak
    assert again.count("stripe", "charges") == summary.counts["stripe"]["charges"]
