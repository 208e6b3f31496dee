"""Logs never carry a customer's e-mail or an API key: masked when the record is made,
so the Prefect UI (the API log handler) never receives them."""

from __future__ import annotations

import logging

import pytest
from prefect import flow, get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.logging.handlers import APILogWorker

import flows  # noqa: F401  (installs the mask, as every flow module does)
from flows.logmask import mask


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("reminder to jane.doe@example.com failed", "reminder to j***@example.com failed"),
        ("<Bob.O'Neil+bills@shop.co.uk>", "<B***@shop.co.uk>"),
        ("Stripe key sk_live_51HxAbCdEfGhIjKl rejected", "Stripe key sk_live_*** rejected"),
        ("SendGrid SG.abcdefgh12.ijklmnop34 ok", "SendGrid SG.*** ok"),
        ("Authorization: Bearer tok_ABCDEFGHIJ123", "Authorization: Bearer ***"),
        ("invoice in_1Q2w3E paid 49.90 EUR", "invoice in_1Q2w3E paid 49.90 EUR"),
    ],
)
def test_mask(text: str, expected: str) -> None:
    assert mask(text) == expected


def test_any_logger_is_masked_including_arguments_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("connectors.sendgrid")
    with caplog.at_level(logging.INFO):
        logger.info("sent to %s", "jane.doe@example.com")
        try:
            raise ValueError("mailbox jane.doe@example.com is full")
        except ValueError:
            logger.exception("send failed")
    text = caplog.text
    assert "jane.doe@example.com" not in text
    assert "sent to j***@example.com" in text
    assert "mailbox j***@example.com is full" in text


def test_the_prefect_ui_receives_masked_run_logs(prefect_server: None) -> None:
    @flow
    def mails() -> str:
        get_run_logger().warning("bounce from %s", "jane.doe@example.com")
        get_run_logger().warning("retrying jane.doe@example.com with key sk_live_51HxAbCdEfGh")
        from prefect.runtime import flow_run

        return str(flow_run.id)

    run_id = mails()
    APILogWorker.drain_all()
    with get_client(sync_client=True) as client:
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
    messages = [log.message for log in logs]
    assert any("bounce from j***@example.com" in m for m in messages), messages
    assert any("retrying j***@example.com with key sk_live_***" in m for m in messages)
    assert not any("jane.doe@" in m or "51HxAbCdEfGh" in m for m in messages)
