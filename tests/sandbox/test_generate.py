"""The shop generator: deterministic, internally consistent, with findable anomalies."""

from __future__ import annotations

import filecmp
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from stdnum.eu import vat as eu_vat

from sandbox.generate import Summary, generate
from sandbox.generate.billing import LAST4
from sandbox.render import (
    aftership_template,
    gocardless_templates,
    render_aftership,
    render_gocardless,
    render_stripe,
    stripe_templates,
)
from sandbox.scenario import write_dir
from sandbox.store import Store

AS_OF = date(2026, 6, 30)
ANOMALY_KINDS = {
    "duplicate_charge",
    "shipped_not_paid",
    "paid_not_shipped",
    "refund_without_return",
    "return_without_refund",
    "amount_mismatch",
    "payout_mismatch",
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Summary]]:
    store = Store.open(tmp_path_factory.mktemp("shop") / "small.db")
    summary = generate(store, "small", 7, AS_OF)
    yield store, summary
    store.close()


def _all(store: Store, provider: str, resource: str) -> list[dict[str, Any]]:
    return list(store.iter_all(provider, resource))


def _same_tree(a: Path, b: Path) -> bool:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*.json"))
    files_b = sorted(p.relative_to(b) for p in b.rglob("*.json"))
    if files_a != files_b:
        return False
    return all(filecmp.cmp(a / f, b / f, shallow=False) for f in files_a)


def _write(tmp: Path, name: str, seed: int, *, customers: int, workers: int = 1) -> Path:
    store = Store.open(tmp / f"{name}.db")
    generate(store, "small", seed, AS_OF, customers=customers, workers=workers)
    write_dir(store, tmp / name)
    store.close()
    return tmp / name


# -- determinism --------------------------------------------------------------------------


def test_same_seed_and_date_give_byte_identical_folders(tmp_path: Path) -> None:
    a = _write(tmp_path, "a", 7, customers=120)
    b = _write(tmp_path, "b", 7, customers=120)
    c = _write(tmp_path, "c", 8, customers=120)
    assert _same_tree(a, b)
    assert not _same_tree(a, c)


def test_worker_processes_do_not_change_the_output(tmp_path: Path) -> None:
    serial = _write(tmp_path, "serial", 3, customers=450, workers=1)
    parallel = _write(tmp_path, "parallel", 3, customers=450, workers=2)
    assert _same_tree(serial, parallel)


def test_unknown_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown size"):
        generate(Store.open(tmp_path / "x.db"), "huge", 1, AS_OF)  # type: ignore[arg-type]


# -- the clock and the history ---------------------------------------------------------------


def test_clock_starts_at_the_end_of_the_as_of_date_in_paris(shop: tuple[Store, Summary]) -> None:
    _, summary = shop
    assert summary.clock_start == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
    assert summary.customers == 300


def test_nothing_is_created_at_or_after_the_clock_start(shop: tuple[Store, Summary]) -> None:
    store, summary = shop
    end = int(summary.clock_start.timestamp())
    start = end - 549 * 86400
    for provider, resource in store.tables():
        for obj in store.iter_all(provider, resource):
            created = obj.get("created", obj.get("created_at"))
            if created is None:
                continue
            ts = (
                created
                if isinstance(created, int)
                else int(datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp())
            )
            assert start <= ts < end, (provider, resource, obj.get("id"))


def test_event_horizons(shop: tuple[Store, Summary]) -> None:
    store, summary = shop
    end = summary.clock_start
    stripe = _all(store, "stripe", "events")
    assert stripe
    assert all(
        end - timedelta(days=30) <= datetime.fromtimestamp(e["created"], UTC) < end for e in stripe
    )
    assert all(e["data"]["object"]["object"] for e in stripe)
    types = {e["type"] for e in stripe}
    assert {"invoice.paid", "charge.succeeded", "customer.subscription.created"} <= types
    gc = _all(store, "gocardless", "events")
    oldest = min(datetime.fromisoformat(e["created_at"].replace("Z", "+00:00")) for e in gc)
    assert oldest >= end - timedelta(days=90)
    assert oldest < end - timedelta(days=60)


