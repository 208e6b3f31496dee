"""SendGrid send outcomes: sent, failed, retry, unknown; one recipient per request."""

from __future__ import annotations

import logging
import re
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sendgrid.helpers.mail import CustomArg, Mail

from connectors.ratelimit import RateLimiter
from connectors.sendgrid import SendGridConnector
from sandbox.server import RunningSandbox
from tests.connectors.conftest import FakeTime, fault

KEY = "SG.connector.tests"


def _mail(to: str = "jane@example.com", *, template: str | None = "d-dunning-1") -> Mail:
    mail = Mail(from_email="billing@shop.example", to_emails=to)
    if template:
        mail.template_id = template
        mail.dynamic_template_data = {"invoice_id": "in_1", "attempt": 2}
    mail.custom_arg = [CustomArg("outbox_id", "dunning:in_1:2")]
    return mail


@pytest.fixture
def sg(sandbox: RunningSandbox, fake_time: FakeTime) -> SendGridConnector:
    limiter = RateLimiter(rate=100, clock=fake_time.time, sleep=fake_time.sleep)
    return SendGridConnector(KEY, sandbox.url, limiter=limiter, clock=fake_time.time)


def _messages(sandbox: RunningSandbox) -> list[dict]:
    return list(requests.get(sandbox.url + "/__sandbox/sendgrid/messages", timeout=5).json())


def test_sent_with_the_message_id(sandbox: RunningSandbox, sg: SendGridConnector) -> None:
    result = sg.send(_mail())
    assert (result.status, result.http_status) == ("sent", 202)
    (message,) = _messages(sandbox)
    assert result.message_id == message["message_id"]
    assert message["body"]["custom_args"] == {"outbox_id": "dunning:in_1:2"}


def test_one_connector_shared_by_threads_gives_each_mail_its_own_answer(
    sandbox: RunningSandbox, sg: SendGridConnector
) -> None:
    fault(sandbox, provider="sendgrid", latency_ms=20)  # the requests overlap
    recipients = [f"client{i:02d}@example.com" for i in range(24)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda to: sg.send(_mail(to)), recipients))

    assert all(r.status == "sent" for r in results)
    by_id = {m["message_id"]: m["body"]["personalizations"][0]["to"] for m in _messages(sandbox)}
    assert len(by_id) == len(recipients)  # each sent once
    assert [by_id[r.message_id] for r in results] == [[{"email": to}] for to in recipients]


def test_sandbox_mode_validates_without_sending(sandbox: RunningSandbox) -> None:
    conn = SendGridConnector(KEY, sandbox.url, sandbox_mode=True)
    mail = _mail()
    result = conn.send(mail)
    assert (result.status, result.http_status, result.message_id) == ("sent", 200, None)
    assert _messages(sandbox) == []
    assert "mail_settings" not in mail.get()  # the caller's message is left as it was


def test_a_bad_request_failed_without_quoting_the_address(sg: SendGridConnector) -> None:
    result = sg.send(_mail(template=None))  # no template, no content, no subject
    assert (result.status, result.http_status) == ("failed", 400)
    assert result.error is not None
    assert "content" in result.error
    assert "jane@example.com" not in result.error


@pytest.mark.parametrize("status", [429, 503])
def test_429_and_5xx_are_retry_later(
    sandbox: RunningSandbox, sg: SendGridConnector, fake_time: FakeTime, status: int
) -> None:
    requests.post(sandbox.url + "/__sandbox/clock", json={"now": "2026-06-30T22:00:00+00:00"})
    fake_time.now = 1_782_856_800.0  # the same moment
    fault(sandbox, provider="sendgrid", status=status, count=1)
    result = sg.send(_mail())
    assert (result.status, result.http_status) == ("retry", status)
    if status == 429:
        assert result.retry_after == 1.0  # X-RateLimit-Reset: now + 1
    assert _messages(sandbox) == []


def test_a_dropped_connection_is_unknown_and_not_resent(
    sandbox: RunningSandbox, sg: SendGridConnector
) -> None:
    fault(sandbox, provider="sendgrid", drop=1)
    result = sg.send(_mail())
    assert result.status == "unknown"
    assert result.http_status is None
    assert _messages(sandbox) == []  # and the connector did not try again on its own
    rows = requests.get(
        sandbox.url + "/__sandbox/requests", params={"provider": "sendgrid"}, timeout=5
    ).json()
    assert len(rows) == 1


