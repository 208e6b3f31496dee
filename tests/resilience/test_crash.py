"""Crash anywhere: the nightly killed with SIGKILL at chosen points, then run again, ends
exactly where an uninterrupted night ends, and no customer gets a mail or a charge twice.

Each test walks one night through several crashes, each re-run dying at a later point,
then lets it finish; the warehouse is then compared, table by table and column by
column, with the reference (two uninterrupted nightlies on a sandbox of their own; see
``conftest.py``), and the sandbox's own records with the reference sandbox's.

- SQLite, kill points made exact by the sandbox (``stall_after_ms``): mid-page during
  the first full listing; during a payment retry (Stripe has charged, the pipeline has
  not heard); between an e-mail's send and its record. The unknown send is then left
  alone by an immediate retry of the dunning flow and resolved from SendGrid's activity
  feed by the next nightly, once ``UNKNOWN_GRACE`` has passed.
- PostgreSQL, kill points inside the database's transactions (a held lock the pipeline
  waits for): reconciliation writing its register; the Stripe event batch after its
  rows are upserted and before its cursor moves.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from tasks.outbox import UNKNOWN_GRACE
from tests.flows.conftest import AS_OF, SEED
from tests.resilience.conftest import Reference, notification_id, provider_effects
from tests.resilience.harness import (
    Pipeline,
    differences,
    held,
    kill_when_stalled,
    run,
    waiting_on,
    world,
)
from tests.warehouse.conftest import create_database, drop_database
from warehouse import tables
from warehouse.migrate import upgrade
from warehouse.outbox_tables import dunning_actions, notifications
from warehouse.state import read_sync_state

pytestmark = pytest.mark.xdist_group("resilience")  # one reference night per worker

NIGHTLY = ("run", "nightly", "--as-of", AS_OF.isoformat())
HOLD_MS = 600_000  # held until the test has killed the pipeline and cleared the faults


def flows_run(engine: Engine) -> list[tuple[str, str]]:
    t = tables.pipeline_runs
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.flow, t.c.status).order_by(t.c.started_at)).all()
    return [(flow, status) for flow, status in rows]


def rows(engine: Engine, table: Any, *where: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).where(*where))]


def assert_same_night(w: Any, reference: Reference) -> None:
    assert differences(w.snapshot(), reference.tables) == {}
    mails, charges, writes = provider_effects(w)
    assert mails == reference.mails
    assert charges == reference.charges
    assert writes == reference.writes
    assert max(Counter(n for n, _ in mails).values()) == 1


def test_killed_mid_page_mid_retry_and_mid_send_the_night_ends_as_if_never_interrupted(
    reference: Reference,
    shop_template: tuple[Path, Any],
    sqlite_warehouse_template: Path,
    tmp_path: Path,
) -> None:
    import shutil

    template, summary = shop_template
    shutil.copyfile(sqlite_warehouse_template, tmp_path / "warehouse.db")
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    with world(template, summary, url, tmp_path, seed=SEED) as w:
        # 1. Mid-page in the first full listing: the second page of invoices is read and
        #    its answer held. The listing's cursor is stored only once it has all landed,
        #    so the next run lists again.
        w.fault(
            {"provider": "stripe", "path": "/v1/invoices", "stall_after_ms": HOLD_MS, "after": 1}
        )
        kill_when_stalled(w, Pipeline(w, *NIGHTLY), "/v1/invoices")
        with w.engine.connect() as conn:
            assert read_sync_state(conn, "stripe", "events") is None
        assert flows_run(w.engine) == [("sync", "running")]
        assert w.mails() == []

        # 2. During the payment retry: Stripe has carried it out (a new charge), the
        #    pipeline dies before it hears. The action is still pending, nothing mailed.
        w.fault(
            {
                "provider": "stripe",
                "method": "POST",
                "path": "/v1/invoices/",
                "stall_after_ms": HOLD_MS,
            }
        )
        kill_when_stalled(w, Pipeline(w, *NIGHTLY), "/v1/invoices/")
        assert list(w.new_ids().values()).count("<new stripe__charges>") == 1
        retry = rows(w.engine, dunning_actions, dunning_actions.c.action == "retry_payment")
        assert [r["status"] for r in retry] == ["pending"]
        assert w.mails() == []

        # 3. Between an e-mail's send and its record: SendGrid has it, the outbox still
        #    says "sending". The retry went again under its key and Stripe replayed it.
        w.fault(
            {
                "provider": "sendgrid",
                "method": "POST",
                "path": "/v3/mail/send",
                "stall_after_ms": HOLD_MS,
            }
        )
        kill_when_stalled(w, Pipeline(w, *NIGHTLY), "/v3/mail/send")
        sent = w.mails()
        assert len(sent) == 1
        assert list(w.new_ids().values()).count("<new stripe__charges>") == 1
        (notice,) = rows(
            w.engine, notifications, notifications.c.notification_id == notification_id(sent[0])
        )
        assert notice["status"] == "sending"

        # 4. The operator retries the dunning flow at once: the send is unknown, and is
        #    not sent again.
        run(w, "run", "dunning", "--as-of", AS_OF.isoformat())
        assert w.mails() == sent
        (notice,) = rows(
            w.engine, notifications, notifications.c.dedupe_key == notice["dedupe_key"]
        )
        assert notice["status"] == "unknown"

        # 5. Later, the whole night again: SendGrid's activity feed says the mail left, so
        #    it is recorded as sent; what the killed runs never reached is done now.
        w.advance((UNKNOWN_GRACE + timedelta(minutes=1)).total_seconds())
        run(w, *NIGHTLY)
        assert [notification_id(m) for m in w.mails()].count(notice["notification_id"]) == 1
        (notice,) = rows(
            w.engine, notifications, notifications.c.dedupe_key == notice["dedupe_key"]
        )
        assert notice["status"] == "sent"

        assert_same_night(w, reference)
        assert [s for _, s in flows_run(w.engine)].count("running") == 3  # the three killed


def test_killed_inside_reconciliation_and_inside_an_event_batch_nothing_is_half_written(
    reference: Reference,
    shop_template: tuple[Path, Any],
    postgres_server: Engine,
    tmp_path: Path,
) -> None:
    template, summary = shop_template
    url = create_database(postgres_server, "echeancier_crash")
    try:
        upgrade(url)
        with world(template, summary, url, tmp_path, seed=SEED) as w:
            # 1. Reconciliation has read and matched, and waits to write its register.
            with held(url, "LOCK TABLE recon_exceptions IN EXCLUSIVE MODE") as probe:
                pipeline = Pipeline(w, *NIGHTLY)
                pipeline.until(
                    lambda: waiting_on(probe, "recon_exceptions"),
                    "reconciliation writing its register",
                )
                pipeline.kill()
            assert rows(w.engine, tables.recon_exceptions) == []
            assert flows_run(w.engine) == [("sync", "completed"), ("reconcile", "running")]
            assert w.mails() == []
            assert [r for r in w.requests() if r["method"] != "GET"] == []

            # 2. The re-run does the whole night (its payment retry creates Stripe events).
            run(w, *NIGHTLY)
            with w.engine.connect() as conn:
                cursor = read_sync_state(conn, "stripe", "events")
            assert cursor is not None
            before = w.snapshot()

            # 3. A re-run's incremental sync dies in the Stripe event batch's transaction:
            #    the rows are upserted, the cursor's update waits for the row we hold.
            stripe_cursor = (
                "SELECT * FROM sync_state WHERE provider = 'stripe' AND stream = 'events'"
                " FOR UPDATE"
            )
            with held(url, stripe_cursor) as probe:
                pipeline = Pipeline(w, *NIGHTLY)
                pipeline.until(lambda: waiting_on(probe, "sync_state"), "the cursor's update")
                pipeline.kill()
            assert differences(w.snapshot(), before) == {}  # all of the batch or none of it
            with w.engine.connect() as conn:
                assert read_sync_state(conn, "stripe", "events") == cursor

            # 4. The last re-run brings the batch in, with its cursor.
            run(w, *NIGHTLY)
            with w.engine.connect() as conn:
                moved = read_sync_state(conn, "stripe", "events")
            assert moved is not None
            assert moved.cursor != cursor.cursor
            assert_same_night(w, reference)
    finally:
        drop_database(postgres_server, url)
