"""Subscription and invoice write endpoints the dunning and renewal flows call.

- ``POST /v1/subscriptions/{id}``: ``pause_collection[behavior]`` (``""`` to
  resume), ``cancel_at_period_end`` (sets ``cancel_at`` to the end of the
  current period, as Stripe does, and ``canceled_at`` to now), ``metadata[k]``
  (``""`` deletes a key), ``default_payment_method``. Event
  ``customer.subscription.updated`` with ``previous_attributes``.
- ``DELETE /v1/subscriptions/{id}``: ``status: canceled``, ``canceled_at`` and
  ``ended_at`` now. Event ``customer.subscription.deleted``.
- ``POST /v1/invoices/{id}/mark_uncollectible``: only an open invoice. Event
  ``invoice.marked_uncollectible``.
"""

from __future__ import annotations

import copy
from typing import Any

from sandbox.providers.stripe_events import WriteContext
from sandbox.providers.stripe_reads import expand_list
from sandbox.providers.stripe_wire import (
    invalid_request,
    missing,
    parse_bool,
    parse_int,
    render,
    unknown_parameter,
)

PAUSE_BEHAVIORS = ("keep_as_draft", "mark_uncollectible", "void")
UPDATE_PARAMS = {
    "expand",
    "pause_collection",
    "cancel_at_period_end",
    "metadata",
    "default_payment_method",
    "proration_behavior",
    "cancellation_details",
}
CANCEL_PARAMS = {"expand", "invoice_now", "prorate", "cancellation_details"}


def _check(params: dict[str, Any], allowed: set[str]) -> None:
    for name in params:
        if name not in allowed:
            raise unknown_parameter(name)
    expand_list(params)


def _subscription(ctx: WriteContext, sub_id: str) -> dict[str, Any]:
    sub = ctx.store.get("stripe", "subscriptions", sub_id)
    if sub is None:
        raise missing("subscription", sub_id)
    return sub


def _period_end(sub: dict[str, Any]) -> int | None:
    ends = [
        item.get("current_period_end")
        for item in ((sub.get("items") or {}).get("data") or [])
        if item.get("current_period_end") is not None
    ]
    return max(ends) if ends else None


def _pause(value: Any) -> dict[str, Any] | None:
    if value == "":
        return None
    if not isinstance(value, dict):
        raise invalid_request("Invalid hash", param="pause_collection")
    behavior = value.get("behavior")
    if behavior not in PAUSE_BEHAVIORS:
        raise invalid_request(
            f"Invalid pause_collection[behavior]: must be one of {', '.join(PAUSE_BEHAVIORS)}",
            param="pause_collection[behavior]",
        )
    for key in value:
        if key not in ("behavior", "resumes_at"):
            raise unknown_parameter(f"pause_collection[{key}]")
    resumes = value.get("resumes_at")
    resumes_at = parse_int(resumes, "pause_collection[resumes_at]") if resumes else None
    return {"behavior": behavior, "resumes_at": resumes_at}


def _metadata(current: dict[str, Any], value: Any) -> dict[str, Any]:
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid_request("Invalid hash", param="metadata")
    out = dict(current)
    for key, val in value.items():
        if val == "":
            out.pop(key, None)
        else:
            out[key] = str(val)
    return out


def update_subscription(ctx: WriteContext, sub_id: str, params: dict[str, Any]) -> dict[str, Any]:
    _check(params, UPDATE_PARAMS)
    old = _subscription(ctx, sub_id)
    sub = copy.deepcopy(old)
    if sub.get("status") == "canceled" and set(params) - {
        "metadata",
        "cancellation_details",
        "expand",
    }:
        raise invalid_request(
            "A canceled subscription can only update its cancellation_details and metadata."
        )
    if "pause_collection" in params:
        sub["pause_collection"] = _pause(params["pause_collection"])
    if "cancel_at_period_end" in params:
        flag = parse_bool(params["cancel_at_period_end"], "cancel_at_period_end")
        sub["cancel_at_period_end"] = flag
        details = dict(sub.get("cancellation_details") or {})
        if flag:
            sub["cancel_at"] = _period_end(sub)
            sub["canceled_at"] = ctx.now
            details["reason"] = "cancellation_requested"
        else:
            sub["cancel_at"] = None
            sub["canceled_at"] = None
            details["reason"] = None
        sub["cancellation_details"] = details
    if "cancellation_details" in params:
        sub["cancellation_details"] = _details(sub, params["cancellation_details"])
    if "metadata" in params:
        sub["metadata"] = _metadata(sub.get("metadata") or {}, params["metadata"])
    if "default_payment_method" in params:
        pm_id = params["default_payment_method"] or None
        if pm_id and ctx.store.get("stripe", "payment_methods", pm_id) is None:
            raise missing("PaymentMethod", pm_id, param="default_payment_method")
        sub["default_payment_method"] = pm_id
    if render(sub) != render(old):
        ctx.save("subscriptions", sub)
        ctx.emit("customer.subscription.updated", sub, before=old)
    return render(sub)


def _details(sub: dict[str, Any], value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid_request("Invalid hash", param="cancellation_details")
    details = dict(sub.get("cancellation_details") or {})
    for key, val in value.items():
        if key not in ("comment", "feedback"):
            raise unknown_parameter(f"cancellation_details[{key}]")
        details[key] = val or None
    return details


def cancel_subscription(ctx: WriteContext, sub_id: str, params: dict[str, Any]) -> dict[str, Any]:
    _check(params, CANCEL_PARAMS)
    old = _subscription(ctx, sub_id)
    if old.get("status") == "canceled":
        # Stripe answers a second cancel as if the subscription were gone.
        raise missing("subscription", sub_id)
    sub = copy.deepcopy(old)
    details = dict(sub.get("cancellation_details") or {})
    if "cancellation_details" in params:
        details = _details(sub, params["cancellation_details"])
    details["reason"] = "cancellation_requested"
    sub.update(
        status="canceled",
        canceled_at=ctx.now,
        ended_at=ctx.now,
        cancellation_details=details,
        pause_collection=None,
    )
    ctx.save("subscriptions", sub)
    ctx.emit("customer.subscription.deleted", sub)
    return render(sub)


def mark_uncollectible(
    ctx: WriteContext, invoice_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    _check(params, {"expand"})
    old = ctx.store.get("stripe", "invoices", invoice_id)
    if old is None:
        raise missing("invoice", invoice_id)
    if old.get("status") != "open":
        raise invalid_request(
            f"You can only mark an invoice as uncollectible if it is open. This invoice is "
            f"{old.get('status')}.",
            param="id",
        )
    invoice = copy.deepcopy(old)
    invoice["status"] = "uncollectible"
    invoice.setdefault("status_transitions", {})["marked_uncollectible_at"] = ctx.now
    invoice["next_payment_attempt"] = None
    ctx.save("invoices", invoice)
    ctx.emit("invoice.marked_uncollectible", invoice, before=old)
    return render(invoice)
