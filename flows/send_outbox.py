"""The ``send-outbox`` flow: deliver what the nightly queued, inside the send window.

The nightly decides at 02:00 (business time zone); customer mails carry a ``send_after``
at the start of the policy's send window in the customer's own time zone (09:00 by
default), so the night's own sender pass leaves them queued. This flow sends every
kind whose time has come, and resolves ``unknown`` sends (``tasks/outbox.py``). It is
deployed every 15 minutes from 09:00 to 19:00 (Europe/Paris); running it more often, or
twice at once, sends nothing twice: a row is claimed before it is sent. Within the one
``deliver-outbox`` task, up to ``ECHEANCIER_OUTBOX_SEND_WORKERS`` mails are in flight at
once (``tasks/outbox.py``), still paced by the SendGrid bucket.

Run by ``echeancier run send-outbox``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from echeancier.settings import load_settings
from flows.runs import recorded_run
from tasks.outbox import deliver_outbox


def utc_now() -> datetime:
    """The run's clock (the one read of the time; tests may point it elsewhere)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class OutboxReport:
    run_id: str
    at: str
    delivered: dict[str, int]

    def text(self) -> str:
        done = ", ".join(f"{k} {v}" for k, v in self.delivered.items()) or "nothing was due"
        return f"send-outbox at {self.at}: {done}"


@flow(name="send-outbox")
def send_outbox(as_of: date | None = None) -> OutboxReport:
    """Send every queued notice whose send window has opened (``as_of`` is only recorded)."""
    settings = load_settings()
    now = utc_now()
    as_of = as_of or now.astimezone(ZoneInfo(settings.timezone)).date()
    with recorded_run(settings, "send-outbox", as_of, now, utc_now) as run:
        delivered = deliver_outbox(settings, now)
        report = OutboxReport(run.run_id, now.isoformat(timespec="seconds"), delivered)
        run.done(counts=delivered)
    create_markdown_artifact(
        key="send-outbox-summary", markdown=f"# Outbox\n\n{report.text()}\n", description="outbox"
    )
    get_run_logger().info("%s", report.text())
    return report
