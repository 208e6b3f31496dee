"""End to end: the gate after a real sync of the generated shop, on SQLite and PostgreSQL.

One scenario per backend: the clean shop passes with no row quarantined; corrupt rows
planted in the synced warehouse (wrong currency, missing customer, negative amount,
unknown status, paid before finalised) are quarantined with their reason while the
gate passes; once fixed they are resolved; a table-level failure (most payments
orphaned) fails the flow with a message naming table and expectation. The Data Docs
never show a customer's e-mail or name.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

import flows.quality
import tasks.quality
from domain.quality import GateResult
from flows.quality import quality
from tests.flows.conftest import Live
from warehouse import tables

NOW = datetime(2026, 6, 30, 23, 0, tzinfo=UTC)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[A-Za-z]{2,}\b")  # not CDN pins (bootstrap@1.19)


@pytest.fixture
def docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "gx"
    monkeypatch.setattr(tasks.quality, "DATA_DOCS", path)
    monkeypatch.setattr(flows.quality, "utc_now", lambda: NOW)
    return path


def run_gate() -> GateResult:
    state = quality(return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    assert isinstance(result, GateResult)
    return result


def open_quarantine(live: Live) -> dict[str, tuple[str, dict[str, object]]]:
    q = tables.quarantine
    with live.engine.connect() as conn:
        rows = conn.execute(select(q).where(q.c.resolved_at.is_(None))).all()
    return {f"{r.object_type}/{r.object_id}": (r.reason, json.loads(r.payload)) for r in rows}


def first_id(live: Live, table: str, *where: object) -> str:
    t = tables.metadata.tables[table]
    key = next(iter(t.primary_key.columns))
    with live.engine.connect() as conn:
        return str(conn.execute(select(key).where(*where).order_by(key).limit(1)).scalar_one())


def snapshot(live: Live, keys: list[str]) -> list[tuple[str, dict[str, object]]]:
    out = []
    with live.engine.connect() as conn:
        for key in keys:
            table, object_id = key.split("/", 1)
            t = tables.metadata.tables[table]
            row = conn.execute(select(t).where(next(iter(t.primary_key.columns)) == object_id))
            out.append((table, dict(row.one()._mapping)))
    return out


def restore(live: Live, rows: list[tuple[str, dict[str, object]]]) -> None:
    with live.engine.begin() as conn:
        for table, row in rows:
            t = tables.metadata.tables[table]
            key = next(iter(t.primary_key.columns))
            conn.execute(update(t).where(key == row[key.name]).values(**row))


def plant(live: Live) -> tuple[dict[str, tuple[str, str]], list[tuple[str, dict[str, object]]]]:
    """Break five rows the CHECK constraints let through. Returns, per broken row, the
    reason expected and the planted value, and the rows as they were."""
    p, r, i = tables.payments, tables.refunds, tables.invoices
    # stripe payments with no fee, refund or payout, so each breaks one thing only
    candidates = select(p.c.payment_id).where(
        p.c.provider == "stripe", p.c.status == "failed", p.c.fee.is_(None)
    )
    with live.engine.connect() as conn:
        wrong_currency, missing_customer, negative = conn.execute(
            candidates.order_by(p.c.payment_id).limit(3)
        ).scalars()
    refund = first_id(live, "refunds")
    invoice = first_id(live, "invoices", i.c.paid_at.is_not(None), i.c.finalized_at.is_not(None))
    expected = {
        f"payments/{wrong_currency}": (
            "payments.currency: expect_column_values_to_be_in_set (ISO 4217)",
            "ZZZ",
        ),
        f"payments/{missing_customer}": (
            "payments.customer_id: expect_column_values_to_be_in_set (→ customers.customer_id)",
            "cus_gone",
        ),
        f"payments/{negative}": (
            "payments.amount: expect_column_values_to_be_between (0 ≤ x ≤ 10^9)",
            "-500",
        ),
        f"refunds/{refund}": (
            "refunds.status: expect_column_values_to_be_in_set (allowed set)",
            "exploded",
        ),
        f"invoices/{invoice}": (
            "invoices.paid_at,finalized_at: expect_column_pair_values_a_to_be_greater_than_b "
            "(paid_at ≥ finalized_at)",
            invoice,
        ),
    }
    originals = snapshot(live, list(expected))
    with live.engine.begin() as conn:
        conn.execute(update(p).where(p.c.payment_id == wrong_currency).values(currency="ZZZ"))
        conn.execute(
            update(p).where(p.c.payment_id == missing_customer).values(customer_id="cus_gone")
        )
        conn.execute(update(p).where(p.c.payment_id == negative).values(amount=-500))
        conn.execute(update(r).where(r.c.refund_id == refund).values(status="exploded"))
        finalized = conn.execute(
            select(i.c.finalized_at).where(i.c.invoice_id == invoice)
        ).scalar_one()
        conn.execute(
            update(i).where(i.c.invoice_id == invoice).values(paid_at=finalized - timedelta(days=1))
        )
    return expected, originals


def customer_pii(live: Live) -> set[str]:
    with live.engine.connect() as conn:
        rows = conn.execute(select(tables.customers.c.email, tables.customers.c.name)).all()
    return {value for row in rows for value in row if value}


def assert_docs_hold_no_pii(live: Live, docs: Path) -> None:
    pii = customer_pii(live)
    assert pii
    pages = [path for path in docs.rglob("*.html")]
    assert (docs / "index.html") in pages
    assert len(pages) > 1  # the index and at least one validation page
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not [value for value in pii if value in text], page
        assert not EMAIL.findall(text), page


@pytest.fixture
def live(synced: Live) -> Live:
    """The shop already synced for AS_OF: copies of the session's one sync of it."""
    return synced


def test_clean_shop_passes_corrupt_rows_are_quarantined_and_a_table_failure_stops(
    live: Live, docs: Path
) -> None:

    clean = run_gate()
    assert clean.passed
    assert clean.quarantined == {}
    assert all(not r.row_failures and not r.table_failures for r in clean.tables.values())
    with live.engine.connect() as conn:
        payments = conn.execute(select(tables.payments.c.payment_id)).all()
    assert clean.tables["payments"].rows == len(payments)
    assert_docs_hold_no_pii(live, docs)

    expected, originals = plant(live)
    dirty = run_gate()
    assert dirty.passed, dirty.message  # row-level failures never fail the gate
    quarantined = open_quarantine(live)
    assert set(quarantined) == set(expected)
    for key, (reason, planted) in expected.items():
        got_reason, payload = quarantined[key]
        assert reason in got_reason.split("; "), (key, got_reason)
        assert planted in json.dumps(payload)
        assert not {"email", "name"} & set(payload)
    assert sum(len(ids) for ids in dirty.quarantined.values()) == len(expected)
    assert_docs_hold_no_pii(live, docs)

    # the data is put right: the gate resolves the quarantine rows it had opened
    restore(live, originals)
    assert run_gate().quarantined == {}
    assert open_quarantine(live) == {}

    with live.engine.begin() as conn:  # most customers gone: payments orphaned en masse
        conn.execute(tables.customers.delete().where(tables.customers.c.provider == "stripe"))
    state = quality(return_state=True)
    assert state.is_failed()
    message = str(state.message)
    assert "data quality gate failed" in message
    assert (
        "payments.customer_id: expect_column_values_to_be_in_set "
        "(→ customers.customer_id: over 5% broken)"
    ) in message
