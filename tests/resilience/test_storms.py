"""Provider storms: a night under 5xx, bursts of 429, slow answers and dropped connections
ends exactly as a calm one; a provider that stays down fails the run clearly and nothing
reaches a customer.

The storm is the sandbox's fault plan, seeded (the same requests fail on every run): one
request in ten of every provider answered 503, bursts of 429 from Stripe and GoCardless,
every answer slowed, connections dropped at Stripe, GoCardless, AfterShip and SendGrid.
The connectors back off and retry reads and keyed writes; the outbox reschedules a mail
SendGrid refused and marks ``unknown`` one whose connection dropped, so the storm night
may leave mail for later: the next nightly (an hour on, past the back-off and
``UNKNOWN_GRACE``) sends it. Those two nights must equal the reference's two calm ones:
same tables, the same mails to the same people once each, the same charges.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sandbox.server import SANDBOX_KEYS
from tests.flows.conftest import AS_OF, SEED
from tests.resilience.conftest import (
    Reference,
    in_process,
    nightly_in_process,
    provider_effects,
)
from tests.resilience.harness import (
    Pipeline,
    customer_emails,
    differences,
    leaks,
    published_since,
    world,
)
from warehouse import tables

pytestmark = pytest.mark.xdist_group("resilience")  # one reference night per worker

STORM: list[dict[str, Any]] = [
    {"provider": "*", "status": 503, "probability": 0.1, "count": None},
    {"provider": "stripe", "status": 429, "count": 6},
    {"provider": "gocardless", "status": 429, "count": 4},
    {"provider": "aftership", "latency_ms": 50},
    {"provider": "sendgrid", "latency_ms": 50},
    {"provider": "stripe", "drop": 2},
    {"provider": "gocardless", "drop": 2},
    {"provider": "aftership", "drop": 1},
    {"provider": "sendgrid", "drop": 1},
]
HOUR = 3600.0


def snapshot_without(reference: Reference, columns: frozenset[str]) -> dict[str, list[str]]:
    """The reference's tables without ``table.column``s (rows stay sorted as compared)."""
    out: dict[str, list[str]] = {}
    for name, rows in reference.tables.items():
        drop = {c.split(".", 1)[1] for c in columns if c.startswith(f"{name}.")}
        parsed = [json.loads(r) for r in rows]
        out[name] = sorted(
            json.dumps({k: v for k, v in r.items() if k not in drop}) for r in parsed
        )
    return out


def warehouse(tmp_path: Path, template: Path) -> str:
    shutil.copyfile(template, tmp_path / "warehouse.db")
    return f"sqlite:///{tmp_path / 'warehouse.db'}"


def test_a_storm_night_then_a_calm_one_end_exactly_as_two_calm_nights(
    reference: Reference,
    shop_template: tuple[Path, Any],
    sqlite_warehouse_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    template, summary = shop_template
    url = warehouse(tmp_path, sqlite_warehouse_template)
    with world(template, summary, url, tmp_path, seed=SEED) as w:
        in_process(w, monkeypatch)
        w.fault(*STORM)
        nightly_in_process()
        statuses = Counter(r["status"] for r in w.requests())
        w.clear_faults()
        w.advance(HOUR)
        nightly_in_process()

        assert statuses[503] >= 10  # the storm happened …
        assert statuses[429] >= 10
        assert statuses[0] >= 6  # (dropped connections)
        # … and changed nothing but how often a mail was tried.
        tried = frozenset({"notifications.attempts"})
        got, want = w.snapshot(also_left_out=tried), snapshot_without(reference, tried)
        assert differences(got, want) == {}
        mails, charges, writes = provider_effects(w)
        assert sorted(mails) == sorted(reference.mails)
        assert max(Counter(n for n, _ in mails).values()) == 1
        assert charges == reference.charges
        assert writes == reference.writes


def test_a_provider_that_stays_down_fails_the_night_clearly_and_nothing_is_sent(
    shop_template: tuple[Path, Any],
    sqlite_warehouse_template: Path,
    tmp_path: Path,
    zygote: Any,
) -> None:
    from datetime import UTC, datetime

    template, summary = shop_template
    url = warehouse(tmp_path, sqlite_warehouse_template)
    started = datetime.now(UTC)
    with world(template, summary, url, tmp_path, seed=SEED, zygote=zygote) as w:
        w.fault({"provider": "aftership", "status": 503, "count": None})
        outcome = Pipeline(w, "run", "nightly", "--as-of", AS_OF.isoformat()).wait()

        assert outcome.returncode != 0
        assert "aftership" in outcome.stderr.lower()
        assert "503" in outcome.stderr
        assert w.mails() == []
        assert [r for r in w.requests() if r["method"] != "GET"] == []
        with w.engine.connect() as conn:
            runs = conn.execute(select(tables.pipeline_runs)).all()
        assert [(r.flow, r.status) for r in runs] == [("sync", "failed")]
        assert "aftership" in (runs[0].message or "").lower()
        texts = {"stdout": outcome.stdout, "stderr": outcome.stderr, "message": runs[0].message}
        texts.update(published_since(started))
        assert leaks(texts, set(SANDBOX_KEYS.values()) | customer_emails(w.store)) == []
