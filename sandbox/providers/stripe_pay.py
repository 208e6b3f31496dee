"""``POST /v1/invoices/{id}/pay``: charge the customer's card, as Stripe's test cards do.

The outcome comes from the last four digits of the card that pays (the
``payment_method`` parameter, else the invoice's, the subscription's, then the
customer's ``invoice_settings.default_payment_method``), as Stripe's test cards
decline (:mod:`stripe_cards`): 9995 fails attempt 1 with a 402 ``card_declined``
/ ``insufficient_funds``, and succeeds on a later attempt when the seeded draw
says so; 9987 (lost) fails every attempt.

A success creates (or completes) the invoice's payment intent, a charge, its
balance transaction (Stripe's EEA card fee, 1.5 % + 25 cents) and marks the
invoice payment and the invoice paid; a failure leaves a failed charge, the
payment intent back in ``requires_payment_method`` with ``last_payment_error``,
and the invoice open with one more attempt. A subscription whose invoice fails
goes ``past_due``; paying it brings it back to ``active``.
"""

from __future__ import annotations

import copy
from typing import Any

from sandbox.providers.stripe_cards import Decline, card_fee, decide, outcome
from sandbox.providers.stripe_events import WriteContext
from sandbox.providers.stripe_wire import (
    DOCS,
    StripeError,
    invalid_request,
    missing,
    new_id,
    parse_bool,
    render,
    unknown_parameter,
)

RETRY_AFTER_S = 3 * 86400  # Stripe's next automatic attempt, for ``next_payment_attempt``
MAX_AUTOMATIC_ATTEMPTS = 4
PAY_PARAMS = {"expand", "payment_method", "paid_out_of_band", "off_session", "forgive"}


def _payment_method(ctx: WriteContext, invoice: dict[str, Any], params: dict[str, Any]) -> Any:
    pm_id = params.get("payment_method") or invoice.get("default_payment_method")
    subscription_id = ((invoice.get("parent") or {}).get("subscription_details") or {}).get(
        "subscription"
    )
    if not pm_id and subscription_id:
        sub = ctx.store.get("stripe", "subscriptions", subscription_id) or {}
        pm_id = sub.get("default_payment_method")
    if not pm_id and invoice.get("customer"):
        customer = ctx.store.get("stripe", "customers", invoice["customer"]) or {}
        pm_id = (customer.get("invoice_settings") or {}).get("default_payment_method")
    if not pm_id:
        raise invalid_request(
            "This customer has no attached payment source or default payment method. Please "
            "consider adding a default payment method. For more information, visit "
            "https://stripe.com/docs/billing/subscriptions/payment-methods-setting"
            "#payment-method-priority."
        )
    pm = ctx.store.get("stripe", "payment_methods", pm_id)
    if pm is None:
        raise missing("PaymentMethod", pm_id, param="payment_method")
    return pm


def _check_state(invoice: dict[str, Any]) -> None:
    status = invoice.get("status")
    if status == "paid":
        raise invalid_request("Invoice is already paid")
    if status == "void":
        raise invalid_request("This invoice is void and can no longer be paid.")


