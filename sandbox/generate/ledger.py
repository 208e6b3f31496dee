"""Daily payouts that add up exactly.

Stripe: every balance transaction becomes available two days after it was
created (refunds and dispute debits at once) and is paid out in that day's
automatic payout; the payout amount is the sum of those transactions' ``net``,
so ``GET /v1/balance_transactions?payout=po_…`` adds up to it to the cent
(the payout's own ``payout`` transaction is not counted in it). Transactions
available after the as-of date are ``pending`` and in no payout yet.

GoCardless: a payment is paid out two days after its charge date, in that
day's payout, as a ``payment_paid_out`` item (+amount) and a ``gocardless_fee``
item (−(1 % + 0.20 EUR, capped at 4.00 EUR) plus 20 % VAT on the fee); refunds,
late failures and chargebacks are negative items of the payout of the day
they settle. The payout amount is the sum of its items, except for one
deliberate anomaly (``payout_mismatch``): one payout ten or more days old is
1.00 EUR larger than its items.

Only per-day sums live here (a few hundred numbers), never the objects.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.generate.context import DAY, Context, day_of, day_start, iso
from sandbox.generate.events import gocardless_event, stripe_event
from sandbox.generate.ids import Ids, gocardless_id, stripe_id

GC_CREDITOR = "CR000ECHEANC1"


def money_str(cents: int) -> str:
    """GoCardless payout item amounts are decimal strings: -125 -> ``"-1.25"``."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def stripe_fee(amount: int) -> int:
    """Stripe's standard EEA card pricing: 1.5 % + 0.25 EUR."""
    return int((Decimal(amount) * Decimal("0.015")).quantize(Decimal(1), ROUND_HALF_UP)) + 25


def gocardless_fee(amount: int) -> tuple[int, int]:
    """GoCardless's fee (1 % + 0.20 EUR, capped at 4.00 EUR) and the 20 % VAT on it."""
    pct = int((Decimal(amount) / 100).quantize(Decimal(1), ROUND_HALF_UP))
    fee = min(pct + 20, 400)
    vat = int((Decimal(fee) * Decimal("0.2")).quantize(Decimal(1), ROUND_HALF_UP))
    return fee, vat


