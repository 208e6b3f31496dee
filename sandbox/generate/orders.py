"""One-off orders of physical goods, and which of them carry a deliberate anomaly.

A consumer places 0–3 orders over their life (a business 0–2), each with
1–2 goods; the order id (``ORD-…``) is in the Stripe invoice's and charge's
``metadata.order_id`` or the GoCardless payment's, and in the AfterShip
tracking's ``order_id``.

Deliberate anomalies, for reconciliation to find: one customer in 100 per kind
(customer index ≡ the kind's slot mod 100), on that customer's first order:

- ``duplicate_charge``: the order is charged twice (two succeeded charges).
- ``shipped_not_paid``: shipped and tracked, never invoiced nor charged.
- ``paid_not_shipped``: paid at least 20 days ago, never shipped.
- ``refund_without_return``: delivered, refunded in full, nothing sent back.
- ``return_without_refund``: returned and delivered back, never refunded.
- ``amount_mismatch``: the charge is 5.00 EUR short of the invoice total (the
  invoice stays ``open`` with 5.00 EUR remaining).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sandbox.generate.catalog import GOODS
from sandbox.generate.context import DAY, Context
from sandbox.generate.ids import Ids
from sandbox.generate.people import Person
from sandbox.generate.vat import RATES, tax_of

ANOMALY_PERIOD = 100
ANOMALY_SLOTS = {
    13: "duplicate_charge",
    29: "shipped_not_paid",
    41: "paid_not_shipped",
    57: "refund_without_return",
    73: "return_without_refund",
    89: "amount_mismatch",
}
# Anomalies that are about a charge: their customers pay by card.
STRIPE_ONLY = {"duplicate_charge", "amount_mismatch"}
MISMATCH = 500


def anomaly_for(index: int) -> str | None:
    return ANOMALY_SLOTS.get(index % ANOMALY_PERIOD)


@dataclass
class Order:
    order_id: str
    number: str
    at: int
    description: str
    lines: list[tuple[str, int, int]]  # name, unit amount (as priced), quantity
    subtotal: int  # sum of lines (VAT-inclusive for consumers)
    tax: int
    total: int  # what the customer owes
    tax_kind: str  # "inclusive" | "exclusive" | "reverse"
    anomaly: str | None = None


def plan_orders(
    ctx: Context, ids: Ids, rng: random.Random, person: Person, since: int, anomaly: str | None
) -> list[Order]:
    weights = (45, 30, 15, 10) if not person.is_business else (55, 30, 15, 0)
    count = rng.choices((0, 1, 2, 3), weights)[0]
    if anomaly and count == 0:
        count = 1
    latest = ctx.end - 3600
    if anomaly:
        latest = ctx.end - 45 * DAY  # old enough for the anomaly to be unmistakable
        since = min(since, latest - 30 * DAY)
    times = sorted(since + int((latest - since) * rng.random()) for _ in range(count))
    out = []
    for k, at in enumerate(times):
        goods = rng.sample(GOODS, rng.choice((1, 1, 2)))
        lines = [(name, unit, rng.choice((1, 1, 1, 2))) for name, unit in goods]
        subtotal = sum(unit * qty for _, unit, qty in lines)
        rate = RATES[person.country]
        if person.reverse_charge:
            kind, tax, total = "reverse", 0, subtotal
        elif person.is_business:
            kind = "exclusive"
            tax = tax_of(subtotal, rate, inclusive=False)
            total = subtotal + tax
        else:
            kind, tax, total = "inclusive", tax_of(subtotal, rate, inclusive=True), subtotal
        out.append(
            Order(
                order_id=f"ORD-{ids.token(10)}",
                number=f"{person.index:07d}-{k + 1}",
                at=at,
                description=" + ".join(name for name, _, _ in lines),
                lines=lines,
                subtotal=subtotal,
                tax=tax,
                total=total,
                tax_kind=kind,
                anomaly=anomaly if k == 0 else None,
            )
        )
    return out