def test_a_refused_connection_is_retry_later() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = SendGridConnector(KEY, f"http://127.0.0.1:{port}").send(_mail())
    assert result.status == "retry"


def test_one_recipient_per_request(sg: SendGridConnector) -> None:
    mail = Mail(from_email="billing@shop.example", to_emails=["a@example.com", "b@example.com"])
    with pytest.raises(ValueError, match="one recipient"):
        sg.send(mail)


def test_a_401_is_failed(sandbox: RunningSandbox) -> None:
    result = SendGridConnector("not-a-sendgrid-key", sandbox.url).send(_mail())
    assert (result.status, result.http_status) == ("failed", 401)
    assert "not-a-sendgrid-key" not in repr(result)


def test_the_sdk_debug_log_never_shows_the_key_or_the_address(
    sg: SendGridConnector, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="python_http_client.client"):
        sg.send(_mail())
    assert caplog.records  # the SDK did log the request...
    assert KEY not in caplog.text  # ...but not its headers
    assert "jane@example.com" not in caplog.text  # ...nor its payload


def test_a_lost_answer_is_unknown_and_the_activity_feed_finds_the_mail(
    sandbox: RunningSandbox, sg: SendGridConnector
) -> None:
    fault(sandbox, provider="sendgrid", lose_answer=1)

    result = sg.send(_mail())

    assert result.status == "unknown"  # SendGrid took it, the answer never came back
    (message,) = _messages(sandbox)
    assert sg.find_sent("outbox_id", "dunning:in_1:2") == [message["message_id"]]
    assert sg.find_sent("outbox_id", "dunning:in_9:2") == []


def test_the_activity_feed_cannot_be_asked_is_none(
    sandbox: RunningSandbox, sg: SendGridConnector
) -> None:
    fault(sandbox, provider="sendgrid", status=503)
    assert sg.find_sent("outbox_id", "dunning:in_1:2") is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"subject": "Rappel\r\nBcc: x@evil.example"}, "subject contains a control character"),
        ({"to_name": "Jeanne\nBcc: x@evil.example"}, r"to\[0\]\.name .*\(U\+000A\)"),
        ({"to_name": "Jeanne\u2028Martin"}, r"to\[0\]\.name .*\(U\+2028\)"),
        ({"to_name": "Jeanne\x00"}, r"to\[0\]\.name .*\(U\+0000\)"),
        ({"to_email": "jane@example.com\r\nCc: x@evil.example"}, r"to\[0\]\.email"),
        ({"to_email": "jane@example.com, x@evil.example"}, r"to\[0\]\.email contains ','"),
        ({"to_email": "Jane <jane@example.com>"}, r"to\[0\]\.email contains ' '"),
        ({"from_name": "Shop\rX-Evil: 1"}, r"from\.name"),
        ({"custom": "id\n1"}, r"custom_args\['notification_id'\]"),
    ],
)
def test_header_injection_is_named_without_the_value(change: dict[str, str], reason: str) -> None:
    from connectors.sendgrid import header_problem

    to = {"email": change.get("to_email", "jane@example.com")}
    if "to_name" in change:
        to["name"] = change["to_name"]
    body = {
        "personalizations": [{"to": [to]}],
        "from": {"email": "billing@shop.example", "name": change.get("from_name", "Shop")},
        "subject": change.get("subject", "Rappel : facture F-1"),
        "custom_args": {"notification_id": change.get("custom", "abc")},
    }
    problem = header_problem(body)
    assert problem is not None
    assert re.search(reason, problem)
    assert "jane@example.com" not in problem
    assert "evil" not in problem


def test_a_plain_message_has_no_header_problem() -> None:
    from connectors.sendgrid import header_problem

    body = {
        "personalizations": [
            {"to": [{"email": "léa.o'neil+bills@example.fr", "name": "Léa <O'Neil> & Co"}]}
        ],
        "from": {"email": "billing@shop.example"},
        "subject": "Rappel : facture F-1 — {{ 7*7 }}",
        "categories": ["dunning"],
    }
    assert header_problem(body) is None


def test_an_injected_header_is_failed_and_never_sent(
    sandbox: RunningSandbox, sg: SendGridConnector
) -> None:
    body = _mail().get()  # the SDK's own Mail refuses nothing: the connector must
    body["personalizations"][0]["to"][0]["name"] = "Jane\r\nBcc: x@evil.example"
    result = sg.send(body)
    assert result.status == "failed"
    assert result.error is not None
    assert "to[0].name" in result.error
    assert "jane@example.com" not in result.error
    assert _messages(sandbox) == []