# -- anomalies ------------------------------------------------------------------------------


def test_every_anomaly_kind_is_present(shop: tuple[Store, Summary]) -> None:
    _, summary = shop
    assert set(summary.anomalies) == ANOMALY_KINDS
    assert len(summary.anomalies["payout_mismatch"]) == 1
    assert all(len(summary.anomalies[k]) == 3 for k in ANOMALY_KINDS - {"payout_mismatch"})


def _orders_paid(store: Store) -> set[str]:
    paid = {c["metadata"].get("order_id") for c in _all(store, "stripe", "charges")}
    paid |= {p["metadata"].get("order_id") for p in _all(store, "gocardless", "payments")}
    return {o for o in paid if o}


def test_anomalies_are_findable_by_their_ids(shop: tuple[Store, Summary]) -> None:
    store, summary = shop
    a = summary.anomalies
    for case in a["duplicate_charge"]:
        first = store.get("stripe", "charges", case["charge"])
        second = store.get("stripe", "charges", case["duplicate"])
        assert first
        assert second
        assert first["id"] != second["id"]
        assert first["metadata"] == second["metadata"] == {"order_id": case["order_id"]}
        assert first["status"] == second["status"] == "succeeded"
    paid = _orders_paid(store)
    for case in a["shipped_not_paid"]:
        assert case["order_id"] not in paid
        tracking = store.get("aftership", "trackings", case["tracking"])
        assert tracking
        assert tracking["order_id"] == case["order_id"]
    for case in a["paid_not_shipped"]:
        assert case["order_id"] in paid
        assert store.list("aftership", "trackings", where={"order_id": case["order_id"]})[0] == []
    refunded = {r["charge"] for r in _all(store, "stripe", "refunds")}
    refunded |= {r["links"]["payment"] for r in _all(store, "gocardless", "refunds")}
    for kind, has_refund, has_return in (
        ("refund_without_return", True, False),
        ("return_without_refund", False, True),
    ):
        for case in a[kind]:
            payment = case.get("charge") or case["payment"]
            assert (payment in refunded) is has_refund
            trackings, _ = store.list(
                "aftership", "trackings", where={"order_id": case["order_id"]}
            )
            directions = {t["custom_fields"]["direction"] for t in trackings}
            assert ("return" in directions) is has_return
            assert "outbound" in directions
    for case in a["amount_mismatch"]:
        invoice = store.get("stripe", "invoices", case["invoice"])
        charge = store.get("stripe", "charges", case["charge"])
        assert invoice
        assert charge
        assert invoice["total"] - charge["amount"] == 500
        assert invoice["metadata"]["order_id"] == charge["metadata"]["order_id"]
    (case,) = a["payout_mismatch"]
    payout = store.get("gocardless", "payouts", case["payout"])
    assert payout
    assert payout["amount"] == int(case["payout_amount"])
    items, _ = store.list(
        "gocardless", "payout_items", where={"payout": case["payout"]}, limit=10_000
    )
    assert sum(Decimal(i["amount"]) * 100 for i in items) == int(case["items_total"])
    assert int(case["items_total"]) != payout["amount"]


# -- money ----------------------------------------------------------------------------------


def test_stripe_payouts_add_up_to_their_balance_transactions(shop: tuple[Store, Summary]) -> None:
    store, _ = shop
    sums: dict[str, int] = {}
    for payout, bt in store.iter_grouped("stripe", "balance_transactions", "payout"):
        assert bt["net"] == bt["amount"] - bt["fee"]
        assert bt["status"] == "available"
        sums[payout] = sums.get(payout, 0) + bt["net"]
    payouts = _all(store, "stripe", "payouts")
    assert payouts
    assert {p["id"] for p in payouts} == set(sums)
    for p in payouts:
        assert p["amount"] == sums[p["id"]], p["id"]
        assert p["automatic"] is True


