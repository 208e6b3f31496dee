"""Stripe payment objects: payment intents, charges, refunds, disputes.

One payment intent per invoice or order; one charge per attempt (Stripe makes
a new charge each time it retries an invoice). A succeeded charge gets a
balance transaction (fee 1.5 % + 0.25 EUR); a failed one gets none. About
0.4 % of succeeded charges are disputed 10–60 days later (won 30 %, lost 70 %,
``needs_response`` while younger than a week); a dispute debits the amount
plus a 20.00 EUR fee, a won one credits the amount back.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from sandbox.generate.billing import MESSAGES, Attempt
from sandbox.generate.context import DAY, Context
from sandbox.generate.events import stripe_event
from sandbox.generate.ids import Ids
from sandbox.generate.ledger import Payouts, stripe_fee

DISPUTE_RATE = 0.004
DISPUTE_FEE = 2000


@dataclass
class Card:
    pm: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    country: str
    funding: str
    fingerprint: str

    def details(self) -> dict[str, Any]:
        return {
            "brand": self.brand,
            "last4": self.last4,
            "exp_month": self.exp_month,
            "exp_year": self.exp_year,
            "country": self.country,
            "funding": self.funding,
            "fingerprint": self.fingerprint,
            "network": self.brand,
        }


@dataclass
class Payer:
    """What every charge of one customer repeats."""

    customer: str
    card: Card
    billing: dict[str, Any]


@dataclass
class Paid:
    """The Stripe objects of one paid (or attempted) amount."""

    intent: str
    charges: list[str] = field(default_factory=list)
    succeeded: str | None = None
    refunded: int = 0


def charge_objects(
    ctx: Context,
    ids: Ids,
    rng: random.Random,
    payouts: Payouts,
    payer: Payer,
    *,
    amount: int,
    attempts: list[Attempt],
    metadata: dict[str, str],
    description: str,
    refund: tuple[int, int] | None = None,
    created: int,
) -> Paid:
    """Emit a payment intent and a charge per attempt; ``refund`` is (at, amount)."""
    paid = Paid(intent=ids.stripe("pi"))
    last_error: dict[str, Any] | None = None
    charges: list[dict[str, Any]] = []
    for attempt in attempts:
        ch = ids.stripe("ch")
        paid.charges.append(ch)
        obj: dict[str, Any] = {
            "id": ch,
            "object": "charge",
            "amount": amount,
            "billing_details": payer.billing,
            "created": attempt.at,
            "currency": "eur",
            "customer": payer.customer,
            "description": description,
            "metadata": metadata,
            "payment_intent": paid.intent,
            "payment_method": payer.card.pm,
            "payment_method_details": {"type": "card", "card": payer.card.details()},
            "calculated_statement_descriptor": "ECHEANCIER",
        }
        if attempt.ok:
            paid.succeeded = ch
            obj.update(
                status="succeeded",
                paid=True,
                captured=True,
                amount_captured=amount,
                outcome={
                    "type": "authorized",
                    "network_status": "approved_by_network",
                    "reason": None,
                    "seller_message": "Payment complete.",
                    "risk_level": "normal",
                },
            )
            obj["balance_transaction"] = payouts.stripe_bt(
                ids,
                source=ch,
                type_="charge",
                category="charge",
                amount=amount,
                fee=stripe_fee(amount),
                created=attempt.at,
                description=description,
            )["id"]
        else:
            code = attempt.code or "generic_decline"
            message = MESSAGES.get(code, "Your card was declined.")
            obj.update(
                status="failed",
                failure_code="card_declined" if code != "expired_card" else "expired_card",
                failure_message=message,
                outcome={
                    "type": "issuer_declined",
                    "network_status": "declined_by_network",
                    "reason": code,
                    "seller_message": f"The bank returned the decline code `{code}`.",
                    "risk_level": "normal",
                    "network_decline_code": "51" if code == "insufficient_funds" else "05",
                },
            )
            last_error = {
                "type": "card_error",
                "code": obj["failure_code"],
                "decline_code": code,
                "message": message,
                "charge": ch,
            }
        charges.append(obj)
    final = charges[-1] if charges else None
    if final is not None and final.get("status") == "succeeded":
        if refund is not None:
            _refund(ctx, ids, payouts, final, refund)
            paid.refunded = refund[1]
        if rng.random() < DISPUTE_RATE:
            _dispute(ctx, ids, rng, payouts, final)
    for obj in charges:
        ctx.emit("stripe", "charges", obj)
        kind = "charge.succeeded" if obj["status"] == "succeeded" else "charge.failed"
        stripe_event(
            ctx, ids, obj["created"], kind, obj, amount_refunded=0, refunded=False, disputed=False
        )
        if obj.get("amount_refunded") and refund is not None:
            stripe_event(
                ctx,
                ids,
                refund[0],
                "charge.refunded",
                obj,
                previous={"amount_refunded": 0, "refunded": False},
            )
    intent: dict[str, Any] = {
        "id": paid.intent,
        "object": "payment_intent",
        "amount": amount,
        "created": created,
        "currency": "eur",
        "customer": payer.customer,
        "description": description,
        "metadata": metadata,
        "payment_method": payer.card.pm,
        "payment_method_types": ["card"],
        "capture_method": "automatic",
        "confirmation_method": "automatic",
        "latest_charge": final["id"] if final else None,
    }
    if paid.succeeded:
        intent.update(status="succeeded", amount_received=amount)
    else:
        intent.update(status="requires_payment_method", last_payment_error=last_error)
    ctx.emit("stripe", "payment_intents", intent)
    stripe_event(
        ctx,
        ids,
        created,
        "payment_intent.created",
        intent,
        status="requires_payment_method",
        amount_received=0,
    )
    if paid.succeeded:
        stripe_event(ctx, ids, final["created"], "payment_intent.succeeded", intent)
    elif final is not None:
        stripe_event(ctx, ids, final["created"], "payment_intent.payment_failed", intent)
    return paid


def _refund(
    ctx: Context, ids: Ids, payouts: Payouts, charge: dict[str, Any], refund: tuple[int, int]
) -> None:
    at, amount = refund
    re_id = ids.stripe("re")
    bt = payouts.stripe_bt(
        ids,
        source=re_id,
        type_="refund",
        category="refund",
        amount=-amount,
        fee=0,
        created=at,
        delay_days=0,
        description="REFUND FOR CHARGE",
    )
    obj = {
        "id": re_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": bt["id"],
        "charge": charge["id"],
        "created": at,
        "currency": "eur",
        "payment_intent": charge["payment_intent"],
        "reason": "requested_by_customer",
        "status": "succeeded",
        "metadata": charge["metadata"],
        "destination_details": {"type": "card", "card": {"type": "refund"}},
    }
    ctx.emit("stripe", "refunds", obj)
    stripe_event(ctx, ids, at, "refund.created", obj)
    charge.update(amount_refunded=amount, refunded=amount >= charge["amount"])


def _dispute(
    ctx: Context, ids: Ids, rng: random.Random, payouts: Payouts, charge: dict[str, Any]
) -> None:
    at = charge["created"] + rng.randint(10, 60) * DAY
    if at >= ctx.end:
        return
    du = ids.stripe("du")
    amount = charge["amount"] - charge.get("amount_refunded", 0)
    if amount <= 0:
        return
    bts = [
        payouts.stripe_bt(
            ids,
            source=du,
            type_="adjustment",
            category="dispute",
            amount=-amount,
            fee=DISPUTE_FEE,
            created=at,
            delay_days=0,
            description=f"Chargeback withdrawal for {charge['id']}",
        )
    ]
    closed = at + rng.randint(20, 45) * DAY
    status = "needs_response" if at > ctx.end - 7 * DAY else "under_review"
    if closed < ctx.end and status != "needs_response":
        status = "won" if rng.random() < 0.3 else "lost"
        if status == "won":
            bts.append(
                payouts.stripe_bt(
                    ids,
                    source=du,
                    type_="adjustment",
                    category="dispute_reversal",
                    amount=amount,
                    fee=0,
                    created=closed,
                    delay_days=0,
                    description=f"Chargeback reversal for {charge['id']}",
                )
            )
    reason = rng.choice(
        ["fraudulent", "product_not_received", "subscription_canceled", "general", "duplicate"]
    )
    obj = {
        "id": du,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": bts,
        "charge": charge["id"],
        "created": at,
        "currency": "eur",
        "payment_intent": charge["payment_intent"],
        "reason": reason,
        "status": status,
        "is_charge_refundable": False,
        "evidence_details": {
            "due_by": at + 21 * DAY,
            "has_evidence": status in ("won", "lost"),
            "past_due": False,
            "submission_count": int(status != "needs_response"),
        },
        "payment_method_details": {
            "type": "card",
            "card": {"brand": "visa", "case_type": "chargeback"},
        },
    }
    ctx.emit("stripe", "disputes", obj)
    ctx.notable["stripe_disputes"] += 1
    stripe_event(
        ctx,
        ids,
        at,
        "charge.dispute.created",
        obj,
        status="needs_response",
        balance_transactions=bts[:1],
    )
    if status in ("won", "lost"):
        stripe_event(
            ctx, ids, closed, "charge.dispute.closed", obj, previous={"status": "under_review"}
        )
    charge["disputed"] = True
