"""The dunning's provider writes, over the SDKs, against the sandbox's state.

Pending actions are written to ``dunning_actions`` by hand (as a night's plan would);
``execute_actions`` carries them out through the real connectors, and the sandbox's own
objects show what the provider did: a GoCardless payment back in ``pending_submission``,
a refused retry left alone, a Stripe subscription paused or set to cancel, an invoice
written off. A second pass does nothing more.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, select

from connectors.errors import ConnectorError
from connectors.factory import Connectors
from echeancier.settings import Settings
from sandbox.generate import generate
from sandbox.server import RunningSandbox, start
from sandbox.store import Store
from tasks.dunning import execute_actions
from warehouse.outbox import key_id
from warehouse.outbox_tables import dunning_actions

AS_OF = date(2026, 6, 30)
NOW = datetime(2026, 6, 30, 22, tzinfo=UTC)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("shop") / "shop.db"
    store = Store.open(path)
    generate(store, "small", 7, AS_OF, customers=40)
    store.close()
    return path


@pytest.fixture
def shop(template: Path, tmp_path: Path) -> Iterator[tuple[Store, RunningSandbox]]:
    path = tmp_path / "shop.db"
    path.write_bytes(template.read_bytes())
    store = Store.open(path)
    with start(store) as running:
        yield store, running
    store.close()


@pytest.fixture
def connectors(shop: tuple[Store, RunningSandbox], monkeypatch: pytest.MonkeyPatch) -> Connectors:
    for name, value in shop[1].env().items():
        monkeypatch.setenv(name, value)
    return Connectors(Settings())


def _pending(engine: Engine, action: str, provider: str, **ids: Any) -> str:
    item = ids.get("invoice_id") or ids["payment_id"]
    key = f"dunning:{item}:final_notice:{action}"
    row = {
        "action_id": key_id(key),
        "dedupe_key": key,
        "as_of": AS_OF,
        "customer_id": "cus_x",
        "provider": provider,
        "ladder": "test",
        "stage": "final_notice",
        "days_overdue": 30,
        "action": action,
        "idempotency_key": key,
        "status": "pending",
        "decided_at": NOW,
        "invoice_id": None,
        "payment_id": None,
        "subscription_id": None,
        **ids,
    }
    with engine.begin() as conn:
        conn.execute(dunning_actions.insert(), [row])
    return key


def _pending_for(engine: Engine, customer_id: str, action: str, **ids: Any) -> str:
    """A pending action of another customer than ``_pending``'s."""
    key = _pending(engine, action, "gocardless", **ids)
    with engine.begin() as conn:
        conn.execute(
            dunning_actions.update()
            .where(dunning_actions.c.dedupe_key == key)
            .values(customer_id=customer_id)
        )
    return key


def _ledger(engine: Engine) -> dict[str, tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(dunning_actions))
        return {r.dedupe_key: (r.status, r.outcome) for r in rows}


def _writes(running: RunningSandbox) -> list[str]:
    rows = requests.get(running.url + "/__sandbox/requests", timeout=5).json()
    return [r["path"] for r in rows if r["method"] == "POST"]


def _first(store: Store, provider: str, resource: str, **match: Any) -> dict[str, Any]:
    for obj in store.iter_all(provider, resource):
        if all(obj.get(k) == v for k, v in match.items()):
            return obj
    raise LookupError(match)


def test_a_failed_direct_debit_is_retried_once_and_a_refusal_is_recorded(
    engine: Engine, shop: tuple[Store, RunningSandbox], connectors: Connectors
) -> None:
    store, running = shop
    mandate = _first(store, "gocardless", "mandates", status="active")
    paid = [
        p
        for p in store.iter_all("gocardless", "payments")
        if p["links"]["mandate"] == mandate["id"] and p["status"] == "paid_out"
    ]
    failed, settled = paid[0], paid[1]
    store.replace("gocardless", "payments", {**failed, "status": "failed"})
    retry = _pending(engine, "retry_payment", "gocardless", payment_id=failed["id"])
    refused = _pending(engine, "retry_payment", "gocardless", payment_id=settled["id"])

    counts, recovered = execute_actions(engine, connectors, NOW)
    again, _ = execute_actions(engine, connectors, NOW)

    assert _ledger(engine) == {
        retry: ("done", "retried"),
        refused: ("skipped", "refused:retry_failed"),
    }
    assert store.get("gocardless", "payments", failed["id"])["status"] == "pending_submission"
    assert store.get("gocardless", "payments", settled["id"])["status"] == "paid_out"
    assert dict(counts) == {"retry_payment:done": 1, "retry_payment:skipped": 1}
    assert recovered == []  # a re-presented debit is not money in yet
    assert dict(again) == {}
    assert len(_writes(running)) == 2


