"""One SEPA direct-debit customer on GoCardless: customer, mandate, subscription, payments.

Subscription payments follow :mod:`sandbox.generate.gocardless_payments`. A
payment that fails for good is followed, half the time, by the subscription's
cancellation a week later; a closed bank account cancels the mandate and the
subscription at once. 3 % of customers also pay a 900.00 EUR purchase in
three instalments (an instalment schedule); 1 % of mandates fail at set-up
(no subscription, no payments); a mandate unused for 13 months expires.
One-off orders are one-off payments with
``metadata.order_id``; a returned order is refunded (a refund, and a
``refund`` payout item).
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sandbox.generate.billing import add_months, draw_subscription, signup_time
from sandbox.generate.context import DAY, Context, day_of, day_start, iso
from sandbox.generate.events import gocardless_event
from sandbox.generate.gocardless_payments import GcPayment, simulate
from sandbox.generate.ids import Ids
from sandbox.generate.ledger import GC_CREDITOR, Payouts, money_str
from sandbox.generate.orders import Order, plan_orders
from sandbox.generate.people import Person
from sandbox.generate.shipping import emit_trackings, plan_fulfilment
from sandbox.generate.stripe_invoices import amounts

MANDATE_IDLE = 395 * DAY  # SEPA: a mandate unused for 13 months expires


class GoCardlessCustomer:
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
        self.customer = ids.gocardless("CU")
        self.mandate = ids.gocardless("MD")
        self.mandate_status = "active"
        self.mandate_ended: int | None = None
        self.last_charge = 0  # mandates unused for 13 months expire

    def run(self) -> None:
        ctx, rng, person = self.ctx, self.rng, self.person
        created = signup_time(rng, ctx)
        self._customer(created)
        if self.anomaly is None and rng.random() < 0.01:
            self._mandate(created, failed=True)
            return
        sub = draw_subscription(rng, created, person.is_business)
        periods, asked = sub.periods(rng, ctx)
        sb = self.ids.gocardless("SB")
        amount = amounts(person, sub.plan.amount).total
        cancelled_at: int | None = None
        for period in periods:
            pay_created = max(created + 600, period.start - 5 * DAY)
            charge_day = max(day_of(period.start), day_of(pay_created) + timedelta(days=3))
            pay = self._payment(
                pay_created,
                charge_day,
                amount,
                links={"subscription": sb},
                description=sub.plan.name,
                metadata={},
            )
            if pay.mandate_lost:
                cancelled_at = self.mandate_ended
                break
            if pay.final_failure and rng.random() < 0.5:
                cancelled_at = day_start(day_of(pay.steps[-1][0])) + 8 * DAY
                cancelled_at = cancelled_at if cancelled_at < ctx.end else None
                if cancelled_at:
                    break
        end_of_last = periods[-1].end if periods else created
        if cancelled_at is None and asked is not None and end_of_last <= ctx.end:
            cancelled_at = end_of_last
        self._subscription(sb, sub, amount, periods, cancelled_at)
        if rng.random() < 0.03:
            self._instalments(created + 3 * DAY)
        for order in plan_orders(ctx, self.ids, rng, person, created + 600, self.anomaly):
            self._order(order)
        self._mandate(created, failed=False)

    # -- objects ---------------------------------------------------------------------------

    def _customer(self, created: int) -> None:
        p = self.person
        meta = {"segment": "b2b" if p.is_business else "b2c"}
        if p.vat_id:
            meta["vat_id"] = p.vat_id
        self.ctx.emit(
            "gocardless",
            "customers",
            {
                "id": self.customer,
                "created_at": iso(created),
                "email": p.email,
                "given_name": p.given_name,
                "family_name": p.family_name,
                "company_name": p.company,
                "country_code": p.country,
                "language": p.locale,
                "address_line1": p.line1,
                "city": p.city,
                "postal_code": p.postal_code,
                "metadata": meta,
            },
        )

    def _mandate(self, created: int, *, failed: bool) -> None:
        ctx = self.ctx
        status = "failed" if failed else self.mandate_status
        expired_at = self.last_charge + MANDATE_IDLE
        if status == "active" and self.last_charge and expired_at < ctx.end:
            status = "expired"
        obj = {
            "id": self.mandate,
            "created_at": iso(created + 60),
            "scheme": "sepa_core",
            "status": status,
            "reference": f"ECHEANCIER-{self.ids.token(8)}",
            "links": {
                "customer": self.customer,
                "creditor": GC_CREDITOR,
                "customer_bank_account": self.ids.gocardless("BA"),
            },
            "next_possible_charge_date": (ctx.as_of + timedelta(days=3)).isoformat()
            if status == "active"
            else None,
            "authorisation_source": "web",
            "funds_settlement": "managed",
            "mandate_type": "bank_debit",
            "payments_require_approval": False,
            "metadata": {},
            "verified_at": None,
        }
        ctx.emit("gocardless", "mandates", obj)
        links = {"mandate": self.mandate}
        gocardless_event(ctx, self.ids, created + 60, "mandates", "created", links)
        if failed:
            gocardless_event(
                ctx,
                self.ids,
                created + 2 * DAY,
                "mandates",
                "failed",
                links,
                details={
                    "origin": "bank",
                    "cause": "invalid_bank_details",
                    "description": "The bank account details were invalid.",
                    "reason_code": "AC01",
                    "scheme": "sepa_core",
                },
            )
            return
        gocardless_event(ctx, self.ids, created + 2 * DAY, "mandates", "active", links)
        if status == "expired":
            gocardless_event(ctx, self.ids, expired_at, "mandates", "expired", links)
        if self.mandate_ended is not None:
            gocardless_event(ctx, self.ids, self.mandate_ended, "mandates", "cancelled", links)

    def _payment(
        self,
        created: int,
        charge_day: Any,
        amount: int,
        *,
        links: dict[str, str],
        description: str,
        metadata: dict[str, str],
        safe: bool = False,
        refund_at: int | None = None,
    ) -> GcPayment:
        ctx = self.ctx
        pay = GcPayment(self.ids.gocardless("PM"))
        self.last_charge = max(self.last_charge, created)
        simulate(self, pay, created, charge_day, amount, safe=safe)
        obj = {
            "id": pay.id,
            "created_at": iso(created),
            "amount": amount,
            "currency": "EUR",
            "charge_date": pay.charge_date,
            "description": description,
            "metadata": metadata,
            "status": pay.status,
            "scheme": "sepa_core",
            "retry_if_possible": True,
            "reference": f"ECH-{self.ids.token(8)}",
            "amount_refunded": 0,
            "links": {"mandate": self.mandate, "creditor": GC_CREDITOR, **links},
        }
        if pay.payout:
            obj["links"]["payout"] = pay.payout
        if refund_at is not None and pay.status == "paid_out" and refund_at < ctx.end:
            obj["amount_refunded"] = amount
            self._refund(pay.id, amount, refund_at, metadata)
        ctx.emit("gocardless", "payments", obj, extra={"customer": self.customer})
        for at, action, details in pay.steps:
            step_links = {"payment": pay.id}
            if action in ("paid_out", "late_failure_settled", "chargeback_settled"):
                step_links["payout"] = details.pop("payout")
            gocardless_event(
                ctx, self.ids, at, "payments", action, step_links, details=details or None
            )
        return pay

    def _refund(self, payment: str, amount: int, at: int, metadata: dict[str, str]) -> None:
        rf = self.ids.gocardless("RF")
        self.ctx.emit(
            "gocardless",
            "refunds",
            {
                "id": rf,
                "created_at": iso(at),
                "amount": amount,
                "currency": "EUR",
                "links": {"payment": payment, "mandate": self.mandate},
                "metadata": metadata,
                "reference": f"REFUND-{self.ids.token(6)}",
                "status": "paid",
            },
        )
        self.payouts.gc_item(
            day_of(at),
            {
                "amount": money_str(-amount),
                "type": "refund",
                "links": {"payment": payment, "refund": rf, "mandate": self.mandate},
            },
            -amount,
        )
        gocardless_event(self.ctx, self.ids, at, "refunds", "created", {"refund": rf})

    def _subscription(
        self, sb: str, sub: Any, amount: int, periods: list[Any], cancelled_at: int | None
    ) -> None:
        ctx, plan = self.ctx, sub.plan
        start = day_of(sub.trial_end or sub.created)
        status = "cancelled" if cancelled_at else "active"
        upcoming = []
        if status == "active":
            nxt = periods[-1].end if periods else (sub.trial_end or sub.created)
            months = 1 if plan.interval == "month" else 12
            for k in range(3):
                upcoming.append(
                    {
                        "charge_date": day_of(add_months(nxt, months * k)).isoformat(),
                        "amount": amount,
                    }
                )
        meta: dict[str, str] = {}
        if plan.tacit_renewal:
            meta = {
                "tacit_renewal": "true",
                "notice_days": "30",
                "contract": "maintenance" if plan.business else "annual_plan",
            }
        self.ctx.emit(
            "gocardless",
            "subscriptions",
            {
                "id": sb,
                "created_at": iso(sub.created),
                "amount": amount,
                "currency": "EUR",
                "interval": 1,
                "interval_unit": "monthly" if plan.interval == "month" else "yearly",
                "day_of_month": min(start.day, 28),
                "name": plan.name,
                "start_date": start.isoformat(),
                "status": status,
                "links": {"mandate": self.mandate},
                "upcoming_payments": upcoming,
                "metadata": meta,
                "retry_if_possible": True,
                "payment_reference": f"ECH-{plan.key.upper()}",
                "month": None if plan.interval == "month" else start.strftime("%B").lower(),
            },
            extra={"customer": self.customer},
        )
        links = {"subscription": sb}
        gocardless_event(ctx, self.ids, sub.created, "subscriptions", "created", links)
        if cancelled_at:
            gocardless_event(ctx, self.ids, cancelled_at, "subscriptions", "cancelled", links)

    def _instalments(self, created: int) -> None:
        if created >= self.ctx.end:
            return
        is_id = self.ids.gocardless("IS")
        payments = []
        for k in range(3):
            at = created + k * 30 * DAY
            if at >= self.ctx.end:
                break
            pay = self._payment(
                at,
                day_of(at) + timedelta(days=4),
                30000,
                links={"instalment_schedule": is_id},
                description=f"Équipement atelier {k + 1}/3",
                metadata={},
            )
            payments.append(pay.id)
        status = "completed" if len(payments) == 3 else "active"
        self.ctx.emit(
            "gocardless",
            "instalment_schedules",
            {
                "id": is_id,
                "created_at": iso(created),
                "currency": "EUR",
                "name": "Équipement atelier — 3 fois",
                "status": status,
                "total_amount": 90000,
                "links": {"customer": self.customer, "mandate": self.mandate, "payments": payments},
                "metadata": {},
            },
        )

    def _order(self, order: Order) -> None:
        ctx, ids, rng, person = self.ctx, self.ids, self.rng, self.person
        kind = order.anomaly
        if kind is None and self.mandate_ended is not None and order.at >= self.mandate_ended:
            return  # no mandate left to pay with: the order is not placed
        plan = plan_fulfilment(rng, ctx, person, order, order.at)
        trackings = emit_trackings(ctx, ids, rng, person, order, plan)
        if kind == "shipped_not_paid":
            ctx.anomaly(kind, order_id=order.order_id, tracking=trackings[0])
            return
        pay = self._payment(
            order.at,
            day_of(order.at) + timedelta(days=3),
            order.total,
            links={},
            description=f"Commande {order.number}",
            metadata={"order_id": order.order_id},
            safe=kind is not None,
            refund_at=plan.refund_at,
        )
        if kind in ("paid_not_shipped", "refund_without_return", "return_without_refund"):
            ctx.anomaly(kind, order_id=order.order_id, payment=pay.id, tracking=",".join(trackings))