def pay_invoice(ctx: WriteContext, invoice_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """Attempt payment; returns the paid invoice or raises the 402 ``card_error``."""
    for name in params:
        if name not in PAY_PARAMS:
            raise unknown_parameter(name)
    old = ctx.store.get("stripe", "invoices", invoice_id)
    if old is None:
        raise missing("invoice", invoice_id)
    _check_state(old)
    invoice = copy.deepcopy(old)
    if invoice.get("status") in (None, "draft"):
        invoice["status"] = "open"
        invoice.setdefault("status_transitions", {})["finalized_at"] = ctx.now
    amount = int(invoice.get("amount_remaining", invoice.get("amount_due", 0)) or 0)
    out_of_band = parse_bool(params.get("paid_out_of_band", "false"), "paid_out_of_band")
    if amount == 0 or out_of_band:
        return _mark_paid(ctx, old, invoice, amount=0 if out_of_band else amount)
    pm = _payment_method(ctx, invoice, params)
    card = pm.get("card") or {}
    attempt = int(invoice.get("attempt_count") or 0) + 1
    decline = decide(str(card.get("last4", "")), ctx.seed, invoice_id, attempt)
    pi, inpay = _payment_intent(ctx, invoice, amount)
    charge = _charge(ctx, invoice, pi, pm, amount, decline)
    invoice["attempt_count"] = attempt
    invoice["attempted"] = True
    if decline is None:
        return _succeed(ctx, old, invoice, pi, inpay, charge, amount)
    _fail(ctx, old, invoice, pi, charge, pm, decline, attempt)
    error = {
        "charge": charge["id"],
        "code": decline.code,
        "decline_code": decline.decline_code,
        "doc_url": DOCS + decline.code.replace("_", "-"),
        "message": decline.message,
        "payment_intent": render(pi),
        "payment_method": render(pm),
        "type": "card_error",
    }
    raise StripeError(402, error)


def _payment_intent(
    ctx: WriteContext, invoice: dict[str, Any], amount: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The invoice's open payment (reused across attempts, as Stripe does), or a new one."""
    rows, _ = ctx.store.list(
        "stripe", "invoice_payments", where={"invoice": invoice["id"], "status": "open"}, limit=1
    )
    pi_id = ((rows[0].get("payment") or {}).get("payment_intent")) if rows else None
    pi = ctx.store.get("stripe", "payment_intents", pi_id) if pi_id else None
    if rows and pi is not None:
        return copy.deepcopy(pi), copy.deepcopy(rows[0])
    pi = {
        "id": new_id("pi_"),
        "object": "payment_intent",
        "amount": amount,
        "amount_received": 0,
        "capture_method": "automatic",
        "confirmation_method": "automatic",
        "created": ctx.now,
        "currency": invoice.get("currency", "eur"),
        "customer": invoice.get("customer"),
        "description": "Subscription update" if invoice.get("parent") else "Payment for Invoice",
        "metadata": {},
        "payment_method_types": ["card"],
        "status": "requires_payment_method",
    }
    inpay = {
        "id": new_id("inpay_"),
        "object": "invoice_payment",
        "amount_paid": None,
        "amount_requested": amount,
        "created": ctx.now,
        "currency": pi["currency"],
        "invoice": invoice["id"],
        "is_default": True,
        "livemode": False,
        "payment": {"type": "payment_intent", "payment_intent": pi["id"]},
        "status": "open",
        "status_transitions": {"canceled_at": None, "paid_at": None},
    }
    ctx.save("payment_intents", pi)
    ctx.emit("payment_intent.created", pi)
    ctx.save("invoice_payments", inpay)
    return copy.deepcopy(pi), copy.deepcopy(inpay)


def _charge(
    ctx: WriteContext,
    invoice: dict[str, Any],
    pi: dict[str, Any],
    pm: dict[str, Any],
    amount: int,
    decline: Decline | None,
) -> dict[str, Any]:
    card = pm.get("card") or {}
    ok = decline is None
    charge: dict[str, Any] = {
        "id": new_id("ch_"),
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if ok else 0,
        "amount_refunded": 0,
        "balance_transaction": None,
        "captured": ok,
        "created": ctx.now,
        "currency": pi["currency"],
        "customer": invoice.get("customer"),
        "description": pi.get("description"),
        "failure_code": None if ok else decline.code,
        "failure_message": None if ok else decline.message,
        "metadata": dict(invoice.get("metadata") or {}),
        "outcome": outcome(decline),
        "paid": ok,
        "payment_intent": pi["id"],
        "payment_method": pm["id"],
        "payment_method_details": {
            "card": {
                **{
                    k: card[k]
                    for k in ("brand", "last4", "exp_month", "exp_year", "country", "funding")
                    if k in card
                },
                "network": card.get("brand"),
            },
            "type": "card",
        },
        "status": "succeeded" if ok else "failed",
    }
    if ok:
        fee = card_fee(amount, card.get("country"))
        txn = {
            "id": new_id("txn_"),
            "object": "balance_transaction",
            "amount": amount,
            "available_on": ctx.now + 2 * 86400,
            "balance_type": "payments",
            "created": ctx.now,
            "currency": pi["currency"],
            "description": charge["description"],
            "fee": fee,
            "fee_details": [
                {
                    "amount": fee,
                    "application": None,
                    "currency": pi["currency"],
                    "description": "Stripe processing fees",
                    "type": "stripe_fee",
                }
            ],
            "net": amount - fee,
            "reporting_category": "charge",
            "source": charge["id"],
            "status": "pending",
            "type": "charge",
        }
        ctx.save("balance_transactions", txn, extra={"payout": None})
        charge["balance_transaction"] = txn["id"]
    ctx.save("charges", charge)
    return charge


def _subscription_status(ctx: WriteContext, invoice: dict[str, Any], status: str) -> None:
    """Move the invoice's subscription between ``active`` and ``past_due``."""
    sub_id = ((invoice.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    sub = ctx.store.get("stripe", "subscriptions", sub_id) if sub_id else None
    if sub is None:
        return
    moves = {"past_due": ("active",), "active": ("past_due", "unpaid")}
    if sub.get("status") not in moves[status]:
        return
    new = {**sub, "status": status}
    ctx.save("subscriptions", new)
    ctx.emit("customer.subscription.updated", new, before=sub)


def _mark_paid(
    ctx: WriteContext, old: dict[str, Any], invoice: dict[str, Any], *, amount: int
) -> dict[str, Any]:
    invoice["status"] = "paid"
    invoice["amount_paid"] = int(invoice.get("amount_paid") or 0) + amount
    invoice["amount_remaining"] = 0
    invoice["next_payment_attempt"] = None
    invoice.setdefault("status_transitions", {})["paid_at"] = ctx.now
    ctx.save("invoices", invoice)
    ctx.emit("invoice.paid", invoice, before=old)
    ctx.emit("invoice.payment_succeeded", invoice, before=old)
    _subscription_status(ctx, invoice, "active")
    return render(invoice)


def _succeed(
    ctx: WriteContext,
    old: dict[str, Any],
    invoice: dict[str, Any],
    pi: dict[str, Any],
    inpay: dict[str, Any],
    charge: dict[str, Any],
    amount: int,
) -> dict[str, Any]:
    ctx.emit("charge.succeeded", charge)
    old_pi = copy.deepcopy(pi)
    pi.update(
        status="succeeded",
        amount_received=amount,
        latest_charge=charge["id"],
        payment_method=charge["payment_method"],
        last_payment_error=None,
    )
    ctx.save("payment_intents", pi)
    ctx.emit("payment_intent.succeeded", pi, before=old_pi)
    old_inpay = copy.deepcopy(inpay)
    inpay.update(status="paid", amount_paid=amount)
    inpay["status_transitions"] = {**(inpay.get("status_transitions") or {}), "paid_at": ctx.now}
    ctx.save("invoice_payments", inpay)
    ctx.emit("invoice_payment.paid", inpay, before=old_inpay)
    return _mark_paid(ctx, old, invoice, amount=amount)


def _fail(
    ctx: WriteContext,
    old: dict[str, Any],
    invoice: dict[str, Any],
    pi: dict[str, Any],
    charge: dict[str, Any],
    pm: dict[str, Any],
    decline: Decline,
    attempt: int,
) -> None:
    ctx.emit("charge.failed", charge)
    old_pi = copy.deepcopy(pi)
    pi.update(
        status="requires_payment_method",
        latest_charge=charge["id"],
        payment_method=None,
        last_payment_error={
            "charge": charge["id"],
            "code": decline.code,
            "decline_code": decline.decline_code,
            "doc_url": DOCS + decline.code.replace("_", "-"),
            "message": decline.message,
            "payment_method": copy.deepcopy(pm),
            "type": "card_error",
        },
    )
    ctx.save("payment_intents", pi)
    ctx.emit("payment_intent.payment_failed", pi, before=old_pi)
    automatic = invoice.get("collection_method", "charge_automatically") == "charge_automatically"
    more = automatic and attempt < MAX_AUTOMATIC_ATTEMPTS
    invoice["next_payment_attempt"] = ctx.now + RETRY_AFTER_S if more else None
    ctx.save("invoices", invoice)
    ctx.emit("invoice.payment_failed", invoice, before=old)
    _subscription_status(ctx, invoice, "past_due")
