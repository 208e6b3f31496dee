"""The SendGrid emulator, driven through the official ``sendgrid`` SDK and plain HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from python_http_client import exceptions
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Category,
    CustomArg,
    From,
    Mail,
    MailSettings,
    SandBoxMode,
    To,
)

from sandbox.server import RunningSandbox


@pytest.fixture
def sg(sandbox: RunningSandbox) -> SendGridAPIClient:
    return SendGridAPIClient(api_key="SG.test.key", host=sandbox.url)


@pytest.fixture
def faults(sandbox: RunningSandbox) -> Iterator[str]:
    url = sandbox.url + "/__sandbox/faults"
    yield url
    requests.delete(url, timeout=5)


def messages(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = requests.get(
        sandbox.url + "/__sandbox/sendgrid/messages", timeout=5
    ).json()
    return got


def dunning_mail(invoice: str = "in_1", *, sandbox_mode: bool = False) -> Mail:
    mail = Mail(from_email=From("billing@echeancier.test"), to_emails=To("jeanne@example.fr"))
    mail.template_id = "d-dunning-step-2"
    mail.dynamic_template_data = {"invoice_id": invoice, "attempt": 2}
    mail.custom_arg = [CustomArg("outbox_id", f"dunning:{invoice}:2")]
    mail.category = [Category("dunning")]
    if sandbox_mode:
        mail.mail_settings = MailSettings(sandbox_mode=SandBoxMode(True))
    return mail


def valid_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "from": {"email": "billing@echeancier.test"},
        "personalizations": [{"to": [{"email": "jeanne@example.fr"}]}],
        "subject": "Votre facture",
        "content": [{"type": "text/plain", "value": "Bonjour"}],
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def test_send_is_202_with_a_message_id_and_is_recorded(
    sandbox: RunningSandbox, sg: SendGridAPIClient
) -> None:
    first = sg.send(dunning_mail("in_1"))
    second = sg.send(dunning_mail("in_2"))

    assert first.status_code == 202
    assert first.body in (b"", "")
    first_id = first.headers["X-Message-Id"]
    assert len(first_id) == 22
    assert first_id != second.headers["X-Message-Id"]
    log = messages(sandbox)
    assert [m["message_id"] for m in log] == [first_id, second.headers["X-Message-Id"]]
    assert log[0]["body"]["personalizations"][0]["dynamic_template_data"]["invoice_id"] == "in_1"
    assert log[0]["body"]["custom_args"] == {"outbox_id": "dunning:in_1:2"}
    assert log[0]["received_at"].startswith("2026-06-30T22:")  # the sandbox clock


def test_sandbox_mode_is_200_and_sends_nothing(
    sandbox: RunningSandbox, sg: SendGridAPIClient
) -> None:
    response = sg.send(dunning_mail(sandbox_mode=True))

    assert response.status_code == 200
    assert "X-Message-Id" not in response.headers
    assert messages(sandbox) == []


def test_sandbox_mode_still_validates(sandbox: RunningSandbox, sg: SendGridAPIClient) -> None:
    body = valid_body(content=None, mail_settings={"sandbox_mode": {"enable": True}})
    with pytest.raises(exceptions.BadRequestsError):
        sg.send(body)


def errors_for(sg: SendGridAPIClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(exceptions.BadRequestsError) as caught:
        sg.send(body)
    assert caught.value.status_code == 400
    found: list[dict[str, Any]] = caught.value.to_dict["errors"]
    for error in found:
        assert set(error) == {"message", "field", "help"}
    return found


def fields(errors: list[dict[str, Any]]) -> list[str | None]:
    return [e["field"] for e in errors]


def test_a_missing_from_is_refused(sandbox: RunningSandbox, sg: SendGridAPIClient) -> None:
    found = errors_for(sg, valid_body(**{"from": None}))
    assert fields(found) == ["from.email"]
    assert found[0]["message"].startswith("The from object must be provided")
    assert fields(errors_for(sg, valid_body(**{"from": {"email": "not-an-address"}}))) == [
        "from.email"
    ]
    assert messages(sandbox) == []


def test_personalizations_are_required_and_need_a_to(sg: SendGridAPIClient) -> None:
    assert fields(errors_for(sg, valid_body(personalizations=[]))) == ["personalizations"]
    no_to = valid_body(personalizations=[{"to": [{"email": "a@b.fr"}]}, {"cc": []}])
    assert fields(errors_for(sg, no_to)) == ["personalizations.1.to"]
    bad_address = valid_body(personalizations=[{"to": [{"email": "nobody"}]}])
    assert fields(errors_for(sg, bad_address)) == ["personalizations.0.to.0.email"]


def test_more_than_1000_personalizations_is_refused(sg: SendGridAPIClient) -> None:
    people = [{"to": [{"email": f"p{n}@example.fr"}]} for n in range(1001)]
    found = errors_for(sg, valid_body(personalizations=people))
    assert fields(found) == ["personalizations"]
    assert "You have provided 1001 personalizations" in found[0]["message"]


def test_more_than_1000_recipients_in_total_is_refused(sg: SendGridAPIClient) -> None:
    people = [
        {"to": [{"email": f"p{n}@example.fr"}], "cc": [{"email": f"c{n}@example.fr"}]}
        for n in range(501)
    ]
    found = errors_for(sg, valid_body(personalizations=people))
    assert fields(found) == ["personalizations"]
    assert "1000 total recipients" in found[0]["message"]
    exactly_1000 = valid_body(personalizations=people[:500])
    assert sg.send(exactly_1000).status_code == 202


def test_content_and_subject_are_required_unless_a_template_is_given(
    sg: SendGridAPIClient,
) -> None:
    found = errors_for(sg, valid_body(content=None, subject=None))
    assert fields(found) == ["content", "subject"]
    assert fields(errors_for(sg, valid_body(content=[{"type": "text/plain", "value": ""}]))) == [
        "content.0.value"
    ]
    with_template = valid_body(content=None, subject=None, template_id="d-123")
    assert sg.send(with_template).status_code == 202
    each_has_subject = valid_body(
        subject=None, personalizations=[{"to": [{"email": "a@b.fr"}], "subject": "Relance"}]
    )
    assert sg.send(each_has_subject).status_code == 202


def test_custom_args_values_must_be_strings(sg: SendGridAPIClient) -> None:
    found = errors_for(
        sg,
        valid_body(
            custom_args={"attempt": 2},
            personalizations=[{"to": [{"email": "a@b.fr"}], "custom_args": {"ok": "1", "n": True}}],
        ),
    )
    assert sorted(fields(found)) == ["custom_args.attempt", "personalizations.0.custom_args.n"]
    assert "Expected: string, given: integer" in next(
        e["message"] for e in found if e["field"] == "custom_args.attempt"
    )


@pytest.mark.parametrize("key", [None, "not-a-sendgrid-key", "SG."])
def test_a_missing_or_malformed_key_is_the_real_401(
    sandbox: RunningSandbox, key: str | None
) -> None:
    if key is None:
        raw = requests.post(sandbox.url + "/v3/mail/send", json=valid_body(), timeout=5)
        assert raw.status_code == 401
        assert raw.json()["errors"][0]["field"] is None
        return
    with pytest.raises(exceptions.UnauthorizedError) as caught:
        SendGridAPIClient(api_key=key, host=sandbox.url).send(valid_body())
    assert caught.value.to_dict == {
        "errors": [
            {
                "field": None,
                "message": "The provided authorization grant is invalid, expired, or revoked",
            }
        ]
    }
    assert messages(sandbox) == []


def test_injected_429_is_the_sdks_too_many_requests_with_rate_limit_headers(
    sandbox: RunningSandbox, sg: SendGridAPIClient, faults: str
) -> None:
    requests.post(faults, json={"provider": "sendgrid", "status": 429, "count": 1}, timeout=5)

    with pytest.raises(exceptions.TooManyRequestsError) as caught:
        sg.send(dunning_mail())

    assert caught.value.to_dict == {"errors": [{"field": None, "message": "too many requests"}]}
    headers = caught.value.headers
    assert headers["X-RateLimit-Remaining"] == "0"
    assert int(headers["X-RateLimit-Reset"]) > 1_700_000_000
    assert int(headers["X-RateLimit-Limit"]) > 0
    assert messages(sandbox) == []
    assert sg.send(dunning_mail()).status_code == 202


def test_injected_5xx_is_the_sdks_server_error(sg: SendGridAPIClient, faults: str) -> None:
    requests.post(faults, json={"provider": "sendgrid", "status": 500, "count": 1}, timeout=5)
    with pytest.raises(exceptions.InternalServerError):
        sg.send(dunning_mail())


def test_an_unknown_path_is_the_sdks_not_found(sg: SendGridAPIClient) -> None:
    with pytest.raises(exceptions.NotFoundError) as caught:
        sg.client.mail.nowhere.post(request_body=valid_body())
    assert caught.value.status_code == 404
    assert caught.value.to_dict["errors"][0]["field"] is None


def test_the_activity_feed_filters_by_custom_arg_newest_first(
    sandbox: RunningSandbox, sg: SendGridAPIClient
) -> None:
    sg.send(dunning_mail("in_1"))
    sg.send(dunning_mail("in_2"))
    sg.send(dunning_mail("in_1"))

    feed = sg.client.messages.get(
        query_params={"query": "unique_args['outbox_id']=\"dunning:in_1:2\"", "limit": 10}
    )
    found = __import__("json").loads(feed.body)["messages"]

    ids = [m["message_id"] for m in messages(sandbox)]
    assert [m["msg_id"].split(".")[0] for m in found] == [ids[2], ids[0]]
    assert set(found[0]) == {
        "from_email", "msg_id", "subject", "to_email", "status",
        "opens_count", "clicks_count", "last_event_time",
    }  # fmt: skip


def test_the_activity_feed_rejects_a_query_it_cannot_read(sandbox: RunningSandbox) -> None:
    answer = requests.get(
        sandbox.url + "/v3/messages",
        params={"query": "nonsense"},
        headers={"Authorization": "Bearer SG.test.key"},
        timeout=5,
    )
    assert answer.status_code == 400
    assert answer.json()["errors"]
