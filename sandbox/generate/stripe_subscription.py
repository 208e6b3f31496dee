"""The Stripe subscription object of a card customer, as it stands at the clock start.

Status: ``trialing`` until the trial ends, ``past_due`` while its latest invoice
is being retried, ``canceled`` after the customer left (at the period end) or
after failed payments were given up on, otherwise ``active`` (with
``cancel_at_period_end`` when a cancellation is pending). Tacit-renewal plans
carry ``metadata.tacit_renewal = "true"``, ``metadata.contract`` and
``metadata.notice_days`` for the Loi Chatel renewal notice. Periods are on the
item (``items.data[].current_period_start/end``), as in the current API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.generate.events import stripe_event
from sandbox.generate.vat import tax_rate_id

if TYPE_CHECKING:
    from sandbox.generate.stripe_shop import StripeCustomer

NET_DAYS = 30


def emit_subscription(
    shop: StripeCustomer,
    sub_id: str,
    item: str,
    sub: Any,
    bills: list[Any],
    asked: int | None,
    latest: dict[str, Any] | None,
    send_invoice: bool,
) -> None:
    ctx, plan = shop.ctx, sub.plan
    last_period, last_outcome = bills[-1] if bills else (None, None)
    start = last_period.start if last_period else sub.created
    end = last_period.end if last_period else (sub.trial_end or sub.created)
    status, meta = "active", {}
    if plan.tacit_renewal:
        meta = {
            "tacit_renewal": "true",
            "contract": "maintenance" if plan.business else "annual_plan",
            "notice_days": "30",
        }
    obj: dict[str, Any] = {
        "id": sub_id,
        "object": "subscription",
        "customer": shop.customer,
        "created": sub.created,
        "start_date": sub.created,
        "currency": "eur",
        "billing_cycle_anchor": sub.trial_end or sub.created,
        "collection_method": "send_invoice" if send_invoice else "charge_automatically",
        "days_until_due": NET_DAYS if send_invoice else None,
        "default_payment_method": shop.payer.card.pm,
        "metadata": meta,
        "latest_invoice": latest["id"] if latest else None,
        "trial_start": sub.created if sub.trial_end else None,
        "trial_end": sub.trial_end,
        "default_tax_rates": [],
        "cancel_at_period_end": False,
    }
    price = {
        "id": plan.price_id(ctx.seed),
        "object": "price",
        "active": True,
        "currency": "eur",
        "product": plan.product_id(ctx.seed),
        "nickname": plan.name,
        "unit_amount": plan.amount,
        "unit_amount_decimal": str(plan.amount),
        "recurring": {"interval": plan.interval, "interval_count": 1, "usage_type": "licensed"},
        "tax_behavior": "inclusive" if plan.inclusive else "exclusive",
        "type": "recurring",
        "billing_scheme": "per_unit",
        "created": ctx.start,
    }
    kind = (
        "reverse"
        if shop.person.reverse_charge
        else ("inclusive" if plan.inclusive else "exclusive")
    )
    obj["items"] = {
        "object": "list",
        "has_more": False,
        "url": f"/v1/subscription_items?subscription={sub_id}",
        "data": [
            {
                "id": item,
                "object": "subscription_item",
                "created": sub.created,
                "current_period_start": start,
                "current_period_end": end,
                "price": price,
                "quantity": 1,
                "subscription": sub_id,
                "tax_rates": [],
                "metadata": {},
            }
        ],
    }
    obj["metadata"]["tax_rate"] = tax_rate_id(ctx.seed, shop.person.country, kind)
    events: list[tuple[int, str, dict[str, Any]]] = []
    if sub.trial_end and sub.trial_end >= ctx.end:
        status = "trialing"
    elif last_outcome is not None and last_outcome.given_up_at:
        status = "canceled"
        obj.update(
            canceled_at=last_outcome.given_up_at,
            ended_at=last_outcome.given_up_at,
            cancellation_details={"reason": "payment_failed"},
        )
        events.append((last_outcome.given_up_at, "customer.subscription.deleted", {}))
    elif asked is not None and end <= ctx.end:
        status = "canceled"
        obj.update(
            canceled_at=asked,
            ended_at=end,
            cancel_at=end,
            cancellation_details={"reason": "cancellation_requested"},
        )
        events.append((asked, "customer.subscription.updated", {"cancel_at_period_end": False}))
        events.append((end, "customer.subscription.deleted", {}))
    elif asked is not None:
        obj.update(
            cancel_at_period_end=True,
            cancel_at=end,
            canceled_at=asked,
            cancellation_details={"reason": "cancellation_requested"},
        )
        events.append((asked, "customer.subscription.updated", {"cancel_at_period_end": False}))
    elif (
        last_outcome is not None
        and last_outcome.paid_at is None
        and latest
        and latest["status"] == "open"
        and last_outcome.attempts
        and not send_invoice
    ):
        status = "past_due"
    obj["status"] = status
    shop.ctx.emit("stripe", "subscriptions", obj)
    first = "trialing" if sub.trial_end else "active"
    stripe_event(
        ctx,
        shop.ids,
        sub.created,
        "customer.subscription.created",
        obj,
        status=first,
        canceled_at=None,
        ended_at=None,
        cancel_at=None,
        cancel_at_period_end=False,
    )
    if sub.trial_end and sub.trial_end < ctx.end:
        stripe_event(
            ctx,
            shop.ids,
            sub.trial_end,
            "customer.subscription.updated",
            obj,
            previous={"status": "trialing"},
        )
    for at, type_, previous in events:
        stripe_event(ctx, shop.ids, at, type_, obj, previous=previous or None)
