"""The analytics rows carry their ``customer_key`` from the moment the night writes them.

The 02:00 chain's writers (the dunning ledger, the notices register, the VAT lines) fill
the keyed hash
of the customer themselves; before, the rows stayed unkeyed until the 03:30 retention
pass. Each test drives the real task functions on a migrated warehouse (SQLite and
PostgreSQL) with plans decided by the domain from small inline frames, and reads the
rows back before any retention pass.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, Table, select

from domain.dunning import DunningPlan
from domain.notices import NoticePlan
from domain.notices import plan as notice_plan
from domain.pseudonym import customer_key
from domain.tax.fx import parse_ecb_csv
from domain.tax.ledger import DEADLINE_COLUMNS, VAT_LINE_COLUMNS
from domain.tax.policy import load_tax_calendar, load_vat_rates
from echeancier.settings import Settings
from tasks.dunning import record_dunning_plan
from tasks.notices import queue_notices, read_renewal_frames
from tasks.retention import key_analytics_customers
from tasks.tax import TaxInputs, compute_tax_returns, store_tax_returns
from tests.domain.dunning.build import customer, inputs, invoice, run
from tests.domain.notices.build import POLICY, customers, paris, subscriptions
from tests.domain.tax import scenario
from warehouse.notice_tables import notice_exceptions
from warehouse.outbox_tables import dunning_actions
from warehouse.tax_tables import vat_lines

SECRET = "pseudonym-secret-for-tests-7f3a"
ROTATED = "rotated-pseudonym-secret-91c2"
AS_OF = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def _settings(engine: Engine, secret: str | None) -> Settings:
    url = engine.url.render_as_string(hide_password=False)
    return Settings(DATABASE_URL=url, ECHEANCIER_PSEUDONYM_KEY=secret)  # type: ignore[call-arg]


def _keys(engine: Engine, table: Table, id_column: str) -> dict[str, tuple[str, str | None]]:
    """``{row id: (customer_id, customer_key)}`` of every row of ``table``."""
    query = select(table.c[id_column], table.c.customer_id, table.c.customer_key)
    with engine.connect() as conn:
        return {str(r[0]): (r.customer_id, r.customer_key) for r in conn.execute(query)}


# -- dunning -------------------------------------------------------------------------------


def _dunning_plan(as_of: date = AS_OF) -> DunningPlan:
    """Two customers' overdue invoices: tonight's reminders, one customer with two."""
    data = inputs(
        customers=[customer("cus_1"), customer("cus_2")],
        invoices=[
            invoice("in_1", "cus_1", 4990, "2026-11-12"),
            invoice("in_2", "cus_1", 1200, "2026-11-12"),
            invoice("in_3", "cus_2", 8900, "2026-11-12"),
        ],
    )
    plan = run(data, as_of)
    assert set(plan.actions["customer_id"]) == {"cus_1", "cus_2"}  # the case is not empty
    return plan


def _record(engine: Engine, secret: str | None, plan: DunningPlan) -> None:
    record_dunning_plan.fn(_settings(engine, secret), plan, AS_OF, NOW, False)


def test_a_dunning_run_writes_each_action_with_its_customers_key(engine: Engine) -> None:
    _record(engine, SECRET, _dunning_plan())

    rows = _keys(engine, dunning_actions, "dedupe_key")
    assert len(rows) >= 3
    for customer_id, key in rows.values():
        assert key == customer_key(customer_id, SECRET)
    # the retention pass finds nothing left to key
    assert key_analytics_customers.fn(_settings(engine, SECRET), False) == 0


def test_a_later_run_with_the_secret_keys_tonights_rows_written_without_it(
    engine: Engine,
) -> None:
    """Rows written before the secret was set (or under a rotated one) are keyed by the
    next real run that decides them again; one more run changes nothing."""
    plan = _dunning_plan()
    _record(engine, None, plan)
    assert {key for _, key in _keys(engine, dunning_actions, "dedupe_key").values()} == {None}

    _record(engine, SECRET, plan)
    keyed = _keys(engine, dunning_actions, "dedupe_key")
    assert all(key == customer_key(cid, SECRET) for cid, key in keyed.values())

    _record(engine, SECRET, plan)
    assert _keys(engine, dunning_actions, "dedupe_key") == keyed

    _record(engine, ROTATED, plan)
    rotated = _keys(engine, dunning_actions, "dedupe_key")
    assert all(key == customer_key(cid, ROTATED) for cid, key in rotated.values())


def test_a_dry_run_writes_its_planned_rows_keyed_and_leaves_stored_rows_alone(
    engine: Engine,
) -> None:
    plan = _dunning_plan()
    record_dunning_plan.fn(_settings(engine, SECRET), plan, AS_OF, NOW, True)
    rows = _keys(engine, dunning_actions, "dedupe_key")
    assert all(key == customer_key(cid, SECRET) for cid, key in rows.values())

    record_dunning_plan.fn(_settings(engine, ROTATED), plan, AS_OF, NOW, True)
    assert _keys(engine, dunning_actions, "dedupe_key") == rows


# -- notices -------------------------------------------------------------------------------

# A tacit renewal found after its legal window (renewal 23 July, 30 days' notice): finance
# is told, and the register gets one open ``tacit_renewal_unnoticed`` row for cus_1.
LATE_RENEWAL = {
    "subscription_id": "sub_T",
    "customer_id": "cus_1",
    "tacit_renewal": True,
    "notice_days": 30,
    "contract": "annual_plan",
    "current_period_end": paris("2026-07-23"),
    "provider": "gocardless",
}
FIRST_NIGHT = date(2026, 6, 30)


def _notices_night(engine: Engine, secret: str | None, as_of: date) -> NoticePlan:
    """One renewal-notices night: the stored register and outbox read by the real reader,
    tonight's contracts from the inline frames, the plan written by the real writer."""
    settings = _settings(engine, secret)
    frames = replace(
        read_renewal_frames.fn(settings),
        subscriptions=subscriptions(LATE_RENEWAL),
        customers=customers(),
    )
    plan = notice_plan.plan_renewal_notices(frames, as_of, POLICY)
    now = datetime.combine(as_of, datetime.min.time(), UTC) + timedelta(hours=1)
    queue_notices.fn(settings, plan, as_of, now, False)
    return plan


