"""Mails decided at night leave inside the send window, through the daytime sender."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

import flows.dunning
import flows.send_outbox
from flows.dunning import dunning
from flows.send_outbox import send_outbox
from tests.flows.conftest import AS_OF, Live

NIGHT = datetime(2026, 6, 30, 0, 5, tzinfo=UTC)  # 02:05 in Paris
MORNING = datetime(2026, 6, 30, 7, 30, tzinfo=UTC)  # 09:30 in Paris


@pytest.fixture
def live(synced: Live) -> Live:
    """The shop already synced for AS_OF: copies of the session's one sync of it."""
    return synced


def test_a_reminder_decided_at_night_leaves_with_the_morning_sender(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flows.dunning, "utc_now", lambda: NIGHT)
    night = dunning(as_of=AS_OF)
    assert night.recorded["notices_new"] > 0
    assert night.delivered == {}  # queued: 02:05 is before the customer's 09:00
    assert requests.get(live.url + "/__sandbox/sendgrid/messages", timeout=5).json() == []

    monkeypatch.setattr(flows.send_outbox, "utc_now", lambda: MORNING)
    morning = send_outbox()
    again = send_outbox()

    mails = requests.get(live.url + "/__sandbox/sendgrid/messages", timeout=5).json()
    assert morning.delivered == {"sent": night.recorded["notices_new"]} == {"sent": len(mails)}
    assert again.delivered == {}
