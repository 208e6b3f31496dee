"""Provider events for what happened shortly before the clock start.

Stripe lists events only 30 days back, so events are emitted for what was
created or changed in the last 30 days; GoCardless keeps events much longer,
and the generator emits them for the last 90 days. Each Stripe event carries a
sparse snapshot of its object (the object's final state with the fields that
changed since set back, e.g. ``invoice.payment_failed`` shows the invoice
``open`` even if it was paid later) and ``previous_attributes`` for updates.
"""

from __future__ import annotations

from typing import Any

from sandbox.generate.context import Context, iso
from sandbox.generate.ids import Ids

STRIPE_API_VERSION = "2026-10-28.endive"


def stripe_event(
    ctx: Context,
    ids: Ids,
    at: int,
    type_: str,
    obj: dict[str, Any],
    *,
    previous: dict[str, Any] | None = None,
    **overrides: Any,
) -> None:
    """Emit one Stripe event if ``at`` falls in the 30-day window."""
    if not ctx.stripe_events_from <= at < ctx.end:
        return
    snapshot = {**obj, **overrides} if overrides else obj
    data: dict[str, Any] = {"object": snapshot}
    if previous is not None:
        data["previous_attributes"] = previous
    ctx.emit(
        "stripe",
        "events",
        {
            "id": ids.stripe("evt"),
            "object": "event",
            "api_version": STRIPE_API_VERSION,
            "created": at,
            "type": type_,
            "data": data,
            "pending_webhooks": 0,
            "request": {"id": None, "idempotency_key": None},
        },
    )


# What each GoCardless action says, by (resource_type, action): origin, cause, description.
_GC_DETAILS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("payments", "created"): ("api", "payment_created", "Payment created via the API."),
    ("payments", "submitted"): (
        "gocardless",
        "payment_submitted",
        "Payment submitted to the banks. As a result, it can no longer be cancelled.",
    ),
    ("payments", "confirmed"): (
        "gocardless",
        "payment_confirmed",
        "Enough time has passed since the payment was submitted for the banks to return an"
        " error, so this payment is now confirmed.",
    ),
    ("payments", "paid_out"): (
        "gocardless",
        "payment_paid_out",
        "The payment has been paid out by GoCardless.",
    ),
    ("payments", "resubmission_requested"): (
        "gocardless",
        "payment_autoretried",
        "This payment was automatically retried with Success+.",
    ),
    ("payments", "cancelled"): (
        "gocardless",
        "mandate_cancelled",
        "The mandate for this payment was cancelled.",
    ),
    ("payments", "late_failure_settled"): (
        "gocardless",
        "late_failure_settled",
        "This late failed payment was deducted from a payout.",
    ),
    ("payments", "chargeback_settled"): (
        "gocardless",
        "chargeback_settled",
        "This chargeback was deducted from a payout.",
    ),
    ("mandates", "created"): ("api", "mandate_created", "Mandate created via the API."),
    ("mandates", "active"): (
        "gocardless",
        "mandate_activated",
        "The time window after submission for the banks to refuse a mandate has ended.",
    ),
    ("mandates", "cancelled"): (
        "bank",
        "bank_account_closed",
        "The customer's bank account was closed.",
    ),
    ("mandates", "expired"): (
        "gocardless",
        "mandate_expired",
        "The mandate expired because no payments were collected against it for 13 months.",
    ),
    ("subscriptions", "created"): ("api", "subscription_created", "Subscription created."),
    ("subscriptions", "cancelled"): (
        "api",
        "subscription_cancelled",
        "The subscription was cancelled.",
    ),
    ("subscriptions", "payment_created"): (
        "gocardless",
        "payment_created",
        "Payment created by a subscription.",
    ),
    ("refunds", "created"): ("api", "refund_created", "The refund has been created."),
    ("refunds", "paid"): ("gocardless", "refund_paid", "The refund has been paid."),
    ("payouts", "paid"): (
        "gocardless",
        "payout_paid",
        "GoCardless has transferred the payout to the creditor's bank account.",
    ),
}


def gocardless_event(
    ctx: Context,
    ids: Ids,
    at: int,
    resource_type: str,
    action: str,
    links: dict[str, str],
    *,
    details: dict[str, Any] | None = None,
) -> None:
    """Emit one GoCardless event if ``at`` falls in the 90-day window."""
    if not ctx.gocardless_events_from <= at < ctx.end:
        return
    origin, cause, description = _GC_DETAILS.get(
        (resource_type, action), ("gocardless", action, action.replace("_", " ").capitalize())
    )
    body: dict[str, Any] = {"origin": origin, "cause": cause, "description": description}
    if details:
        body.update(details)
    ctx.emit(
        "gocardless",
        "events",
        {
            "id": ids.gocardless("EV"),
            "created_at": iso(at),
            "resource_type": resource_type,
            "action": action,
            "links": links,
            "details": body,
            "metadata": {},
            "resource_metadata": {},
        },
    )