def test_a_notices_run_writes_the_exception_with_its_customers_key(engine: Engine) -> None:
    plan = _notices_night(engine, SECRET, FIRST_NIGHT)
    assert [row["kind"] for row in plan.register] == ["tacit_renewal_unnoticed"]

    rows = _keys(engine, notice_exceptions, "exception_id")
    assert list(rows.values()) == [("cus_1", customer_key("cus_1", SECRET))]
    assert key_analytics_customers.fn(_settings(engine, SECRET), False) == 0


def test_the_register_is_keyed_by_the_next_night_with_the_secret_and_keeps_its_key(
    engine: Engine,
) -> None:
    """Written without the secret: empty. The next night with it re-writes the open row
    (``last_seen_on`` moves) and fills the key; a night without the secret then keeps the
    key instead of clearing it, and a repeated night changes nothing."""
    _notices_night(engine, None, FIRST_NIGHT)
    assert list(_keys(engine, notice_exceptions, "exception_id").values()) == [("cus_1", None)]

    _notices_night(engine, SECRET, FIRST_NIGHT + timedelta(days=1))
    keyed = _keys(engine, notice_exceptions, "exception_id")
    assert list(keyed.values()) == [("cus_1", customer_key("cus_1", SECRET))]

    _notices_night(engine, None, FIRST_NIGHT + timedelta(days=2))
    assert _keys(engine, notice_exceptions, "exception_id") == keyed

    def stored() -> list[tuple[Any, ...]]:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(select(notice_exceptions))]

    before = stored()
    _notices_night(engine, SECRET, FIRST_NIGHT + timedelta(days=2))
    assert stored() == before


# -- VAT lines ------------------------------------------------------------------------------

TAX_AS_OF = date(2026, 10, 5)


def _tax_night(engine: Engine, secret: str | None) -> dict[str, int]:
    """The tax tasks on the hand-computed shop of the tax tests (seven customers, Q3)."""
    settings = _settings(engine, secret)
    facts = scenario.facts()
    fx = parse_ecb_csv((scenario.FIXTURES / "eurofxref-hist.csv").read_text())
    deadlines = pd.DataFrame(columns=list(DEADLINE_COLUMNS))
    filed = pd.DataFrame(columns=list(VAT_LINE_COLUMNS))
    computed = compute_tax_returns.fn(
        TaxInputs(facts, fx, deadlines, filed),
        TAX_AS_OF,
        load_vat_rates(settings.policies),
        load_tax_calendar(settings.policies),
        settings.timezone,
    )
    return store_tax_returns.fn(settings, computed)


def test_the_tax_run_writes_each_vat_line_with_its_customers_key(engine: Engine) -> None:
    _tax_night(engine, SECRET)

    rows = _keys(engine, vat_lines, "vat_line_id")
    assert len({cid for cid, _ in rows.values()}) >= 3
    for customer_id, key in rows.values():
        assert key == customer_key(customer_id, SECRET)
    assert key_analytics_customers.fn(_settings(engine, SECRET), False) == 0
    assert _tax_night(engine, SECRET)["vat_lines"] == 0  # the same night again: no row


def test_vat_lines_written_without_the_secret_are_keyed_by_the_next_run_with_it(
    engine: Engine,
) -> None:
    _tax_night(engine, None)
    assert {key for _, key in _keys(engine, vat_lines, "vat_line_id").values()} == {None}

    _tax_night(engine, SECRET)
    rows = _keys(engine, vat_lines, "vat_line_id")
    assert all(key == customer_key(cid, SECRET) for cid, key in rows.values())


def test_a_tax_night_without_the_secret_keeps_the_stored_keys(engine: Engine) -> None:
    """A night run without the secret (a misconfigured worker) must not wipe the keys
    analysts join on, nor count every line as changed."""
    _tax_night(engine, SECRET)
    assert _tax_night(engine, None)["vat_lines"] == 0
    rows = _keys(engine, vat_lines, "vat_line_id")
    assert all(key == customer_key(cid, SECRET) for cid, key in rows.values())


# -- without a secret, and the logs ----------------------------------------------------------


def test_without_a_secret_the_writers_leave_the_key_empty_and_do_not_fail(
    engine: Engine,
) -> None:
    _record(engine, None, _dunning_plan())
    _notices_night(engine, None, FIRST_NIGHT)
    _tax_night(engine, None)

    actions = _keys(engine, dunning_actions, "dedupe_key")
    exceptions = _keys(engine, notice_exceptions, "exception_id")
    lines = _keys(engine, vat_lines, "vat_line_id")
    assert actions
    assert exceptions
    assert lines
    assert {key for _, key in [*actions.values(), *exceptions.values(), *lines.values()]} == {None}


def test_the_secret_never_reaches_a_log(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    """Everything logged while both writers key their rows, SQLAlchemy's statements
    included (the warehouse engine hides their parameters), is free of the secret."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    try:
        _record(engine, SECRET, _dunning_plan())
        _notices_night(engine, SECRET, FIRST_NIGHT)
        _tax_night(engine, SECRET)
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.NOTSET)

    assert any("customer_key" in r.getMessage() for r in caplog.records)  # it did log
    assert SECRET not in caplog.text
