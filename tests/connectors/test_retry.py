"""Backoff with jitter, the providers' wait headers, and errors that name the stream."""

from __future__ import annotations

import pickle

import pytest

from connectors.errors import ConnectorError, EventCursorExpired, redact
from connectors.retry import Failure, RetryPolicy, header_wait, remaining_budget
from tests.connectors.conftest import FakeTime

NOW = 1_782_856_800.0  # 2026-06-30 22:00:00 UTC


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "Tue, 30 Jun 2026 22:00:07 GMT"}, 7.0),
        ({"ratelimit-reset": "Tue, 30 Jun 2026 22:01:00 GMT"}, 60.0),  # GoCardless
        ({"x-ratelimit-reset": str(int(NOW) + 2)}, 2.0),  # AfterShip, SendGrid: epoch
        ({"as-ratelimit-reset": "4"}, 4.0),
        ({"x-ratelimit-reset": str(int(NOW) - 5)}, None),  # already past
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_header_wait_reads_every_provider_form(headers: dict[str, str], expected: float) -> None:
    assert header_wait(headers, NOW) == expected


def test_remaining_budget_from_either_header_family() -> None:
    gc = {"ratelimit-remaining": "0", "ratelimit-reset": "Tue, 30 Jun 2026 22:01:00 GMT"}
    assert remaining_budget(gc, NOW) == (0, 60.0)
    assert remaining_budget({"x-ratelimit-remaining": "4"}, NOW) == (4, None)
    assert remaining_budget({}, NOW) == (None, None)


def test_backoff_doubles_with_full_jitter_and_caps() -> None:
    policy = RetryPolicy(base_backoff=0.5, max_backoff=3.0, random=lambda: 1.0, clock=lambda: NOW)
    bare = Failure("boom", retryable=True, status=503)
    assert [policy.wait(n, bare) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    half = RetryPolicy(random=lambda: 0.5, clock=lambda: NOW)
    assert half.wait(3, bare) == 1.5
    asked = Failure("slow down", retryable=True, status=429, headers={"retry-after": "500"})
    assert RetryPolicy(max_wait=90, clock=lambda: NOW).wait(1, asked) == 90


class _Flaky(Exception):
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status} for key sk_test_SECRET1234 and jane@example.com")
        self.status = status
        self.headers = headers or {}


def _classify(exc: Exception) -> Failure | None:
    if not isinstance(exc, _Flaky):
        return None
    return Failure(str(exc), exc.status in (429, 503), exc.status, "code", exc.headers)


def test_run_retries_transient_failures_then_succeeds() -> None:
    clock = FakeTime(NOW)
    policy = RetryPolicy(sleep=clock.sleep, random=lambda: 0.5, clock=clock.time)
    answers: list[Exception | str] = [_Flaky(429, {"retry-after": "3"}), _Flaky(503), "ok"]

    def call() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert policy.run(call, _classify, provider="stripe", stream="charges") == "ok"
    assert clock.sleeps == [3.0, 0.75]  # the header's 3 s, then backoff 1.0 * (0.5 + 0.25)


def test_run_gives_up_with_a_redacted_connector_error() -> None:
    clock = FakeTime(NOW)
    policy = RetryPolicy(max_attempts=3, sleep=clock.sleep, random=lambda: 0.0, clock=clock.time)

    def call() -> None:
        raise _Flaky(503)

    with pytest.raises(ConnectorError) as caught:
        policy.run(call, _classify, provider="stripe", stream="charges")
    err = caught.value
    assert (err.provider, err.stream, err.status, err.retryable) == ("stripe", "charges", 503, True)
    assert len(clock.sleeps) == 2
    assert "sk_test_SECRET1234" not in str(err)
    assert "jane@example.com" not in str(err)
    assert str(err).startswith("stripe charges: HTTP 503 (code) [retries exhausted]:")
    assert err.__cause__ is None
    assert err.__suppress_context__


def test_final_failures_are_not_retried() -> None:
    clock = FakeTime(NOW)
    policy = RetryPolicy(sleep=clock.sleep, clock=clock.time)
    calls = []

    def call() -> None:
        calls.append(1)
        raise _Flaky(403)

    with pytest.raises(ConnectorError, match="stripe disputes: HTTP 403"):
        policy.run(call, _classify, provider="stripe", stream="disputes")
    assert calls == [1]
    assert clock.sleeps == []


def test_other_exceptions_pass_through() -> None:
    def call() -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        RetryPolicy().run(call, _classify, provider="stripe", stream="charges")


def test_redact_removes_keys_masks_and_addresses() -> None:
    text = (
        "Invalid API Key provided: sk_test_**********1234; Bearer abc.def; SG.key.value; "
        "for jean.dupont+shop@example.fr; token my-own-secret"
    )
    clean = redact(text, ["my-own-secret"])
    for leaked in ("1234", "abc.def", "SG.key", "jean.dupont", "my-own-secret"):
        assert leaked not in clean


def test_errors_pickle_without_losing_their_fields() -> None:
    err = EventCursorExpired("stripe", "events", "gone", status=400, code="resource_missing")
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, EventCursorExpired)
    assert (back.status, back.code, str(back)) == (400, "resource_missing", str(err))
