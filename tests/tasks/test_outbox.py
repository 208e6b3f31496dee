"""The outbox sender over the SendGrid SDK and the sandbox: once, never twice.

Each test queues notices in a real warehouse (SQLite and PostgreSQL), runs the sender
against the sandbox over HTTP and reads what SendGrid received from the sandbox's log.
Templates are mapped to SendGrid dynamic template ids here (policies/templates.yaml in
a temporary policies folder), so these tests are about delivery, not wording.

The sender posts several mails at once (``workers``); the tests of that part give it a
bucket of its own (``_Watched``, 1000 req/s) so the account's 10 req/s does not pace
them, queue more notices than there are workers, and add latency so sends overlap.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, select, update

from connectors.ratelimit import RateLimiter
from connectors.sendgrid import SendGridConnector, SendResult
from domain.notice import Notice
from echeancier.settings import Settings
from sandbox.server import RunningSandbox, start
from sandbox.store import Store
from tasks.outbox import UNKNOWN_GRACE, claim, deliver
from warehouse.outbox import enqueue
from warehouse.outbox_tables import notifications
from warehouse.tables import customers

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
AS_OF = date(2026, 11, 26)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    with start(Store.open(tmp_path / "sandbox.db")) as running:
        yield running


@pytest.fixture
def settings(
    sandbox: RunningSandbox, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "templates.yaml").write_text(
        "sendgrid_templates:\n  dunning_reminder_1:\n    fr: d-fr-1\n    en: d-en-1\n"
    )
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("ECHEANCIER_POLICIES", str(policies))
    monkeypatch.setenv("ECHEANCIER_FINANCE_EMAIL", "compta@shop.example")
    with engine.begin() as conn:
        conn.execute(
            customers.insert(),
            [
                _customer("cus_A", "jeanne@example.fr", "Jeanne Martin"),
                _customer("cus_B", None, "Sans Adresse"),
            ],
        )
    return Settings()


def _customer(customer_id: str, email: str | None, name: str) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "provider": "stripe",
        "email": email,
        "name": name,
        "country": "FR",
        "locale": "fr",
        "is_business": False,
        "source_version": 1,
        "row_hash": "x",
        "synced_at": NOW,
    }


def _notice(key: str, customer: str = "cus_A", **extra: Any) -> Notice:
    return Notice(
        dedupe_key=key,
        kind="dunning",
        template="dunning_reminder_1",
        locale="fr",
        planned_for=AS_OF,
        context={"invoice_number": "F-1", "amount": 4990, "currency": "EUR"},
        customer_id=customer,
        **extra,
    )


def _queue(engine: Engine, *notices: Notice) -> None:
    with engine.begin() as conn:
        enqueue(conn, notices, as_of=AS_OF, now=NOW)


def _mails(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    return list(requests.get(sandbox.url + "/__sandbox/sendgrid/messages", timeout=5).json())


def _statuses(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(select(notifications.c.dedupe_key, notifications.c.status))
        return {r.dedupe_key: r.status for r in rows}


def _fault(sandbox: RunningSandbox, **spec: Any) -> None:
    requests.post(sandbox.url + "/__sandbox/faults", json=spec, timeout=5).raise_for_status()


def test_queued_notices_are_sent_once_with_their_outbox_id(
    settings: Settings, engine: Engine, sandbox: RunningSandbox
) -> None:
    _queue(engine, _notice("dunning:in_1:reminder_1"), _notice("dunning:in_2:reminder_1"))

    first = deliver(settings, NOW)
    second = deliver(settings, NOW + timedelta(days=1))

    assert first.as_dict() == {"sent": 2}
    assert second.as_dict() == {}
    mails = _mails(sandbox)
    assert len(mails) == 2
    body = mails[0]["body"]
    assert body["template_id"] == "d-fr-1"
    assert body["personalizations"][0]["to"] == [
        {"email": "jeanne@example.fr", "name": "Jeanne Martin"}
    ]
    assert body["personalizations"][0]["dynamic_template_data"]["invoice_number"] == "F-1"
    assert body["custom_args"]["notification_id"]
    with engine.connect() as conn:
        sent = conn.execute(select(notifications)).mappings().all()
    assert {r["provider_message_id"] for r in sent} == {m["message_id"] for m in mails}
    assert all(r["status"] == "sent" and r["sent_at"] == NOW for r in sent)


def test_nothing_goes_out_before_the_send_window_opens(
    settings: Settings, engine: Engine, sandbox: RunningSandbox
) -> None:
    opens = NOW + timedelta(hours=2)
    _queue(engine, _notice("dunning:in_1:reminder_1", send_after=opens))

    assert deliver(settings, NOW).as_dict() == {}
    assert _mails(sandbox) == []
    assert deliver(settings, opens).as_dict() == {"sent": 1}


def test_a_429_reschedules_after_retry_after_then_sends(
    settings: Settings, engine: Engine, sandbox: RunningSandbox
) -> None:
    _queue(engine, _notice("dunning:in_1:reminder_1"))
    _fault(sandbox, provider="sendgrid", status=429, count=1)

    assert deliver(settings, NOW).as_dict() == {"rescheduled": 1}
    with engine.connect() as conn:
        row = conn.execute(select(notifications)).mappings().one()
    assert row["status"] == "queued"
    assert row["next_attempt_at"] > NOW
    assert deliver(settings, NOW).as_dict() == {}  # not before its time
    assert deliver(settings, row["next_attempt_at"]).as_dict() == {"sent": 1}
    assert len(_mails(sandbox)) == 1


def test_a_lost_answer_is_never_resent_blindly_and_is_resolved_from_the_feed(
    settings: Settings, engine: Engine, sandbox: RunningSandbox
) -> None:
    _queue(engine, _notice("dunning:in_1:reminder_1"))
    _fault(sandbox, provider="sendgrid", lose_answer=1)

    assert deliver(settings, NOW).as_dict() == {"unknown": 1}
    assert deliver(settings, NOW + timedelta(minutes=1)).as_dict() == {}  # feed not ready
    later = deliver(settings, NOW + UNKNOWN_GRACE + timedelta(minutes=1))

    assert later.as_dict() == {"resolved_sent": 1}
    (mail,) = _mails(sandbox)
    with engine.connect() as conn:
        row = conn.execute(select(notifications)).mappings().one()
    assert (row["status"], row["provider_message_id"]) == ("sent", mail["message_id"])


def test_a_crash_after_the_claim_sends_at_most_once(
    settings: Settings, engine: Engine, sandbox: RunningSandbox
) -> None:
    _queue(engine, _notice("dunning:in_1:reminder_1"), _notice("dunning:in_2:reminder_1"))
    claimed = {r["dedupe_key"]: r for r in claim(engine, NOW, None, 10)}
    # The run sent in_1 and died before recording it; it never got to in_2.
    sender = SendGridConnector(settings.sendgrid_api_key.get_secret_value(), sandbox.url)
    body = {
        "personalizations": [{"to": [{"email": "jeanne@example.fr"}]}],
        "from": {"email": "factures@example.com"},
        "template_id": "d-fr-1",
        "custom_args": {"notification_id": claimed["dunning:in_1:reminder_1"]["notification_id"]},
    }
    assert sender.send(body).status == "sent"

    rerun = deliver(settings, NOW + timedelta(minutes=5))
    assert rerun.as_dict() == {"interrupted": 2}
    assert _statuses(engine) == {
        "dunning:in_1:reminder_1": "unknown",
        "dunning:in_2:reminder_1": "unknown",
    }
    settled = deliver(settings, NOW + UNKNOWN_GRACE + timedelta(minutes=10))

    assert settled.as_dict() == {"resolved_requeued": 1, "resolved_sent": 1, "sent": 1}
    mails = _mails(sandbox)
    ids = sorted(m["body"]["custom_args"]["notification_id"] for m in mails)
    assert ids == sorted(r["notification_id"] for r in claimed.values())  # each exactly once


def test_finance_notices_go_to_the_finance_address_and_no_address_is_a_failure(
    settings: Settings, engine: Engine, sandbox: RunningSandbox
) -> None:
    finance = Notice(
        dedupe_key="tax_deadline:OSS:2026-Q3:10",
        kind="tax_deadline",
        template="dunning_reminder_1",
        locale="fr",
        planned_for=AS_OF,
        audience="finance",
    )
    _queue(engine, finance, _notice("dunning:in_3:reminder_1", customer="cus_B"))

    assert deliver(settings, NOW).as_dict() == {"failed": 1, "sent": 1}
    (mail,) = _mails(sandbox)
    assert mail["body"]["personalizations"][0]["to"] == [{"email": "compta@shop.example"}]
    with engine.connect() as conn:
        failed = (
            conn.execute(select(notifications).where(notifications.c.status == "failed"))
            .mappings()
            .one()
        )
    assert failed["last_error"] == "the customer has no e-mail address on file"


def test_a_refusal_is_failed_with_the_reason_and_without_the_address(
    settings: Settings, engine: Engine, sandbox: RunningSandbox
) -> None:
    _queue(engine, _notice("dunning:in_1:reminder_1"))
    with engine.begin() as conn:
        conn.execute(update(customers).values(email="not-an-address"))

    assert deliver(settings, NOW).as_dict() == {"failed": 1}
    with engine.connect() as conn:
        row = conn.execute(select(notifications)).mappings().one()
    assert "valid address" in row["last_error"]
    assert "not-an-address" not in row["last_error"]
    assert _mails(sandbox) == []


def test_an_erased_customer_is_never_written_to(
    settings: Settings, engine: Engine, sandbox: RunningSandbox
) -> None:
    from domain.erasure import ERASED_DOMAIN

    with engine.begin() as conn:
        conn.execute(update(customers).values(email=f"erased-cus_A@{ERASED_DOMAIN}"))
    _queue(engine, _notice("dunning:in_1:reminder_1"))

    assert deliver(settings, NOW).as_dict() == {"cancelled": 1}
    assert _mails(sandbox) == []
    assert _statuses(engine) == {"dunning:in_1:reminder_1": "cancelled"}


def test_a_header_injection_in_customer_data_fails_that_notice_only(
    settings: Settings, engine: Engine, sandbox: RunningSandbox
) -> None:
    with engine.begin() as conn:
        conn.execute(
            customers.insert(),
            [_customer("cus_X", "mallory@example.fr", "Mallory\r\nBcc: all@evil.example")],
        )
    _queue(engine, _notice("dunning:in_1:reminder_1"), _notice("dunning:in_9:reminder_1", "cus_X"))

    assert deliver(settings, NOW).as_dict() == {"failed": 1, "sent": 1}
    assert _statuses(engine) == {
        "dunning:in_1:reminder_1": "sent",
        "dunning:in_9:reminder_1": "failed",
    }
    with engine.connect() as conn:
        error = conn.execute(
            select(notifications.c.last_error).where(notifications.c.customer_id == "cus_X")
        ).scalar_one()
    assert error == "refused, not sent: to[0].name contains a control character (U+000D)"
    (mail,) = _mails(sandbox)
    assert mail["body"]["personalizations"][0]["to"][0]["email"] == "jeanne@example.fr"
    assert deliver(settings, NOW + timedelta(days=1)).as_dict() == {}  # never retried


# -- several sends in flight at once -------------------------------------------------------


class _Watched(SendGridConnector):
    """The real connector, counting how many of its sends are in flight at once; raises
    (as a crashing worker would, before anything leaves) on the ``fail_at``-th send."""

    def __init__(self, key: str, host: str, *, fail_at: int | None = None) -> None:
        super().__init__(key, host, limiter=RateLimiter(rate=1000))
        self._lock = threading.Lock()
        self._fail_at = fail_at
        self.calls = 0
        self.in_flight = 0
        self.most_in_flight = 0

    def send(self, message: Any) -> SendResult:
        with self._lock:
            self.calls += 1
            if self.calls == self._fail_at:
                raise RuntimeError("the worker died")
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return super().send(message)
        finally:
            with self._lock:
                self.in_flight -= 1


def _watched(settings: Settings, sandbox: RunningSandbox, **kw: Any) -> _Watched:
    assert settings.sendgrid_api_key is not None
    return _Watched(settings.sendgrid_api_key.get_secret_value(), sandbox.url, **kw)


def _queue_many(engine: Engine, n: int) -> None:
    _queue(engine, *(_notice(f"dunning:in_{i:03d}:reminder_1") for i in range(n)))


def _rows(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(notifications)).mappings().all()
    return {r["notification_id"]: dict(r) for r in rows}


def _mails_by_id(sandbox: RunningSandbox) -> dict[str, list[dict[str, Any]]]:
    by_id: dict[str, list[dict[str, Any]]] = {}
    for mail in _mails(sandbox):
        by_id.setdefault(mail["body"]["custom_args"]["notification_id"], []).append(mail)
    return by_id


def _counts(**counts: int) -> dict[str, int]:
    """What ``Delivery.as_dict`` shows for these counts (an outcome that never happened
    is absent, not 0)."""
    return {k: v for k, v in sorted(counts.items()) if v}


def _assert_each_sent_exactly_once(engine: Engine, sandbox: RunningSandbox) -> None:
    rows, mails = _rows(engine), _mails_by_id(sandbox)
    assert sorted(mails) == sorted(rows)
    assert all(len(copies) == 1 for copies in mails.values())
    assert all(r["status"] == "sent" for r in rows.values())
    assert {i: r["provider_message_id"] for i, r in rows.items()} == {
        i: copies[0]["message_id"] for i, copies in mails.items()
    }


def test_many_notices_go_out_a_few_at_a_time_each_exactly_once(
    settings: Settings, engine: Engine, sandbox: RunningSandbox
) -> None:
    _queue_many(engine, 40)
    _fault(sandbox, provider="sendgrid", latency_ms=30)
    sender = _watched(settings, sandbox)

    first = deliver(settings, NOW, sender=sender, workers=4)
    again = deliver(settings, NOW + timedelta(days=1), sender=sender, workers=4)

    assert first.as_dict() == {"sent": 40}
    assert again.as_dict() == {}
    assert 1 < sender.most_in_flight <= 4  # overlapping, and never wider than asked
    _assert_each_sent_exactly_once(engine, sandbox)


def test_mixed_failures_among_concurrent_sends_each_get_their_own_outcome(
    settings: Settings, engine: Engine, sandbox: RunningSandbox
) -> None:
    _queue_many(engine, 30)
    send = "/v3/mail/send"
    _fault(sandbox, provider="sendgrid", latency_ms=20)
    _fault(sandbox, provider="sendgrid", path=send, status=429, count=3)
    _fault(sandbox, provider="sendgrid", path=send, status=503, count=2)
    _fault(sandbox, provider="sendgrid", path=send, drop=2)
    _fault(sandbox, provider="sendgrid", path=send, lose_answer=2)
    sender = _watched(settings, sandbox)

    first = deliver(settings, NOW, sender=sender, workers=6)

    assert first.as_dict() == {"rescheduled": 5, "sent": 21, "unknown": 4}
    rows, mails = _rows(engine), _mails_by_id(sandbox)
    by_status: dict[str, set[str]] = {}
    for notification_id, row in rows.items():
        by_status.setdefault(row["status"], set()).add(notification_id)
    for notification_id in by_status["sent"]:  # recorded with the id SendGrid gave it
        (mail,) = mails[notification_id]
        assert rows[notification_id]["provider_message_id"] == mail["message_id"]
    for notification_id in by_status["queued"]:  # refused for now: nothing left
        assert notification_id not in mails
        assert rows[notification_id]["next_attempt_at"] > NOW
    # two lost answers (SendGrid has the mail) and two dropped connections (it has not)
    assert len(by_status["unknown"] & set(mails)) == 2
    assert len(by_status["unknown"] - set(mails)) == 2
    assert set(mails) == by_status["sent"] | (by_status["unknown"] & set(mails))

    due = max(r["next_attempt_at"] for r in rows.values() if r["status"] == "queued")
    later = max(due, NOW + UNKNOWN_GRACE) + timedelta(minutes=1)
    second = deliver(settings, later, sender=sender, workers=6)
    third = deliver(settings, later + timedelta(days=1), sender=sender, workers=6)

    # the lost answers are found in the feed, the dropped two go out now with the five
    assert second.as_dict() == {"resolved_requeued": 2, "resolved_sent": 2, "sent": 7}
    assert third.as_dict() == {}
    _assert_each_sent_exactly_once(engine, sandbox)


def test_a_send_that_dies_mid_batch_stops_the_batch_and_loses_no_answer(
    settings: Settings, engine: Engine, sandbox: RunningSandbox
) -> None:
    _queue_many(engine, 20)
    _fault(sandbox, provider="sendgrid", latency_ms=20)
    sender = _watched(settings, sandbox, fail_at=6)

    with pytest.raises(RuntimeError, match="the worker died"):
        deliver(settings, NOW, sender=sender, workers=3)

    rows, mails = _rows(engine), _mails_by_id(sandbox)
    status = {i: r["status"] for i, r in rows.items()}
    # every mail that left is recorded as sent: the answers in flight were not dropped
    assert {i for i, s in status.items() if s == "sent"} == set(mails)
    assert len(mails) >= 5
    # the dead send and the claimed chunk are ``sending``; nothing else was touched
    stranded = {i for i, s in status.items() if s == "sending"}
    assert 1 <= len(stranded) <= 2 * 3
    assert not stranded & set(mails)
    untouched = [r for r in rows.values() if r["status"] == "queued"]
    assert all(r["attempts"] == 0 for r in untouched)
    assert len(mails) + len(stranded) + len(untouched) == 20

    rerun = deliver(settings, NOW + timedelta(minutes=5), sender=_watched(settings, sandbox))
    assert rerun.as_dict() == _counts(interrupted=len(stranded), sent=len(untouched))
    settled = deliver(settings, NOW + UNKNOWN_GRACE + timedelta(minutes=10))
    assert settled.as_dict() == _counts(resolved_requeued=len(stranded), sent=len(stranded))
    _assert_each_sent_exactly_once(engine, sandbox)


_CHILD = """
from datetime import datetime
from echeancier.settings import Settings
from tasks.outbox import deliver
deliver(Settings(), datetime.fromisoformat({now!r}), workers=4)
"""


def test_a_run_killed_mid_batch_strands_only_its_sends_in_flight(
    settings: Settings, engine: Engine, sandbox: RunningSandbox
) -> None:
    _queue_many(engine, 24)
    _fault(sandbox, provider="sendgrid", latency_ms=20)
    # the sixth mail is accepted and its answer held: the run is killed right there
    _fault(
        sandbox,
        provider="sendgrid",
        method="POST",
        path="/v3/mail/send",
        stall_after_ms=30_000,
        count=1,
        after=5,
    )
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD.format(now=NOW.isoformat())], cwd=root, env=os.environ
    )
    try:
        deadline = time.monotonic() + 180  # the child imports Prefect on a busy machine
        while not requests.get(sandbox.url + "/__sandbox/faults", timeout=5).json()["stalled"]:
            assert child.poll() is None, "the sender finished before its send was held"
            assert time.monotonic() < deadline, "no send was ever held"
            time.sleep(0.02)
    finally:
        child.kill()
        child.wait()
    requests.delete(sandbox.url + "/__sandbox/faults", timeout=5).raise_for_status()

    rows, mails = _rows(engine), _mails_by_id(sandbox)
    status = {i: r["status"] for i, r in rows.items()}
    sent = {i for i, s in status.items() if s == "sent"}
    stranded = {i for i, s in status.items() if s == "sending"}
    assert sent <= set(mails)  # nothing recorded sent that SendGrid does not have
    assert set(mails) <= sent | stranded  # nothing SendGrid has is left queued
    assert 1 <= len(stranded) <= 2 * 4  # the sends in flight and one claimed chunk
    untouched = [r for r in rows.values() if r["status"] == "queued"]
    assert all(r["attempts"] == 0 for r in untouched)

    rerun = deliver(settings, NOW + timedelta(minutes=5), sender=_watched(settings, sandbox))
    assert rerun.as_dict() == _counts(interrupted=len(stranded), sent=len(untouched))
    settled = deliver(settings, NOW + UNKNOWN_GRACE + timedelta(minutes=10))
    left = len(stranded & set(mails))  # SendGrid had these: the feed finds them
    assert settled.as_dict() == _counts(
        resolved_sent=left,
        resolved_requeued=len(stranded) - left,
        sent=len(stranded) - left,
    )
    _assert_each_sent_exactly_once(engine, sandbox)