def test_stripe_escalations_reach_the_subscription_and_the_invoice(
    engine: Engine, shop: tuple[Store, RunningSandbox], connectors: Connectors
) -> None:
    store, running = shop
    sub = _first(store, "stripe", "subscriptions", status="active")
    invoice = _first(store, "stripe", "invoices", status="open")
    pause = _pending(engine, "suspend", "stripe", subscription_id=sub["id"], invoice_id="in_p")
    cancel = _pending(
        engine, "cancel_at_period_end", "stripe", subscription_id=sub["id"], invoice_id="in_c"
    )
    write_off = _pending(engine, "mark_uncollectible", "stripe", invoice_id=invoice["id"])

    execute_actions(engine, connectors, NOW)

    assert _ledger(engine) == {
        pause: ("done", "collection paused"),
        cancel: ("done", "cancels at period end"),
        write_off: ("done", "marked uncollectible"),
    }
    changed = store.get("stripe", "subscriptions", sub["id"])
    assert changed["pause_collection"] == {"behavior": "keep_as_draft", "resumes_at": None}
    assert changed["cancel_at_period_end"] is True
    assert store.get("stripe", "invoices", invoice["id"])["status"] == "uncollectible"
    assert len(_writes(running)) == 3


def test_an_action_the_provider_does_not_offer_is_skipped_with_the_reason(
    engine: Engine, connectors: Connectors
) -> None:
    key = _pending(engine, "suspend", "gocardless", payment_id="PM0001", subscription_id="SB1")

    execute_actions(engine, connectors, NOW)

    assert _ledger(engine) == {key: ("skipped", "suspend is not available for gocardless")}


def test_several_customers_actions_run_at_once_each_carried_out_once(
    engine: Engine, shop: tuple[Store, RunningSandbox], connectors: Connectors
) -> None:
    """Six customers' failed debits, four customers at a time: each retried once, over
    the real SDK, and a second pass sends nothing."""
    store, running = shop
    active = {m["id"] for m in store.iter_all("gocardless", "mandates") if m["status"] == "active"}
    paid_out = [
        p
        for p in store.iter_all("gocardless", "payments")
        if p["status"] == "paid_out" and p["links"]["mandate"] in active
    ]
    keys = []
    for n, payment in enumerate(paid_out[:6]):
        store.replace("gocardless", "payments", {**payment, "status": "failed"})
        keys.append(
            _pending(engine, "retry_payment", "gocardless", payment_id=payment["id"])
            if n % 2
            else _pending_for(engine, f"cus_{n}", "retry_payment", payment_id=payment["id"])
        )

    counts, _ = execute_actions(engine, connectors, NOW, workers=4)
    again, _ = execute_actions(engine, connectors, NOW, workers=4)

    assert dict(counts) == {"retry_payment:done": 6}
    assert dict(again) == {}
    assert set(_ledger(engine).values()) == {("done", "retried")}
    assert sorted(_writes(running)) == sorted(
        f"/payments/{p['id']}/actions/retry" for p in paid_out[:6]
    )


class _Unreachable:
    """Connectors whose GoCardless retries fail for good on one payment (the connector's
    own retries spent); records every call."""

    def __init__(self, failing: str) -> None:
        self.failing = failing
        self.calls: list[str] = []
        self.gocardless = self

    def retry_payment(self, payment_id: str, key: str) -> Any:
        self.calls.append(payment_id)
        if payment_id == self.failing:
            raise ConnectorError("gocardless", "payments", "timed out", retryable=True)
        return type("Retried", (), {"status": "retried", "reason": None})()


def test_an_unreachable_provider_stops_the_run_and_leaves_the_rest_pending(
    engine: Engine,
) -> None:
    keys = [
        _pending_for(engine, f"cus_{n}", "retry_payment", payment_id=f"PM{n:04d}")
        for n in range(40)
    ]
    fake = _Unreachable(failing="PM0000")

    with pytest.raises(ConnectorError, match="timed out"):
        execute_actions(engine, fake, NOW, workers=4)

    ledger = _ledger(engine)
    assert ledger[keys[0]] == ("pending", None)  # re-sent under its key next run
    done = {k for k, v in ledger.items() if v == ("done", "retried")}
    assert len(done) == len(fake.calls) - 1  # every answer received was recorded
    assert len(fake.calls) < 40  # no new action was started after the failure
    assert {k for k, v in ledger.items() if v[0] == "pending"} == set(keys) - done
