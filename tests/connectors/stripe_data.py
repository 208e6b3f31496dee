"""Sparse Stripe objects for the connector tests, stored as the generator stores them."""

from __future__ import annotations

from sandbox.store import Store
from tests.conftest import SANDBOX_NOW

T0 = 1_782_000_000  # 2026-06-21, ten days before the sandbox clock
NOW = int(SANDBOX_NOW.timestamp())
KEY = "sk_test_connector_tests"


def charges(store: Store, n: int, *, per_second: int = 7, start: int = T0) -> list[str]:
    """``n`` charges (``per_second`` sharing each creation second), ids oldest first."""
    ids = [f"ch_{i:05d}" for i in range(n)]
    with store.bulk() as bulk:
        for i, charge_id in enumerate(ids):
            bulk.add(
                "stripe",
                "charges",
                {
                    "id": charge_id,
                    "object": "charge",
                    "created": start + i // per_second,
                    "amount": 1000 + i,
                    "currency": "eur",
                    "customer": "cus_A",
                    "balance_transaction": f"txn_{i:05d}",
                },
            )
            bulk.add(
                "stripe",
                "balance_transactions",
                {
                    "id": f"txn_{i:05d}",
                    "object": "balance_transaction",
                    "created": start + i // per_second,
                    "amount": 1000 + i,
                    "fee": 40,
                    "net": 960 + i,
                    "currency": "eur",
                    "source": charge_id,
                    "type": "charge",
                },
                extra={"payout": "po_EVEN" if i % 2 == 0 else "po_ODD"},
            )
    return ids


def events(store: Store, n: int, *, start: int = T0, prefix: str = "evt_") -> list[str]:
    """``n`` invoice events, two per second from ``start``, ids oldest first."""
    ids = [f"{prefix}{i:04d}" for i in range(n)]
    with store.bulk() as bulk:
        for i, evt_id in enumerate(ids):
            bulk.add(
                "stripe",
                "events",
                {
                    "id": evt_id,
                    "object": "event",
                    "api_version": "2026-10-28.endive",
                    "created": start + i // 2,
                    "type": "invoice.paid" if i % 3 else "charge.failed",
                    "data": {"object": {"id": f"in_{i}", "object": "invoice"}},
                    "pending_webhooks": 0,
                    "request": {"id": None, "idempotency_key": None},
                },
            )
    return ids
