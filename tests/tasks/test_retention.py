"""The retention tasks on a real warehouse (SQLite and PostgreSQL): what is past its
period changes, what is not stays, and a second run changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from domain.erasure import erased_email, pseudonym
from domain.notice import Notice
from domain.retention import cutoffs, parse_policy
from echeancier.settings import Settings
from tasks import retention as r
from warehouse import tables
from warehouse.outbox import enqueue
from warehouse.outbox_tables import notifications
from warehouse.state import PipelineRun, record_run
from warehouse.tax_tables import vat_lines

AS_OF = date(2027, 6, 30)
NOW = datetime(2027, 6, 30, 1, 0, tzinfo=UTC)
OLD = datetime(2026, 1, 10, tzinfo=UTC)  # older than 13 months on AS_OF
RECENT = datetime(2026, 12, 1, tzinfo=UTC)
ANCIENT = datetime(2016, 3, 1, tzinfo=UTC)  # older than every legal period
CUT = cutoffs(parse_policy(""), AS_OF, "Europe/Paris")


def _payload(customer: str, email: str) -> str:
    return json.dumps(
        {
            "id": f"ch_{customer}",
            "customer": customer,
            "amount": 4990,
            "receipt_email": email,
            "billing_details": {"name": "Jane Doe", "address": {"city": "Lyon", "country": "FR"}},
        }
    )


def _bookkeeping(at: datetime) -> dict[str, Any]:
    return {"source_version": 1, "row_hash": "x", "synced_at": at}


@pytest.fixture
def settings(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("ECHEANCIER_POLICIES", str(tmp_path))  # no file: the defaults
    return Settings()


@pytest.fixture
def shop(engine: Engine) -> None:
    """One row on each side of every cut-off."""
    customer = {"provider": "stripe", "country": "FR", **_bookkeeping(OLD)}
    with engine.begin() as conn:
        conn.execute(
            tables.raw_objects.insert(),
            [
                {"provider": "stripe", "object_type": "charge", "object_id": "ch_old",
                 "payload": _payload("cus_old", "old@example.com"), **_bookkeeping(OLD)},
                {"provider": "stripe", "object_type": "charge", "object_id": "ch_new",
                 "payload": _payload("cus_new", "new@example.com"), **_bookkeeping(RECENT)},
            ],
        )  # fmt: skip
        conn.execute(
            tables.customers.insert(),
            [
                {**customer, "customer_id": "cus_gone", "email": "gone@example.com",
                 "name": "Gone Away", "postal_code": "69001", "created_at": ANCIENT},
                {**customer, "customer_id": "cus_owes", "email": "owes@example.com",
                 "name": "Still Owes", "postal_code": None, "created_at": ANCIENT},
            ],
        )  # fmt: skip
        conn.execute(
            tables.invoices.insert(),
            [
                {"invoice_id": "in_ancient", "provider": "stripe", "customer_id": "cus_gone",
                 "status": "paid", "currency": "EUR", "total": 1200, "amount_paid": 1200,
                 "amount_remaining": 0, "issued_on": date(2016, 3, 1),
                 "created_at": ANCIENT, "customer_vat_id": "FR40303265045", **_bookkeeping(OLD)},
                {"invoice_id": "in_owed", "provider": "stripe", "customer_id": "cus_owes",
                 "status": "open", "currency": "EUR", "total": 900, "amount_paid": 0,
                 "amount_remaining": 900, "issued_on": date(2019, 3, 1),
                 "created_at": ANCIENT, "customer_vat_id": "FR40303265045", **_bookkeeping(OLD)},
            ],
        )  # fmt: skip
        line = {"regime": "FR_CA3", "period": "2016-03", "section": "supplies",
                "treatment": "domestic", "source": "invoice", "is_business": True,
                "supply_period": "2016-03", "country": "FR", "rate": Decimal("20"),
                "rate_source": "invoice", "taxable_base": 1000, "vat": 200, "currency": "EUR",
                "taxable_base_eur": 1000, "vat_eur": 200, "return_currency": "EUR",
                "customer_vat_id": "FR40303265045"}  # fmt: skip
        conn.execute(
            vat_lines.insert(),
            [
                {**line, "vat_line_id": "v_old", "line_key": "invoice:in_ancient:1",
                 "source_id": "in_ancient", "tax_point_on": date(2016, 3, 1)},
                {**line, "vat_line_id": "v_new", "line_key": "invoice:in_owed:1",
                 "source_id": "in_owed", "tax_point_on": date(2019, 3, 1)},
            ],
        )  # fmt: skip
        conn.execute(
            tables.quarantine.insert(),
            [
                {"provider": "stripe", "object_type": "charge", "object_id": "ch_q1",
                 "reason": "bad currency", "payload": _payload("cus_q", "q@example.com"),
                 "first_seen_at": OLD, "last_seen_at": OLD, "resolved_at": None},
                {"provider": "stripe", "object_type": "charge", "object_id": "ch_q2",
                 "reason": "bad amount", "payload": _payload("cus_q", "q@example.com"),
                 "first_seen_at": OLD, "last_seen_at": OLD, "resolved_at": OLD},
                {"provider": "stripe", "object_type": "charge", "object_id": "ch_q3",
                 "reason": "bad amount", "payload": _payload("cus_q", "q@example.com"),
                 "first_seen_at": OLD, "last_seen_at": RECENT, "resolved_at": RECENT},
            ],
        )  # fmt: skip
        for run_id, at in (("run_old", OLD), ("run_new", RECENT)):
            record_run(
                conn, PipelineRun(run_id, "nightly", at.date(), at).finished("completed", at)
            )
        context = {"customer_name": "Jane Doe", "amount": 4990, "currency": "EUR"}
        enqueue(
            conn,
            [
                Notice(dedupe_key=key, kind="dunning", template="dunning_reminder_1",
                       locale="fr", planned_for=AS_OF, context=context, customer_id="cus_gone")
                for key in ("dunning:in_1:reminder_1", "dunning:in_2:reminder_1",
                            "dunning:in_3:reminder_1")
            ],
            as_of=AS_OF,
            now=OLD,
        )  # fmt: skip
        n = notifications
        conn.execute(update(n).where(n.c.dedupe_key.like("dunning:in_1%")).values(status="sent"))
        conn.execute(
            update(n)
            .where(n.c.dedupe_key.like("dunning:in_2%"))
            .values(status="sent", updated_at=RECENT)
        )  # in_3 stays queued: still waiting, never touched


def _apply(settings: Settings, *, dry_run: bool = False) -> dict[str, int]:
    return {
        "raw_payloads": r.pseudonymise_raw_payloads.fn(settings, CUT["raw_payloads"], dry_run),
        "notifications": r.pseudonymise_old_notifications.fn(
            settings, CUT["notifications"], NOW, dry_run
        ),
        **r.expire_quarantine.fn(settings, CUT["quarantine"], dry_run),
        "pipeline_runs": r.delete_old_runs.fn(settings, CUT["pipeline_runs"], dry_run),
        "inactive_customers": r.pseudonymise_inactive_customers.fn(
            settings, CUT["inactive_customers"], dry_run
        ),
        **r.clear_old_vat_numbers.fn(settings, CUT["financial_records"], dry_run),
    }


EXPECTED = {
    "raw_payloads": 1,
    "notifications": 0,  # three years: none is that old yet
    "quarantine:deleted": 1,
    "quarantine:pseudonymised": 1,
    "pipeline_runs": 1,
    "inactive_customers": 1,
    "financial_records:invoices": 1,
    "financial_records:vat_lines": 1,
}


def _scalar(engine: Engine, query: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


@pytest.mark.usefixtures("shop")
def test_what_is_past_its_period_changes_and_a_second_run_changes_nothing(
    settings: Settings, engine: Engine
) -> None:
    assert _apply(settings, dry_run=True) == EXPECTED
    assert _apply(settings) == EXPECTED
    assert set(_apply(settings).values()) == {0}

    raw = tables.raw_objects
    old = json.loads(_scalar(engine, select(raw.c.payload).where(raw.c.object_id == "ch_old")))
    assert old["receipt_email"] == erased_email("cus_old")
    assert old["billing_details"] == {
        "name": pseudonym("cus_old"),
        "address": {"city": None, "country": "FR"},
    }
    assert old["amount"] == 4990
    new = _scalar(engine, select(raw.c.payload).where(raw.c.object_id == "ch_new"))
    assert "new@example.com" in new

    q = tables.quarantine
    with engine.connect() as conn:
        left = dict(tuple(row) for row in conn.execute(select(q.c.object_id, q.c.payload)))
    assert set(left) == {"ch_q1", "ch_q3"}  # the old resolved one is gone
    assert "q@example.com" not in left["ch_q1"]
    assert "q@example.com" in left["ch_q3"]

    runs = tables.pipeline_runs
    with engine.connect() as conn:
        assert set(conn.execute(select(runs.c.run_id)).scalars()) == {"run_new"}

    c = tables.customers
    with engine.connect() as conn:
        people = {row.customer_id: row for row in conn.execute(select(c))}
    gone = people["cus_gone"]
    assert (gone.email, gone.name, gone.postal_code) == (
        erased_email("cus_gone"),
        pseudonym("cus_gone"),
        None,
    )
    assert people["cus_owes"].email == "owes@example.com"  # an open invoice keeps them

    i = tables.invoices
    with engine.connect() as conn:
        vat_ids = dict(
            tuple(row) for row in conn.execute(select(i.c.invoice_id, i.c.customer_vat_id))
        )
        totals = dict(tuple(row) for row in conn.execute(select(i.c.invoice_id, i.c.total)))
        query = select(vat_lines.c.vat_line_id, vat_lines.c.customer_vat_id)
        lines = dict(tuple(row) for row in conn.execute(query))
    assert vat_ids == {"in_ancient": None, "in_owed": "FR40303265045"}
    assert totals == {"in_ancient": 1200, "in_owed": 900}  # the facts stay
    assert lines == {"v_old": None, "v_new": "FR40303265045"}


@pytest.mark.usefixtures("shop")
def test_closed_notices_lose_their_context_after_their_period(
    settings: Settings, engine: Engine
) -> None:
    later = cutoffs(parse_policy("keep:\n  notifications: 1 year\n"), AS_OF, "Europe/Paris")
    n = notifications

    changed = r.pseudonymise_old_notifications.fn(settings, later["notifications"], NOW, False)
    again = r.pseudonymise_old_notifications.fn(settings, later["notifications"], NOW, False)

    assert (changed, again) == (1, 0)
    with engine.connect() as conn:
        rows = {row.dedupe_key: row for row in conn.execute(select(n))}
    sent_long_ago = rows["dunning:in_1:reminder_1"]
    assert json.loads(sent_long_ago.context)["customer_name"] == pseudonym("cus_gone")
    assert json.loads(sent_long_ago.context)["amount"] == 4990
    assert sent_long_ago.updated_at == NOW
    assert "Jane Doe" in rows["dunning:in_2:reminder_1"].context  # sent recently
    assert "Jane Doe" in rows["dunning:in_3:reminder_1"].context  # still waiting


def test_analytics_rows_get_the_keyed_hash_and_a_new_secret_rekeys_them(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from domain.pseudonym import customer_key
    from warehouse.notice_tables import notice_exceptions
    from warehouse.outbox_tables import dunning_actions

    day = date(2027, 6, 1)
    with engine.begin() as conn:
        conn.execute(
            notice_exceptions.insert(),
            [
                {"exception_id": f"e{n}", "kind": "refund_overdue", "customer_id": who,
                 "event_on": day, "due_on": day, "first_seen_on": day, "last_seen_on": day,
                 "status": "open"}
                for n, who in enumerate(("cus_1", "cus_1", "cus_2", None))
            ],
        )  # fmt: skip
        conn.execute(
            dunning_actions.insert(),
            {"action_id": "a1", "dedupe_key": "dunning:in_1:r1:email", "as_of": day,
             "customer_id": "cus_2", "provider": "stripe", "ladder": "consumer",
             "stage": "reminder_1", "days_overdue": 3, "action": "email", "status": "done",
             "decided_at": NOW},
        )  # fmt: skip

    assert r.key_analytics_customers.fn(settings, False) is None  # no secret: left empty
    monkeypatch.setenv("ECHEANCIER_PSEUDONYM_KEY", "first-secret")
    first = Settings()
    assert r.key_analytics_customers.fn(first, True) == 4  # dry run: counted only
    assert r.key_analytics_customers.fn(first, False) == 4
    assert r.key_analytics_customers.fn(first, False) == 0

    def keys() -> dict[str, str | None]:
        with engine.connect() as conn:
            rows = conn.execute(
                select(notice_exceptions.c.exception_id, notice_exceptions.c.customer_key)
            )
            found = {row[0]: row[1] for row in rows}
            found["a1"] = conn.execute(select(dunning_actions.c.customer_key)).scalar_one()
        return found

    assert keys() == {
        "e0": customer_key("cus_1", "first-secret"),
        "e1": customer_key("cus_1", "first-secret"),
        "e2": customer_key("cus_2", "first-secret"),
        "e3": None,
        "a1": customer_key("cus_2", "first-secret"),
    }
    monkeypatch.setenv("ECHEANCIER_PSEUDONYM_KEY", "rotated")
    assert r.key_analytics_customers.fn(Settings(), False) == 4
    assert keys()["a1"] == customer_key("cus_2", "rotated")
