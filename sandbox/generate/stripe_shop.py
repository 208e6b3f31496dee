"""One card-paying customer on Stripe: customer, card, subscription, invoices, orders.

The customer's saved card decides what a later ``POST /v1/invoices/{id}/pay``
does in the sandbox, following Stripe's own test cards: a customer whose
latest invoice is still unpaid after a decline holds the test card of that
decline (``9995`` insufficient funds, ``0002`` generic decline, ``9987`` lost,
``9979`` stolen, ``0069`` expired); everyone else holds ``4242``. 6 % of the
other cards expire this month or the next (card-expiry notices have work).
Half the businesses are billed ``send_invoice`` (net 30) and pay by the
hosted page, some late, 15 % never (uncollectible 60 days past due).
"""

from __future__ import annotations

import random
from typing import Any

from sandbox.generate.billing import (
    LAST4,
    Attempt,
    CardOutcome,
    Period,
    card_attempts,
    draw_subscription,
    signup_time,
)
from sandbox.generate.catalog import Plan
from sandbox.generate.context import DAY, Context
from sandbox.generate.events import stripe_event
from sandbox.generate.ids import Ids
from sandbox.generate.ledger import Payouts
from sandbox.generate.orders import MISMATCH, Order, plan_orders
from sandbox.generate.people import Person
from sandbox.generate.shipping import emit_trackings, plan_fulfilment
from sandbox.generate.stripe_invoices import (
    amounts,
    invoice_events,
    invoice_header,
    invoice_payment,
    line_items,
    settle,
)
from sandbox.generate.stripe_money import Card, Paid, Payer, charge_objects
from sandbox.generate.stripe_subscription import NET_DAYS, emit_subscription


