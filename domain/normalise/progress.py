"""How far along its life a Stripe object is, to order the snapshots of one second.

Stripe stamps events to the second and does not promise their order within it, so a
snapshot can follow a newer one: an ``invoice.updated`` holding the invoice still open,
listed after its ``invoice.paid`` of the same second, or turning up past the cursor the
next night. Within one second the sync therefore orders an object's snapshots by how far
along their life they are, and only then by their place in the stream
(:func:`domain.sync_plan.event_versions`). Only moves that are never undone rank higher:
an invoice goes draft → open (→ uncollectible) → paid or void and never back; a charge
settles once and is then only refunded further or disputed; a canceled subscription
stays canceled. Moves that go both ways (a subscription ``active`` ↔ ``past_due``) rank
alike, and list order decides, as before.

Example: in second S, ``invoice.paid`` (rank 3) then ``invoice.updated`` holding the
open invoice (rank 1): the paid snapshot wins, whichever is listed last.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_RANK = 9  # domain.sync_plan keeps ten ranks per second

# object type -> status -> rank (a status not listed ranks 0)
STATUS_RANKS: Mapping[str, Mapping[str, int]] = {
    "invoice": {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3},
    "charge": {"pending": 0, "failed": 1, "succeeded": 1},
    "refund": {"succeeded": 1, "failed": 1, "canceled": 1},
    "payout": {"in_transit": 1, "paid": 2, "failed": 2, "canceled": 2},
    "dispute": {
        "warning_under_review": 1,
        "under_review": 1,
        "warning_closed": 2,
        "won": 2,
        "lost": 2,
    },
    "subscription": {"canceled": 1, "incomplete_expired": 1},
    "payment_intent": {"succeeded": 1, "canceled": 1},
    "invoice_payment": {"paid": 1, "canceled": 1},
}
# object type -> fields that, once set, are never unset: each set one adds a rank
ONE_WAY_FIELDS: Mapping[str, tuple[str, ...]] = {
    "charge": ("amount_refunded", "refunded", "disputed"),
}


def progress(obj: Mapping[str, Any]) -> int:
    """The rank of ``obj``'s snapshot (0 for an unknown type, status or shape)."""
    kind = obj.get("object")
    if not isinstance(kind, str):
        return 0
    status = obj.get("status")
    rank = STATUS_RANKS.get(kind, {}).get(status, 0) if isinstance(status, str) else 0
    rank += sum(1 for name in ONE_WAY_FIELDS.get(kind, ()) if obj.get(name))
    return min(rank, MAX_RANK)
