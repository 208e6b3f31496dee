"""The life of one GoCardless payment, up to the clock start.

A payment is created five days before its charge date, submitted the day
before, confirmed the day after and paid out two days after. 3 % fail (the
day after the charge date): insufficient funds 60 %, refer to payer 20 %,
bank account closed 10 % and mandate cancelled 10 % (those two cancel the
mandate and the subscription, no retry). Funds failures are retried by
Success+ (``resubmission_requested``, new charge date a week later, 65 %
succeed, at most three times). 0.5 % of paid-out payments fail late (three
days after pay-out, deducted from a later payout as a ``payment_failed``
item); 0.3 % are charged back 20–60 days later (``payment_charged_back``).
Steps after the clock start have not happened: the payment shows the status
of its last step before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sandbox.generate.context import DAY, day_of, day_start
from sandbox.generate.ledger import money_str

if TYPE_CHECKING:
    from sandbox.generate.gocardless_shop import GoCardlessCustomer

FAILURE_RATE = 0.03
CAUSES = (
    ("insufficient_funds", "AM04", "The customer's account had insufficient funds.", 60),
    ("refer_to_payer", "MS03", "The customer's bank refused the payment.", 20),
    ("bank_account_closed", "AC04", "The customer's bank account was closed.", 10),
    ("mandate_cancelled", "MD01", "The mandate for this payment was cancelled.", 10),
)
RETRYABLE = {"insufficient_funds", "refer_to_payer"}
STATUS_AFTER = {
    "created": "pending_submission",
    "submitted": "submitted",
    "confirmed": "confirmed",
    "paid_out": "paid_out",
    "failed": "failed",
    "resubmission_requested": "pending_submission",
    "charged_back": "charged_back",
}


@dataclass
class GcPayment:
    id: str
    status: str = "pending_submission"
    charge_date: str = ""
    payout: str | None = None
    mandate_lost: bool = False
    final_failure: bool = False
    paid: bool = False
    paid_day: Any = None
    steps: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)


def simulate(
    shop: GoCardlessCustomer,
    pay: GcPayment,
    created: int,
    charge_day: Any,
    amount: int,
    *,
    safe: bool,
) -> None:
    ctx, rng = shop.ctx, shop.rng
    steps = pay.steps
    retries = 0
    day = charge_day
    steps.append((created, "created", {}))
    while True:
        pay.charge_date = day.isoformat()
        charge = day_start(day) + 9 * 3600
        steps.append((charge - DAY + 6 * 3600, "submitted", {}))
        failed = not safe and rng.random() < (FAILURE_RATE if retries == 0 else 0.35)
        if not failed:
            steps.append((charge + DAY, "confirmed", {}))
            steps.append((charge + 2 * DAY, "paid_out", {}))
            break
        codes = [c for c in CAUSES if c[0] in RETRYABLE] if retries else list(CAUSES)
        cause, reason, text, _ = rng.choices(codes, [c[3] for c in codes])[0]
        retry = cause in RETRYABLE and retries < 3
        steps.append(
            (
                charge + DAY,
                "failed",
                {
                    "origin": "bank",
                    "cause": cause,
                    "description": text,
                    "reason_code": reason,
                    "scheme": "sepa_core",
                    "will_attempt_retry": retry,
                },
            )
        )
        if cause not in RETRYABLE:
            pay.mandate_lost = True
            break
        if not retry:
            pay.final_failure = True
            break
        retries += 1
        steps.append((charge + 2 * DAY, "resubmission_requested", {}))
        day = day + timedelta(days=7)
    last = steps[-1]
    if last[1] == "paid_out" and not safe:
        roll = rng.random()
        if roll < 0.005:
            steps.append(
                (
                    last[0] + 3 * DAY,
                    "failed",
                    {
                        "origin": "bank",
                        "cause": "insufficient_funds",
                        "description": "The payment failed after it was paid out.",
                        "reason_code": "AM04",
                        "scheme": "sepa_core",
                        "will_attempt_retry": False,
                    },
                )
            )
            steps.append((last[0] + 4 * DAY, "late_failure_settled", {}))
        elif roll < 0.008:
            at = last[0] + rng.randint(20, 60) * DAY
            steps.append(
                (
                    at,
                    "charged_back",
                    {
                        "origin": "bank",
                        "cause": "payment_charged_back",
                        "description": "The customer asked their bank to refund this payment.",
                        "reason_code": "MD06",
                        "scheme": "sepa_core",
                    },
                )
            )
            steps.append((at + DAY, "chargeback_settled", {}))
    # keep what happened before the clock; book payout items as they settle
    kept = [s for s in steps if s[0] < ctx.end]
    pay.steps[:] = kept
    for at, action, details in kept:
        if action in STATUS_AFTER:
            pay.status = STATUS_AFTER[action]
        if action == "paid_out":
            pay.paid, pay.paid_day = True, day_of(at)
            pay.payout = shop.payouts.gc_paid_out(day_of(at), pay.id, shop.mandate, amount)
            details["payout"] = pay.payout
        elif action in ("late_failure_settled", "chargeback_settled"):
            kind = "payment_failed" if action == "late_failure_settled" else "payment_charged_back"
            details["payout"] = shop.payouts.gc_item(
                day_of(at),
                {
                    "amount": money_str(-amount),
                    "type": kind,
                    "links": {"payment": pay.id, "mandate": shop.mandate},
                },
                -amount,
            )
            shop.ctx.notable[f"gocardless_{kind}"] += 1
    if pay.mandate_lost and any(a == "failed" for _, a, _ in kept):
        shop.mandate_status = "cancelled"
        shop.mandate_ended = next(at for at, a, _ in kept if a == "failed")
    elif pay.mandate_lost:
        pay.mandate_lost = False
    if pay.final_failure and pay.status != "failed":
        pay.final_failure = False