def test_gocardless_payout_items_add_up(shop: tuple[Store, Summary]) -> None:
    store, summary = shop
    skewed = summary.anomalies["payout_mismatch"][0]["payout"]
    sums: dict[str, Decimal] = {}
    fees: dict[str, Decimal] = {}
    for payout, item in store.iter_grouped("gocardless", "payout_items", "payout"):
        sums[payout] = sums.get(payout, Decimal(0)) + Decimal(item["amount"])
        if item["type"] == "gocardless_fee":
            fees[payout] = fees.get(payout, Decimal(0)) - Decimal(item["amount"])
    payouts = _all(store, "gocardless", "payouts")
    assert payouts
    for p in payouts:
        if p["id"] != skewed:
            assert p["amount"] == sums[p["id"]] * 100, p["id"]
        assert p["deducted_fees"] == fees.get(p["id"], Decimal(0)) * 100


def test_vat_ids_are_valid_and_b2b_share_is_realistic(shop: tuple[Store, Summary]) -> None:
    store, _ = shop
    customers = _all(store, "stripe", "customers") + _all(store, "gocardless", "customers")
    vat_ids = [c["metadata"]["vat_id"] for c in customers if "vat_id" in c["metadata"]]
    assert vat_ids
    assert all(eu_vat.is_valid(v) for v in vat_ids)
    assert 0.08 < len(vat_ids) / len(customers) < 0.25
    countries = {c.get("country_code") or c["address"]["country"] for c in customers}
    assert countries == {"FR", "DE", "IT", "ES", "BE", "NL"}
    for invoice in _all(store, "stripe", "invoices"):
        for tax_id in invoice["customer_tax_ids"]:
            assert eu_vat.is_valid(tax_id["value"])


def test_invoice_amounts_are_consistent(shop: tuple[Store, Summary]) -> None:
    store, _ = shop
    invoices = _all(store, "stripe", "invoices")
    statuses = {i["status"] for i in invoices}
    assert {"paid", "open", "uncollectible"} <= statuses
    reasons = set()
    for inv in invoices:
        tax = sum(t["amount"] for t in inv["total_taxes"])
        exclusive = sum(t["amount"] for t in inv["total_taxes"] if t["tax_behavior"] == "exclusive")
        assert inv["total"] == inv["subtotal"] + exclusive
        assert inv["total_excluding_tax"] == inv["total"] - tax
        assert inv["amount_due"] == inv["total"]
        assert inv["amount_paid"] + inv["amount_remaining"] == inv["amount_due"]
        assert sum(line["amount"] for line in inv["lines"]["data"]) == inv["subtotal"]
        assert sum(t["amount"] for line in inv["lines"]["data"] for t in line["taxes"]) == tax
        if inv["status"] == "paid":
            assert inv["amount_remaining"] == 0
            assert inv["status_transitions"]["paid_at"]
        for t in inv["total_taxes"]:
            reasons.add(t["taxability_reason"])
            if t["taxability_reason"] == "reverse_charge":
                assert t["amount"] == 0
                assert inv["customer_address"]["country"] != "FR"
                assert inv["customer_tax_ids"]
    assert reasons == {"standard_rated", "reverse_charge"}
    send = [i for i in invoices if i["collection_method"] == "send_invoice"]
    assert send
    assert all(i["due_date"] for i in send)


def test_failing_customers_hold_the_test_card_of_their_decline(
    shop: tuple[Store, Summary],
) -> None:
    store, _ = shop
    cards = {pm["customer"]: pm["card"] for pm in _all(store, "stripe", "payment_methods")}
    latest: dict[str, dict[str, Any]] = {}
    for inv in _all(store, "stripe", "invoices"):
        if inv.get("parent"):
            latest[inv["customer"]] = inv
    failing = 0
    for customer, inv in latest.items():
        if inv["status"] == "open" and inv["attempt_count"] > 0:
            failing += 1
            charges, _ = store.list("stripe", "charges", where={"customer": customer}, limit=1)
            assert charges[0]["status"] == "failed"
            code = charges[0]["outcome"]["reason"]
            assert cards[customer]["last4"] == LAST4[code]
    assert failing > 0
    assert sum(card["last4"] == "4242" for card in cards.values()) > len(cards) * 0.8


