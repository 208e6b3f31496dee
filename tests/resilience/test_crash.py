"""Crash anywhere: the nightly killed with SIGKILL at chosen points, then run again, ends
exactly where an uninterrupted night ends, and no customer gets a mail or a charge twice.

One night (the shop's last day) is walked through five crashes, each re-run dying at a
later point, then finished; what each crash left is observed at once (``Night.seen``),
and at the end the warehouse is compared, table by table and column by column, with the
reference (two uninterrupted nightlies on a sandbox of their own; ``conftest.py``), and
the sandbox's records with the reference sandbox's. The kill points, in order:

1. mid-page in the first full listing (the sandbox holds the answer of a page it read);
2. in reconciliation, its matches made, writing its register (PostgreSQL: a held lock);
3. during a payment retry: Stripe has charged, the pipeline has not heard;
4. in the next incremental sync, inside the Stripe event batch's transaction: its rows
   upserted, its cursor's update waiting (PostgreSQL: a held row lock);
5. between an e-mail's send and its record: SendGrid has it, the outbox says ``sending``;

then the operator retries the dunning flow at once (the send is ``unknown``: not sent
again) and the next nightly, past ``UNKNOWN_GRACE``, resolves it from SendGrid's
activity feed. The night runs on PostgreSQL when ``TEST_DATABASE_URL`` is set (as in
CI), else on SQLite without points 2 and 4 (no other session can watch a SQLite
transaction wait). The same night's logs, artifacts and files are then searched for the
API keys and the customers' e-mail addresses.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from sandbox.server import SANDBOX_KEYS
from tasks.outbox import UNKNOWN_GRACE
from tests.flows.conftest import AS_OF, SEED
from tests.resilience.conftest import Reference, notification_id, provider_effects
from tests.resilience.harness import (
    Pipeline,
    World,
    customer_emails,
    differences,
    files_under,
    held,
    kill_when_stalled,
    leaks,
    published_since,
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
NEW_CHARGE = "<new stripe__charges>"


@dataclass
class Night:
    """The crashed and finished night, and what each crash left behind."""

    world: World
    backend: str
    started: datetime
    reference: Reference
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)


def flows_run(engine: Engine) -> list[tuple[str, str]]:
    t = tables.pipeline_runs
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.flow, t.c.status).order_by(t.c.started_at)).all()
    return [(flow, status) for flow, status in rows]


def rows(engine: Engine, table: Any, *where: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).where(*where))]


def stripe_cursor(engine: Engine) -> Any:
    with engine.connect() as conn:
        return read_sync_state(conn, "stripe", "events")


def charges(w: World) -> int:
    return list(w.new_ids().values()).count(NEW_CHARGE)


def writes(w: World) -> list[dict[str, Any]]:
    return [r for r in w.requests() if r["method"] != "GET"]


def walk(night: Night, url: str) -> None:
    """The five crashes and the two re-runs of the module docstring, observed."""
    w, seen = night.world, night.seen

    w.fault({"provider": "stripe", "path": "/v1/invoices", "stall_after_ms": HOLD_MS, "after": 1})
    kill_when_stalled(w, Pipeline(w, *NIGHTLY), "/v1/invoices")
    seen["mid_page"] = {
        "cursor": stripe_cursor(w.engine),
        "runs": flows_run(w.engine),
        "mails": w.mails(),
        "writes": writes(w),
    }

    if night.backend == "postgresql":
        with held(url, "LOCK TABLE recon_exceptions IN EXCLUSIVE MODE") as probe:
            pipeline = Pipeline(w, *NIGHTLY)
            pipeline.until(lambda: bool(waiting_on(probe, "recon_exceptions")), "the register")
            pipeline.kill()
        seen["reconcile"] = {
            "register": rows(w.engine, tables.recon_exceptions),
            "runs": flows_run(w.engine)[-2:],
            "mails": w.mails(),
            "writes": writes(w),
        }

    w.fault(
        {"provider": "stripe", "method": "POST", "path": "/v1/invoices/", "stall_after_ms": HOLD_MS}
    )
    kill_when_stalled(w, Pipeline(w, *NIGHTLY), "/v1/invoices/")
    retry = rows(w.engine, dunning_actions, dunning_actions.c.action == "retry_payment")
    seen["retry"] = {
        "charges": charges(w),
        "statuses": [r["status"] for r in retry],
        "mails": w.mails(),
    }

    if night.backend == "postgresql":
        before, cursor = w.snapshot(), stripe_cursor(w.engine)
        lock = "SELECT * FROM sync_state WHERE provider = 'stripe' AND stream = 'events' FOR UPDATE"
        with held(url, lock) as probe:
            pipeline = Pipeline(w, *NIGHTLY)
            pipeline.until(lambda: bool(waiting_on(probe, "sync_state")), "the cursor's update")
            pipeline.kill()
        seen["event_batch"] = {
            "changed": differences(w.snapshot(), before),
            "cursor_before": cursor,
            "cursor_after": stripe_cursor(w.engine),
            "charge_before": any(NEW_CHARGE in r for r in before["payments"]),
        }

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
    (notice,) = rows(
        w.engine, notifications, notifications.c.notification_id == notification_id(sent[0])
    )
    seen["send"] = {"mails": sent, "status": notice["status"], "charges": charges(w)}

    run(w, "run", "dunning", "--as-of", AS_OF.isoformat())
    (now,) = rows(w.engine, notifications, notifications.c.dedupe_key == notice["dedupe_key"])
    seen["retried_at_once"] = {"mails": w.mails(), "status": now["status"]}

    w.advance((UNKNOWN_GRACE + timedelta(minutes=1)).total_seconds())
    run(w, *NIGHTLY)
    (later,) = rows(w.engine, notifications, notifications.c.dedupe_key == notice["dedupe_key"])
    ids = [notification_id(m) for m in w.mails()]
    seen["later"] = {"copies": ids.count(notice["notification_id"]), "status": later["status"]}


# Session-scoped: walking the crashed night takes 1-2 minutes, and a module fixture walks it
# again whenever a test of another module runs between two of these on the same worker.
@pytest.fixture(scope="session")
def night(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Night]:
    reference = request.getfixturevalue("reference")
    template, summary = request.getfixturevalue("shop_template")
    home = tmp_path_factory.mktemp("crashed-night")
    server = None
    if os.environ.get("TEST_DATABASE_URL"):
        server = request.getfixturevalue("postgres_server")
        url = create_database(server, "echeancier_crash")
        upgrade(url)
    else:
        shutil.copyfile(request.getfixturevalue("sqlite_warehouse_template"), home / "wh.db")
        url = f"sqlite:///{home / 'wh.db'}"
    try:
        zygote = request.getfixturevalue("zygote")
        with world(template, summary, url, home, seed=SEED, zygote=zygote) as w:
            backend = w.engine.dialect.name
            crashed = Night(w, backend, datetime.now(UTC), reference)
            walk(crashed, url)
            yield crashed
    finally:
        if server is not None:
            drop_database(server, url)


def postgresql_only(night: Night) -> None:
    if night.backend != "postgresql":
        pytest.skip("a kill inside a transaction is watched through PostgreSQL's pg_stat_activity")


# -- what each crash left ------------------------------------------------------------------


def test_a_kill_mid_page_stores_no_cursor_so_the_next_run_lists_everything_again(
    night: Night,
) -> None:
    seen = night.seen["mid_page"]
    assert seen["cursor"] is None
    assert seen["runs"] == [("sync", "running")]
    assert seen["mails"] == []
    assert seen["writes"] == []


def test_a_kill_in_reconciliation_leaves_no_half_register_and_nothing_acts(night: Night) -> None:
    postgresql_only(night)
    seen = night.seen["reconcile"]
    assert seen["register"] == []
    assert seen["runs"] == [("sync", "completed"), ("reconcile", "running")]
    assert seen["mails"] == []
    assert seen["writes"] == []


def test_a_kill_mid_retry_leaves_the_action_pending_and_the_rerun_charges_nothing_more(
    night: Night,
) -> None:
    seen = night.seen["retry"]
    assert seen["charges"] == 1  # Stripe carried the retry out …
    assert seen["statuses"] == ["pending"]  # … the pipeline never heard
    assert seen["mails"] == []  # retries run before the sender
    assert night.seen["send"]["charges"] == 1  # the re-run's retry was replayed, not re-done


def test_a_kill_inside_an_event_batch_loses_its_rows_with_its_cursor(night: Night) -> None:
    postgresql_only(night)
    seen = night.seen["event_batch"]
    assert not seen["charge_before"]  # the batch carried the retry's new charge …
    assert seen["changed"] == {}  # … and none of it landed without its cursor
    assert seen["cursor_after"] == seen["cursor_before"]
    assert any(NEW_CHARGE in r for r in night.world.snapshot()["payments"])  # the re-run did


def test_an_unknown_send_is_resolved_from_the_activity_feed_never_sent_again(
    night: Night,
) -> None:
    sent = night.seen["send"]
    assert len(sent["mails"]) == 1
    assert sent["status"] == "sending"
    at_once = night.seen["retried_at_once"]
    assert at_once["mails"] == sent["mails"]
    assert at_once["status"] == "unknown"
    assert night.seen["later"] == {"copies": 1, "status": "sent"}


# -- how the night ends --------------------------------------------------------------------


def test_the_night_ends_exactly_as_an_uninterrupted_one(night: Night) -> None:
    assert differences(night.world.snapshot(), night.reference.tables) == {}
    killed = 5 if night.backend == "postgresql" else 3
    assert [s for _, s in flows_run(night.world.engine)].count("running") == killed


def test_no_customer_gets_a_mail_or_a_charge_twice(night: Night) -> None:
    mails, new_charges, provider_writes = provider_effects(night.world)
    assert mails == night.reference.mails
    assert max(Counter(n for n, _ in mails).values()) == 1
    assert new_charges == night.reference.charges == 1
    assert provider_writes == night.reference.writes


def test_no_api_key_and_no_customer_email_in_logs_artifacts_or_files(night: Night) -> None:
    w = night.world
    texts = published_since(night.started)
    assert any(k.startswith("log ") for k in texts)
    assert any(k.startswith("artifact dunning") for k in texts)
    for n, outcome in enumerate(w.outputs):
        texts[f"run {n} stdout"] = outcome.stdout
        texts[f"run {n} stderr"] = outcome.stderr
    with w.engine.connect() as conn:
        texts["pipeline_runs"] = json.dumps(
            [dict(r._mapping) for r in conn.execute(select(tables.pipeline_runs))], default=str
        )
    texts.update(files_under(w.home / "var"))
    assert any("gx" in k for k in texts)  # the Data Docs were written and are searched
    emails = customer_emails(w.store)
    assert len(emails) >= 40
    assert leaks(texts, set(SANDBOX_KEYS.values()) | emails) == []