class Payouts:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.stripe_days: dict[date, int] = {}
        self.gc_days: dict[date, list[int]] = {}  # day -> [amount, fees, item count]

    # -- Stripe ----------------------------------------------------------------------

    def stripe_payout_id(self, day: date) -> str:
        return stripe_id("po", f"{self.ctx.seed}/po/{day.isoformat()}")

    def stripe_bt(
        self,
        ids: Ids,
        *,
        source: str,
        type_: str,
        category: str,
        amount: int,
        fee: int,
        created: int,
        delay_days: int = 2,
        description: str | None = None,
    ) -> str:
        """Emit a balance transaction and book it in its day's payout; returns its id."""
        available = (created // DAY + delay_days) * DAY
        day = day_of(available)
        payout = None
        status = "pending"
        if day <= self.ctx.as_of:
            status = "available"
            payout = self.stripe_payout_id(day)
            self.stripe_days[day] = self.stripe_days.get(day, 0) + amount - fee
        txn = ids.stripe("txn")
        obj: dict[str, Any] = {
            "id": txn,
            "object": "balance_transaction",
            "amount": amount,
            "available_on": available,
            "created": created,
            "currency": "eur",
            "description": description,
            "fee": fee,
            "fee_details": (
                [
                    {
                        "amount": fee,
                        "application": None,
                        "currency": "eur",
                        "description": "Stripe processing fees",
                        "type": "stripe_fee",
                    }
                ]
                if fee
                else []
            ),
            "net": amount - fee,
            "reporting_category": category,
            "source": source,
            "status": status,
            "type": type_,
            "balance_type": "payments",
        }
        self.ctx.emit("stripe", "balance_transactions", obj, extra={"payout": payout})
        return obj

    # -- GoCardless ------------------------------------------------------------------

    def gc_payout_id(self, day: date) -> str:
        return gocardless_id("PO", f"{self.ctx.seed}/gcpo/{day.isoformat()}")

    @staticmethod
    def gc_payout_created(day: date) -> int:
        return day_start(day) + 8 * 3600

    def gc_item(self, day: date, item: dict[str, Any], cents: int, fees: int = 0) -> str:
        """Emit one payout item of ``day``'s payout (``cents`` signed); returns the payout id."""
        payout = self.gc_payout_id(day)
        sums = self.gc_days.setdefault(day, [0, 0, 0])
        self.ctx.emit(
            "gocardless",
            "payout_items",
            item,
            extra={
                "payout": payout,
                "_id": f"{payout}:{sums[2]}",
                "_created": iso(self.gc_payout_created(day)),
            },
        )
        sums[0] += cents
        sums[1] += fees
        sums[2] += 1
        return payout

    def gc_paid_out(self, day: date, payment: str, mandate: str, amount: int) -> str:
        """A paid-out payment: its item and its fee item."""
        links = {"payment": payment, "mandate": mandate}
        payout = self.gc_item(
            day, {"amount": money_str(amount), "links": links, "type": "payment_paid_out"}, amount
        )
        fee, vat = gocardless_fee(amount)
        tax = money_str(vat)
        self.gc_item(
            day,
            {
                "amount": money_str(-(fee + vat)),
                "links": links,
                "type": "gocardless_fee",
                "taxes": [
                    {
                        "amount": tax,
                        "currency": "EUR",
                        "destination_amount": tax,
                        "destination_currency": "EUR",
                        "exchange_rate": "1.0",
                        "tax_rate_id": "FR_VAT_1",
                    }
                ],
            },
            -(fee + vat),
            fee + vat,
        )
        return payout

    # -- the payouts themselves, once every transaction is booked ----------------------

    def finish(self) -> None:
        ids = Ids(self.ctx.seed, "payouts")
        for day in sorted(self.stripe_days):
            self._stripe_payout(ids, day, self.stripe_days[day])
        mismatch = self._mismatch_day()
        for day in sorted(self.gc_days):
            self._gc_payout(ids, day, *self.gc_days[day][:2], skew=100 if day == mismatch else 0)

    def _stripe_payout(self, ids: Ids, day: date, amount: int) -> None:
        po = self.stripe_payout_id(day)
        created = day_start(day) + 6 * 3600
        arrival = day_start(day + timedelta(days=1))
        paid = arrival <= day_start(self.ctx.as_of)
        txn = ids.stripe("txn")
        self.ctx.emit(
            "stripe",
            "balance_transactions",
            {
                "id": txn,
                "object": "balance_transaction",
                "amount": -amount,
                "available_on": created // DAY * DAY,
                "created": created,
                "currency": "eur",
                "description": "STRIPE PAYOUT",
                "fee": 0,
                "fee_details": [],
                "net": -amount,
                "reporting_category": "payout",
                "source": po,
                "status": "available",
                "type": "payout",
                "balance_type": "payments",
            },
            extra={"payout": None},
        )
        obj = {
            "id": po,
            "object": "payout",
            "amount": amount,
            "arrival_date": arrival,
            "automatic": True,
            "balance_transaction": txn,
            "created": created,
            "currency": "eur",
            "description": "STRIPE PAYOUT",
            "method": "standard",
            "reconciliation_status": "completed",
            "source_type": "card",
            "status": "paid" if paid else "in_transit",
            "type": "bank_account",
            "destination": stripe_id("ba", f"{self.ctx.seed}/bank"),
        }
        self.ctx.emit("stripe", "payouts", obj)
        stripe_event(
            ctx=self.ctx, ids=ids, at=created, type_="payout.created", obj=obj, status="pending"
        )
        if paid:
            stripe_event(
                self.ctx, ids, arrival, "payout.paid", obj, previous={"status": "in_transit"}
            )

    def _mismatch_day(self) -> date | None:
        candidates = [d for d in self.gc_days if d <= self.ctx.as_of - timedelta(days=10)]
        return max(candidates) if candidates else None

    def _gc_payout(self, ids: Ids, day: date, amount: int, fees: int, *, skew: int) -> None:
        po = self.gc_payout_id(day)
        created = self.gc_payout_created(day)
        arrival = day + timedelta(days=1)
        if skew:
            self.ctx.anomaly(
                "payout_mismatch",
                payout=po,
                items_total=str(amount),
                payout_amount=str(amount + skew),
            )
        self.ctx.emit(
            "gocardless",
            "payouts",
            {
                "id": po,
                "amount": amount + skew,
                "arrival_date": arrival.isoformat(),
                "created_at": iso(created),
                "currency": "EUR",
                "deducted_fees": fees,
                "links": {"creditor": GC_CREDITOR, "creditor_bank_account": "BA000ECHEANC1"},
                "metadata": {},
                "payout_type": "merchant",
                "reference": f"ECHEANCIER-{day:%Y%m%d}",
                "status": "paid" if arrival <= self.ctx.as_of else "pending",
                "tax_currency": "EUR",
            },
        )
        gocardless_event(self.ctx, ids, created, "payouts", "paid", {"payout": po})
