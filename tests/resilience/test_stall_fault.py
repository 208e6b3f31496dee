"""The sandbox's stall fault: the request is carried out, its answer held until released,
and the held request is listed, so a crash test can kill the client exactly there."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from sandbox.faults import FaultPlan
from sandbox.server import RunningSandbox

MAIL = {
    "personalizations": [{"to": [{"email": "jane.doe@example.com"}]}],
    "from": {"email": "billing@example.com"},
    "subject": "Reminder",
    "content": [{"type": "text/plain", "value": "Please pay."}],
}


def test_a_stall_lets_after_requests_through_then_holds_count_of_the_method_it_names() -> None:
    plan = FaultPlan()
    plan.add(
        {
            "provider": "stripe",
            "path": "/v1/invoices/",
            "method": "POST",
            "stall_after_ms": 5000,
            "after": 1,
        }
    )
    assert plan.decide("stripe", "/v1/invoices/in_1", "GET").stall_after_s == 0  # a read
    assert plan.decide("stripe", "/v1/invoices/in_1/pay", "POST").stall_after_s == 0  # after
    assert plan.decide("stripe", "/v1/invoices/in_2/pay", "POST").stall_after_s == 5.0
    assert plan.decide("stripe", "/v1/invoices/in_3/pay", "POST").stall_after_s == 0  # count 1
    assert plan.describe()["faults"] == []


def test_a_stalled_request_is_carried_out_listed_and_answered_once_released(
    sandbox: RunningSandbox,
) -> None:
    base = sandbox.url
    fault = {"provider": "sendgrid", "method": "POST", "stall_after_ms": 60_000}
    requests.post(base + "/__sandbox/faults", json=fault, timeout=5).raise_for_status()
    answer: dict[str, Any] = {}

    def send() -> None:
        response = requests.post(
            base + "/v3/mail/send",
            json=MAIL,
            headers={"Authorization": "Bearer SG.test.key"},
            timeout=60,
        )
        answer["status"] = response.status_code

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + 30
    while not requests.get(base + "/__sandbox/faults", timeout=5).json()["stalled"]:
        assert time.monotonic() < deadline, "the request was never held"
        time.sleep(0.02)
    stalled = requests.get(base + "/__sandbox/faults", timeout=5).json()["stalled"]
    assert stalled == [{"provider": "sendgrid", "method": "POST", "path": "/v3/mail/send"}]
    mails = requests.get(base + "/__sandbox/sendgrid/messages", timeout=5).json()
    assert len(mails) == 1  # SendGrid has the mail …
    assert answer == {}  # … and the client has not heard

    requests.delete(base + "/__sandbox/faults", timeout=5).raise_for_status()
    sender.join(30)
    assert answer == {"status": 202}
    assert requests.get(base + "/__sandbox/faults", timeout=5).json()["stalled"] == []


def test_a_stall_for_an_unknown_provider_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown provider"):
        FaultPlan().add({"provider": "paypal", "stall_after_ms": 1})
