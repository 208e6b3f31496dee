"""Subscription timelines and payment attempts, before any provider object exists.

A quarter of the customers are the base the history starts with; the others
sign up at a rate that grows over the 18 months. Each picks a plan, maybe
starts with a 14-day trial (30 % of consumer monthly plans), and is then
billed each period until they leave: 2 % of monthly subscribers cancel each
month, 15 % of annual ones at renewal (8 % when the contract renews tacitly).
Leaving takes effect at the period end (``cancel_at_period_end``).

Card attempts: 4 % of first attempts fail (with the retries, ~8 % of all card
attempts fail), with Stripe's decline codes in
realistic proportions (generic 40 %, insufficient funds 35 %, expired 10 %,
lost 8 %, stolen 7 %). Soft declines are retried after 3, 8, 15 and 22 days,
each retry succeeding 25 % of the time (~68 % recovered overall); hard
declines (lost, stolen, expired card) are not retried, but 60 % of those
customers put a new card in within 3–10 days. Fourteen days after the last
failed attempt the subscription is cancelled and the invoice marked
uncollectible. Whatever would happen after the clock start has not happened
yet: the invoice is still open, with its ``next_payment_attempt`` when a retry
is planned, so dunning finds work on the as-of date.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sandbox.generate.catalog import (
    BUSINESS_PLANS,
    BUSINESS_WEIGHTS,
    CONSUMER_PLANS,
    CONSUMER_WEIGHTS,
    Plan,
)
from sandbox.generate.context import DAY, Context

TRIAL_DAYS = 14
CARD_FAILURE_RATE = 0.04
RETRY_OFFSETS = (3 * DAY, 8 * DAY, 15 * DAY, 22 * DAY)
RETRY_SUCCESS = 0.25
GRACE = 14 * DAY

# (decline code, test card last4, customer-facing message, weight)
DECLINES = (
    ("generic_decline", "0002", "Your card was declined.", 40),
    ("insufficient_funds", "9995", "Your card has insufficient funds.", 35),
    ("expired_card", "0069", "Your card has expired.", 10),
    ("lost_card", "9987", "Your card was declined.", 8),
    ("stolen_card", "9979", "Your card was declined.", 7),
)
HARD_DECLINES = {"expired_card", "lost_card", "stolen_card"}
LAST4 = {code: last4 for code, last4, _, _ in DECLINES}
MESSAGES = {code: msg for code, _, msg, _ in DECLINES}


def add_months(ts: int, months: int) -> int:
    d = datetime.fromtimestamp(ts, UTC)
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    day = min(d.day, 28 if month == 2 else 30 if month in (4, 6, 9, 11) else 31)
    return int(d.replace(year=year, month=month, day=day).timestamp())


def signup_time(rng: random.Random, ctx: Context) -> int:
    """A quarter of the customers are the base the history starts with (first month);
    the others join at a rate that grows over the history."""
    if rng.random() < 0.25:
        return ctx.start + int(30 * DAY * rng.random())
    span = ctx.end - ctx.start - 2 * 3600
    return ctx.start + int(span * rng.random() ** 0.7)


@dataclass
class Period:
    n: int
    start: int
    end: int


@dataclass
class SubscriptionPlan:
    plan: Plan
    created: int
    trial_end: int | None
    churn: float

    def periods(self, rng: random.Random, ctx: Context) -> tuple[list[Period], int | None]:
        """Billing periods started before the clock, and when a cancellation was asked."""
        first = self.trial_end or self.created
        months = 1 if self.plan.interval == "month" else 12
        out: list[Period] = []
        n = 0
        start = first
        while start < ctx.end:
            end = add_months(first, months * (n + 1))
            out.append(Period(n, start, end))
            if rng.random() < self.churn:
                asked = start + int((end - start) * rng.random())
                if asked < ctx.end:
                    return out, asked
            n += 1
            start = end
        return out, None


def draw_subscription(rng: random.Random, created: int, business: bool) -> SubscriptionPlan:
    if business:
        plan = rng.choices(BUSINESS_PLANS, BUSINESS_WEIGHTS)[0]
    else:
        plan = rng.choices(CONSUMER_PLANS, CONSUMER_WEIGHTS)[0]
    trial = plan.interval == "month" and not business and rng.random() < 0.30
    churn = 0.02 if plan.interval == "month" else 0.08 if plan.tacit_renewal else 0.15
    return SubscriptionPlan(plan, created, created + TRIAL_DAYS * DAY if trial else None, churn)


@dataclass
class Attempt:
    at: int
    ok: bool
    code: str | None = None


@dataclass
class CardOutcome:
    """The attempts made before the clock, and what the invoice looks like at it."""

    attempts: list[Attempt] = field(default_factory=list)
    paid_at: int | None = None
    next_attempt: int | None = None
    given_up_at: int | None = None  # cancelled / marked uncollectible

    @property
    def last_code(self) -> str | None:
        failed = [a.code for a in self.attempts if not a.ok]
        return failed[-1] if failed else None


def card_attempts(
    rng: random.Random, first: int, end: int, *, failure_rate: float = CARD_FAILURE_RATE
) -> CardOutcome:
    out = CardOutcome()
    if rng.random() >= failure_rate:
        if first < end:
            out.attempts.append(Attempt(first, True))
            out.paid_at = first
        else:
            out.next_attempt = first
        return out
    codes = [c for c, _, _, _ in DECLINES]
    weights = [w for _, _, _, w in DECLINES]
    code = rng.choices(codes, weights)[0]
    if first >= end:
        out.next_attempt = first
        return out
    out.attempts.append(Attempt(first, False, code))
    last = first
    if code in HARD_DECLINES:
        plan = [(first + rng.randint(3, 10) * DAY, rng.random() < 0.6)]
    else:
        plan = [(first + off, rng.random() < RETRY_SUCCESS) for off in RETRY_OFFSETS]
    for at, ok in plan:
        if at >= end:
            out.next_attempt = at if code not in HARD_DECLINES else None
            return out
        if ok:
            out.attempts.append(Attempt(at, True))
            out.paid_at = at
            return out
        out.attempts.append(Attempt(at, False, code))
        last = at
        if code in HARD_DECLINES:
            break
        if rng.random() < 0.3:
            code = "insufficient_funds"
    if last + GRACE < end:
        out.given_up_at = last + GRACE
    return out
