"""A decision to write to someone, as a deciding function hands it to the outbox.

Pure value: the dunning, notices and tax domains build these; ``warehouse.outbox.enqueue``
records them in ``notifications`` (one row per ``dedupe_key``, ever).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class Notice:
    """One decision to write to someone, as the deciding flow hands it to the outbox.

    ``context`` holds the template's variables (JSON-serialisable; dates become ISO
    strings) and never the recipient's address: the sender looks that up at send time.
    """

    dedupe_key: str
    kind: str
    template: str
    locale: str
    planned_for: date
    context: Mapping[str, Any] = field(default_factory=dict)
    audience: str = "customer"
    stage: str | None = None
    customer_id: str | None = None
    invoice_id: str | None = None
    subscription_id: str | None = None
    payment_id: str | None = None
    tracking_id: str | None = None
    send_after: datetime | None = None
