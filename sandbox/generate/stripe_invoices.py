"""Stripe invoices: amounts, VAT lines, status, and their events.

An invoice's money is consistent by construction: ``amount_due = total``,
``amount_paid + amount_remaining = amount_due``; with VAT-exclusive prices
``total = subtotal + tax``, with inclusive ones ``total = subtotal`` and
``total_excluding_tax = total − tax``. Reverse-charged invoices carry one zero
tax entry with ``taxability_reason: "reverse_charge"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.generate.context import Context
from sandbox.generate.events import stripe_event
from sandbox.generate.ids import Ids
from sandbox.generate.people import Person
from sandbox.generate.vat import RATES, tax_of, tax_rate_id


@dataclass
class Amounts:
    subtotal: int
    tax: int
    total: int
    kind: str  # "inclusive" | "exclusive" | "reverse"

    @property
    def excluding_tax(self) -> int:
        return self.total - self.tax


def tax_kind(person: Person) -> str:
    if person.reverse_charge:
        return "reverse"
    return "exclusive" if person.is_business else "inclusive"


def amounts(person: Person, subtotal: int) -> Amounts:
    kind = tax_kind(person)
    rate = RATES[person.country]
    if kind == "reverse":
        return Amounts(subtotal, 0, subtotal, kind)
    if kind == "exclusive":
        tax = tax_of(subtotal, rate, inclusive=False)
        return Amounts(subtotal, tax, subtotal + tax, kind)
    return Amounts(subtotal, tax_of(subtotal, rate, inclusive=True), subtotal, kind)


def tax_entry(seed: int, person: Person, amount: int, tax: int, kind: str) -> dict[str, Any]:
    return {
        "amount": tax,
        "tax_behavior": "inclusive" if kind == "inclusive" else "exclusive",
        "taxability_reason": "reverse_charge" if kind == "reverse" else "standard_rated",
        "taxable_amount": amount - tax if kind == "inclusive" else amount,
        "type": "tax_rate_details",
        "tax_rate_details": {"tax_rate": tax_rate_id(seed, person.country, kind)},
    }


def line_items(
    seed: int,
    person: Person,
    invoice: str,
    ids: Ids,
    total: Amounts,
    lines: list[tuple[str, int, int, dict[str, Any], dict[str, Any], dict[str, int]]],
) -> dict[str, Any]:
    """``lines``: (description, unit amount, quantity, parent, pricing, period)."""
    data = []
    left = total.tax
    for n, (description, unit, qty, parent, pricing, period) in enumerate(lines):
        amount = unit * qty
        tax = left if n == len(lines) - 1 else amounts(person, amount).tax
        left -= tax
        data.append(
            {
                "id": ids.stripe("il"),
                "object": "line_item",
                "amount": amount,
                "currency": "eur",
                "description": description,
                "invoice": invoice,
                "period": period,
                "quantity": qty,
                "subtotal": amount,
                "taxes": [tax_entry(seed, person, amount, tax, total.kind)],
                "parent": parent,
                "pricing": pricing,
                "discountable": True,
            }
        )
    return {
        "object": "list",
        "data": data,
        "has_more": False,
        "url": f"/v1/invoices/{invoice}/lines",
    }


def invoice_header(
    ctx: Context,
    person: Person,
    customer: str,
    *,
    invoice: str,
    created: int,
    money: Amounts,
    number: str,
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": invoice,
        "object": "invoice",
        "account_country": "FR",
        "account_name": "Échéancier Démo SAS",
        "created": created,
        "currency": "eur",
        "customer": customer,
        "customer_email": person.email,
        "customer_name": person.name,
        "customer_address": person.address,
        "customer_tax_exempt": "reverse" if money.kind == "reverse" else "none",
        "customer_tax_ids": [{"type": "eu_vat", "value": person.vat_id}] if person.vat_id else [],
        "number": number,
        "subtotal": money.subtotal,
        "subtotal_excluding_tax": money.subtotal - (money.tax if money.kind == "inclusive" else 0),
        "total": money.total,
        "total_excluding_tax": money.excluding_tax,
        "total_taxes": [tax_entry(ctx.seed, person, money.subtotal, money.tax, money.kind)],
        "amount_due": money.total,
        "effective_at": created,
        "issuer": {"type": "self"},
        "auto_advance": True,
    }
    return obj


def settle(
    obj: dict[str, Any],
    *,
    finalized: int | None,
    paid_at: int | None,
    paid: int,
    attempts: int,
    next_attempt: int | None,
    uncollectible_at: int | None,
) -> None:
    """Set status, amounts and transitions from what happened to the invoice."""
    due = obj["amount_due"]
    obj["amount_paid"] = paid
    obj["amount_remaining"] = due - paid
    obj["attempt_count"] = attempts
    obj["attempted"] = attempts > 0
    obj["next_payment_attempt"] = next_attempt
    if finalized is None:
        obj["status"] = "draft"
        obj["number"] = None
    elif paid_at is not None and paid == due:
        obj["status"] = "paid"
        obj["auto_advance"] = False
    elif uncollectible_at is not None:
        obj["status"] = "uncollectible"
        obj["auto_advance"] = False
    else:
        obj["status"] = "open"
    obj["status_transitions"] = {
        "finalized_at": finalized,
        "paid_at": paid_at if obj["status"] == "paid" else None,
        "marked_uncollectible_at": uncollectible_at if obj["status"] == "uncollectible" else None,
        "voided_at": None,
    }


def invoice_events(ctx: Context, ids: Ids, obj: dict[str, Any], fails: list[int]) -> None:
    """invoice.created / finalized / payment_failed / paid / marked_uncollectible."""
    created = obj["created"]
    total = obj["amount_due"]
    fresh = {
        "amount_paid": 0,
        "amount_remaining": total,
        "attempt_count": 0,
        "attempted": False,
        "status_transitions": {
            "finalized_at": None,
            "paid_at": None,
            "marked_uncollectible_at": None,
            "voided_at": None,
        },
    }
    stripe_event(ctx, ids, created, "invoice.created", obj, status="draft", **fresh)
    transitions = obj["status_transitions"]
    finalized = transitions["finalized_at"]
    if finalized is None:
        return
    open_ = {
        **fresh,
        "status": "open",
        "status_transitions": {**fresh["status_transitions"], "finalized_at": finalized},
    }
    stripe_event(
        ctx, ids, finalized, "invoice.finalized", obj, previous={"status": "draft"}, **open_
    )
    for n, at in enumerate(fails, start=1):
        stripe_event(
            ctx,
            ids,
            at,
            "invoice.payment_failed",
            obj,
            previous={"attempt_count": n - 1},
            **{**open_, "attempt_count": n, "attempted": True},
        )
    if obj["status"] == "paid":
        paid_at = transitions["paid_at"]
        previous = {"status": "open", "amount_paid": 0, "amount_remaining": total}
        stripe_event(ctx, ids, paid_at, "invoice.paid", obj, previous=previous)
        stripe_event(ctx, ids, paid_at, "invoice.payment_succeeded", obj, previous=previous)
    elif obj["status"] == "uncollectible":
        stripe_event(
            ctx,
            ids,
            transitions["marked_uncollectible_at"],
            "invoice.marked_uncollectible",
            obj,
            previous={"status": "open"},
        )


def invoice_payment(
    ctx: Context,
    ids: Ids,
    *,
    invoice: dict[str, Any],
    intent: str,
    created: int,
) -> None:
    paid_at = invoice["status_transitions"]["paid_at"]
    canceled = invoice["status_transitions"]["marked_uncollectible_at"]
    status = "paid" if paid_at else "canceled" if canceled else "open"
    obj = {
        "id": ids.stripe("inpay"),
        "object": "invoice_payment",
        "amount_paid": invoice["amount_paid"]
        if status == "paid" or invoice["amount_paid"]
        else None,
        "amount_requested": invoice["amount_due"],
        "created": created,
        "currency": "eur",
        "invoice": invoice["id"],
        "is_default": True,
        "payment": {"type": "payment_intent", "payment_intent": intent},
        "status": status,
        "status_transitions": {"paid_at": paid_at, "canceled_at": canceled},
    }
    ctx.emit("stripe", "invoice_payments", obj)
    if paid_at:
        stripe_event(ctx, ids, paid_at, "invoice_payment.paid", obj)