def test_subscriptions_cover_the_lifecycle(shop: tuple[Store, Summary]) -> None:
    store, _ = shop
    subs = _all(store, "stripe", "subscriptions")
    assert {"active", "trialing", "canceled", "past_due"} <= {s["status"] for s in subs}
    assert any(s["metadata"].get("tacit_renewal") == "true" for s in subs)
    for s in subs:
        item = s["items"]["data"][0]
        assert item["current_period_start"] <= item["current_period_end"]
    gc_subs = _all(store, "gocardless", "subscriptions")
    assert {"active", "cancelled"} <= {s["status"] for s in gc_subs}


def test_gocardless_payments_carry_their_customer_beside_them(
    shop: tuple[Store, Summary],
) -> None:
    store, _ = shop
    owner = {m["id"]: m["links"]["customer"] for m in _all(store, "gocardless", "mandates")}
    payments = _all(store, "gocardless", "payments")
    statuses = {p["status"] for p in payments}
    assert {"paid_out", "failed", "confirmed"} <= statuses
    for p in payments[:200]:
        assert (
            store.extra("gocardless", "payments", p["id"])["customer"]
            == owner[p["links"]["mandate"]]
        )


# -- shapes ---------------------------------------------------------------------------------


def test_every_object_renders_with_exactly_the_fixture_fields(shop: tuple[Store, Summary]) -> None:
    store, _ = shop
    stripe = stripe_templates()
    gocardless = gocardless_templates()
    seen = set()
    for provider, resource in store.tables():
        for obj in list(store.iter_all(provider, resource))[:300]:
            seen.add((provider, resource))
            if provider == "stripe":
                full = render_stripe(obj)
                assert set(full) == set(stripe[obj["object"]]), (resource, obj["id"])
                if resource == "invoices":
                    for line in full["lines"]["data"]:
                        assert set(line) == set(stripe["line_item"])
                if resource == "events":
                    inner = full["data"]["object"]
                    assert set(inner) == set(stripe[inner["object"]])
            elif provider == "gocardless":
                full = render_gocardless(resource, obj)
                assert set(full) == set(gocardless[resource]), (resource, obj.get("id"))
            else:
                from tracking.models import Tracking

                full = render_aftership(obj)
                assert set(full) == set(aftership_template())
                Tracking.model_validate(full)
    assert len(seen) >= 20


def test_the_official_sdks_page_through_a_generated_shop(tmp_path: Path) -> None:
    """Every generated object parses in the SDK that will read it, through the emulators."""
    import gocardless_pro
    import stripe
    import tracking

    from sandbox.clock import Clock
    from sandbox.server import start

    store = Store.open(tmp_path / "shop.db")
    summary = generate(store, "small", 5, AS_OF, customers=80)
    with start(store, clock=Clock(summary.clock_start)) as running:
        keys = running.env()
        client = stripe.StripeClient(keys["STRIPE_API_KEY"], base_addresses={"api": running.url})
        for name in (
            "invoices",
            "charges",
            "payment_intents",
            "balance_transactions",
            "events",
            "refunds",
            "payouts",
            "tax_rates",
        ):
            listed = getattr(client.v1, name).list(params={"limit": 100}).auto_paging_iter()
            assert sum(1 for _ in listed) == summary.counts["stripe"][name], name
        gc = gocardless_pro.Client(
            access_token=keys["GOCARDLESS_ACCESS_TOKEN"], base_url=running.url
        )
        for name in ("customers", "mandates", "subscriptions", "payments", "payouts", "events"):
            listed = getattr(gc, name).all(params={"limit": 500})
            assert sum(1 for _ in listed) == summary.counts["gocardless"][name], name
        aftership = tracking.Client(
            tracking.Configuration(
                api_key=keys["AFTERSHIP_API_KEY"], domain=running.url, max_retry=0
            )
        )
        seen, cursor = 0, None
        while True:
            page = aftership.tracking.get_trackings(
                limit=200, **({"cursor": cursor} if cursor else {})
            )
            data = getattr(page, "data", page)
            seen += len(data.trackings or [])
            if not data.pagination or not data.pagination.has_next_page:
                break
            cursor = data.pagination.next_cursor
        assert seen == summary.counts["aftership"]["trackings"]
    store.close()
