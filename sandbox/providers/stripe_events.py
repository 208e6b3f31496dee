"""Write context and event log shared by Stripe's write endpoints.

Every state change appends the event Stripe would send, in the order Stripe
sends them, stamped with the sandbox clock. An update event carries
``data.previous_attributes``: the old values of exactly the fields that
changed, nested as in the object. Example: paying invoice ``in_1`` gives
``{"status": "open", "amount_paid": 0, "status_transitions": {"paid_at": null}, ...}``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from sandbox.providers.stripe_wire import API_VERSION, RESOURCES, new_id, render
from sandbox.store import Store


@dataclass
class WriteContext:
    """One write request: where to write, its time, and what its events cite."""

    store: Store
    now: int
    seed: int
    request_id: str
    idempotency_key: str | None = None
    events: list[str] = field(default_factory=list)

    def save(
        self, resource: str, obj: dict[str, Any], *, extra: dict[str, Any] | None = None
    ) -> None:
        """Insert or replace ``obj`` (a sparse object of ``resource``)."""
        assert obj.get("object") == RESOURCES[resource].object, obj.get("object")
        self.store.add("stripe", resource, obj, extra=extra)

    def emit(
        self,
        event_type: str,
        obj: dict[str, Any],
        *,
        before: dict[str, Any] | None = None,
    ) -> str:
        """Append an event about ``obj``; ``before`` (the old object) makes it an update."""
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if before is not None:
            data["previous_attributes"] = previous_attributes(render(before), render(obj))
        event = {
            "id": new_id("evt_"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now,
            "data": data,
            "livemode": False,
            "pending_webhooks": 0,
            "request": {"id": self.request_id, "idempotency_key": self.idempotency_key},
            "type": event_type,
        }
        self.store.add("stripe", "events", event)
        self.events.append(event["id"])
        return str(event["id"])


def previous_attributes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The old values of the fields that differ, recursing into sub-objects."""
    out: dict[str, Any] = {}
    for key in old.keys() | new.keys():
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if (
            isinstance(before, dict)
            and isinstance(after, dict)
            and before.get("object") != "list"
            and "id" not in before
        ):
            out[key] = previous_attributes(before, after)
        else:
            out[key] = before
    return out