class StripeCustomer:
    def __init__(
        self,
        ctx: Context,
        payouts: Payouts,
        person: Person,
        rng: random.Random,
        ids: Ids,
        anomaly: str | None,
    ) -> None:
        self.ctx, self.payouts, self.person, self.rng, self.ids = ctx, payouts, person, rng, ids
        self.anomaly = anomaly
        self.customer = ids.stripe("cus")
        self.prefix = ids.token(8)
        self.invoice_seq = 0
        self.last_paid: Paid | None = None

    # -- the whole customer ------------------------------------------------------------

    def run(self) -> None:
        ctx, rng, person = self.ctx, self.rng, self.person
        created = signup_time(rng, ctx)
        sub = draw_subscription(rng, created, person.is_business)
        send_invoice = person.is_business and rng.random() < 0.5
        periods, asked = sub.periods(rng, ctx)
        bills: list[tuple[Period, CardOutcome]] = []
        for period in periods:
            first = period.start + 120
            outcome = (
                self._send_invoice(first) if send_invoice else card_attempts(rng, first, ctx.end)
            )
            bills.append((period, outcome))
            if outcome.given_up_at:
                break
        orders = plan_orders(ctx, self.ids, rng, person, created + 600, self.anomaly)
        last = bills[-1][1] if bills else None
        code = last.last_code if last and last.paid_at is None else None
        self.payer = Payer(
            self.customer,
            self._card(created, code),
            {"address": person.address, "email": person.email, "name": person.name},
        )
        self._customer(created)
        sub_id = self.ids.stripe("sub")
        item = self.ids.stripe("si")
        latest = None
        for period, outcome in bills:
            latest = self._subscription_invoice(
                sub_id, item, sub.plan, period, outcome, send_invoice
            )
        emit_subscription(self, sub_id, item, sub, bills, asked, latest, send_invoice)
        for order in orders:
            self._order(order)

    def _send_invoice(self, first: int) -> CardOutcome:
        out = CardOutcome()
        due = first + NET_DAYS * DAY
        if self.rng.random() < 0.85:
            at = max(first + DAY, due + self.rng.randint(-25, 20) * DAY)
            if at < self.ctx.end:
                out.attempts.append(Attempt(at, True))
                out.paid_at = at
        elif due + 60 * DAY < self.ctx.end:
            out.given_up_at = due + 60 * DAY
        return out

    # -- customer and card ---------------------------------------------------------------

    def _card(self, created: int, code: str | None) -> Card:
        rng = self.rng
        today = self.ctx.as_of
        if code == "expired_card":
            month, year = (today.month - 2) % 12 + 1, today.year - (today.month <= 2)
        elif rng.random() < 0.06:
            ahead = rng.choice((0, 1))
            month, year = (
                (today.month + ahead - 1) % 12 + 1,
                today.year + (today.month + ahead > 12),
            )
        else:
            month, year = rng.randint(1, 12), today.year + rng.randint(1, 5)
        return Card(
            pm=self.ids.stripe("pm"),
            brand=rng.choice(("visa", "visa", "mastercard", "cartes_bancaires")),
            last4=LAST4.get(code or "", "4242"),
            exp_month=month,
            exp_year=year,
            country=self.person.country,
            funding=rng.choice(("credit", "debit", "debit")),
            fingerprint=self.ids.token(16),
        )

    def _customer(self, created: int) -> None:
        p = self.person
        segment = "b2b" if p.is_business else "b2c"
        meta = {"segment": segment, **({"vat_id": p.vat_id} if p.vat_id else {})}
        obj = {
            "id": self.customer,
            "object": "customer",
            "address": p.address,
            "created": created,
            "currency": "eur",
            "email": p.email,
            "name": p.name,
            "invoice_prefix": self.prefix,
            "invoice_settings": {"default_payment_method": self.payer.card.pm},
            "metadata": meta,
            "preferred_locales": [p.locale],
            "tax_exempt": "reverse" if p.reverse_charge else "none",
        }
        card = self.payer.card
        pm = {
            "id": card.pm,
            "object": "payment_method",
            "created": created + 30,
            "customer": self.customer,
            "type": "card",
            "billing_details": self.payer.billing,
            "card": {**card.details(), "display_brand": card.brand},
            "allow_redisplay": "always",
        }
        self.ctx.emit("stripe", "customers", obj)
        self.ctx.emit("stripe", "payment_methods", pm)
        stripe_event(self.ctx, self.ids, created, "customer.created", obj)
        stripe_event(self.ctx, self.ids, created + 30, "payment_method.attached", pm)

    def _number(self) -> str:
        self.invoice_seq += 1
        return f"{self.prefix}-{self.invoice_seq:04d}"

    # -- subscription invoices ------------------------------------------------------------

    def _subscription_invoice(
        self,
        sub_id: str,
        item: str,
        plan: Plan,
        period: Period,
        outcome: CardOutcome,
        send_invoice: bool,
    ) -> dict[str, Any]:
        ctx, ids, person = self.ctx, self.ids, self.person
        inv = ids.stripe("in")
        money = amounts(person, plan.amount)
        created = period.start
        obj = invoice_header(
            ctx,
            person,
            self.customer,
            invoice=inv,
            created=created,
            money=money,
            number=self._number(),
        )
        obj["parent"] = {
            "type": "subscription_details",
            "subscription_details": {"subscription": sub_id, "metadata": {}},
        }
        obj["billing_reason"] = "subscription_create" if period.n == 0 else "subscription_cycle"
        obj["period_start"] = obj["period_end"] = created
        line_period = {"start": period.start, "end": period.end}
        parent = {
            "type": "subscription_item_details",
            "subscription_item_details": {
                "subscription": sub_id,
                "subscription_item": item,
                "proration": False,
                "invoice_item": None,
                "proration_details": {"credited_items": None},
            },
        }
        pricing = {
            "type": "price_details",
            "unit_amount_decimal": str(plan.amount),
            "price_details": {
                "price": plan.price_id(ctx.seed),
                "product": plan.product_id(ctx.seed),
            },
        }
        interval = "mois" if plan.interval == "month" else "an"
        desc = f"1 × {plan.name} (à {plan.amount / 100:.2f} € / {interval})"
        obj["lines"] = line_items(
            ctx.seed,
            person,
            inv,
            ids,
            money,
            [(desc, plan.amount, 1, parent, pricing, line_period)],
        )
        obj["description"] = None
        finalized = created + 60
        obj["collection_method"] = "send_invoice" if send_invoice else "charge_automatically"
        if send_invoice:
            obj["due_date"] = finalized + NET_DAYS * DAY
        obj["default_payment_method"] = None
        self._pay_invoice(obj, outcome, finalized, description=desc, metadata={}, refund_rate=0.01)
        self.last_paid = None
        return obj

    def _pay_invoice(
        self,
        obj: dict[str, Any],
        outcome: CardOutcome,
        finalized: int,
        *,
        description: str,
        metadata: dict[str, str],
        refund_rate: float,
        short: int = 0,
        refund_at: int | None = None,
    ) -> None:
        ctx, ids, rng = self.ctx, self.ids, self.rng
        if finalized >= ctx.end:
            settle(
                obj,
                finalized=None,
                paid_at=None,
                paid=0,
                attempts=0,
                next_attempt=None,
                uncollectible_at=None,
            )
            ctx.emit("stripe", "invoices", obj)
            invoice_events(ctx, ids, obj, [])
            return
        paid = None
        self.last_paid = None
        amount = obj["amount_due"] - short
        if outcome.attempts:
            refund = None
            if outcome.paid_at is not None:
                if refund_at is not None:
                    refund = (refund_at, amount)
                elif rng.random() < refund_rate:
                    at = outcome.paid_at + rng.randint(1, 14) * DAY
                    refund = (at, amount) if at < ctx.end else None
            paid = charge_objects(
                ctx,
                ids,
                rng,
                self.payouts,
                self.payer,
                amount=amount,
                attempts=outcome.attempts,
                metadata=metadata,
                description=description,
                refund=refund,
                created=finalized,
            )
        settle(
            obj,
            finalized=finalized,
            paid_at=outcome.paid_at,
            paid=amount if outcome.paid_at is not None else 0,
            attempts=len(outcome.attempts),
            next_attempt=outcome.next_attempt,
            uncollectible_at=outcome.given_up_at,
        )
        ctx.emit("stripe", "invoices", obj)
        invoice_events(ctx, ids, obj, [a.at for a in outcome.attempts if not a.ok])
        if paid is not None:
            invoice_payment(ctx, ids, invoice=obj, intent=paid.intent, created=finalized)
        self.last_paid = paid

    # -- one-off orders --------------------------------------------------------------------

    def _order(self, order: Order) -> None:
        ctx, ids, person, rng = self.ctx, self.ids, self.person, self.rng
        kind = order.anomaly
        plan = plan_fulfilment(rng, ctx, person, order, order.at)
        trackings = emit_trackings(ctx, ids, rng, person, order, plan)
        if kind == "shipped_not_paid":
            ctx.anomaly(kind, order_id=order.order_id, tracking=trackings[0])
            return
        inv = ids.stripe("in")
        money = amounts(person, order.subtotal)
        obj = invoice_header(
            ctx,
            person,
            self.customer,
            invoice=inv,
            created=order.at,
            money=money,
            number=self._number(),
        )
        lines = [
            (
                name,
                unit,
                qty,
                {
                    "type": "invoice_item_details",
                    "invoice_item_details": {
                        "invoice_item": ids.stripe("ii"),
                        "proration": False,
                        "subscription": None,
                    },
                },
                {"type": "price_details", "unit_amount_decimal": str(unit)},
                {"start": order.at, "end": order.at},
            )
            for name, unit, qty in order.lines
        ]
        obj["lines"] = line_items(ctx.seed, person, inv, ids, money, lines)
        obj.update(
            parent=None,
            billing_reason="manual",
            period_start=order.at,
            period_end=order.at,
            collection_method="charge_automatically",
            metadata={"order_id": order.order_id},
            description=order.description,
        )
        at = order.at + 90
        outcome = CardOutcome(attempts=[Attempt(at, True)], paid_at=at)
        short = MISMATCH if kind == "amount_mismatch" else 0
        self._pay_invoice(
            obj,
            outcome,
            order.at + 60,
            description=f"Commande {order.number}",
            metadata={"order_id": order.order_id},
            refund_rate=0.0,
            short=short,
            refund_at=plan.refund_at,
        )
        paid = self.last_paid
        if paid is None or paid.succeeded is None:
            raise AssertionError("a one-off order is always charged")
        ref = {"order_id": order.order_id, "invoice": inv, "charge": paid.succeeded}
        if kind == "duplicate_charge":
            dup = charge_objects(
                ctx,
                ids,
                rng,
                self.payouts,
                self.payer,
                amount=order.total,
                attempts=[Attempt(at + 150, True)],
                metadata={"order_id": order.order_id},
                description=f"Commande {order.number}",
                created=at + 140,
            )
            ctx.anomaly(kind, **ref, duplicate=str(dup.succeeded))
        elif kind == "amount_mismatch":
            ctx.anomaly(
                kind, **ref, invoice_total=str(order.total), charged=str(order.total - short)
            )
        elif kind == "paid_not_shipped":
            ctx.anomaly(kind, **ref)
        elif kind in ("refund_without_return", "return_without_refund"):
            ctx.anomaly(kind, **ref, tracking=",".join(trackings))
