"""The suites, one per unified table, as data: what the gate expects of the warehouse.

Allowed statuses come from the normalisers' own sets (one source of truth: a status the
sync accepts is one the gate accepts), unioned across providers where a table holds
both. Bounds are sanity bounds, not business rules: 10^9 minor units is ten million
euros, far beyond any order of this shop, yet small enough to catch a unit slip (an
amount in micro-units, or a timestamp in an amount column).

Example: a GoCardless payment in ``ZZZ`` fails ``payments.currency:
expect_column_values_to_be_in_set (ISO 4217)`` and is quarantined; two rows with the
same ``payment_id`` fail ``payments.payment_id: expect_column_values_to_be_unique`` and
the gate fails, because no later step can tell which of the two is true.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import great_expectations.expectations as gxe

from domain.normalise import (
    gocardless,
    gocardless_money,
    stripe_customers,
    stripe_invoices,
    stripe_payments,
    stripe_payouts,
)
from domain.normalise.aftership import TAGS
from domain.normalise.codes import ISO_4217
from expectations.spec import KNOWN_SUFFIX, WHOLE_SUFFIX, Check, Link, TableSuite, row, table
from warehouse.columns import INVOICE_STATUSES, PAYMENT_STATUSES, SHIPMENT_DIRECTIONS

BOUND = 10**9  # minor units
CURRENCIES = sorted(ISO_4217)


def keys(*columns: str) -> tuple[Check, ...]:
    """A key is never empty and never repeated: otherwise no later step knows which row is
    true, so the whole table is suspect."""
    not_null = tuple(
        table(gxe.ExpectColumnValuesToNotBeNull(column=c), "key never empty") for c in columns
    )
    if len(columns) == 1:
        unique = gxe.ExpectColumnValuesToBeUnique(column=columns[0])
    else:
        unique = gxe.ExpectCompoundColumnsToBeUnique(column_list=list(columns))
    return (*not_null, table(unique, "key unique"))


def currency(column: str = "currency") -> Check:
    return row(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=CURRENCIES), "ISO 4217")


def status(values: Iterable[str], column: str = "status") -> Check:
    allowed = sorted(set(values))
    return row(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=allowed), "allowed set")


def money(*columns: str, signed: tuple[str, ...] = ()) -> tuple[Check, ...]:
    """Integral minor units within ±10^9; non-negative unless the column is ``signed``."""
    out: list[Check] = []
    for c in columns:
        whole = gxe.ExpectColumnValuesToBeInSet(column=f"{c}{WHOLE_SUFFIX}", value_set=[True])
        out.append(row(whole, "integral minor units"))
        low, why = (-BOUND, "|x| ≤ 10^9") if c in signed else (0, "0 ≤ x ≤ 10^9")
        bounds = gxe.ExpectColumnValuesToBeBetween(column=c, min_value=low, max_value=BOUND)
        out.append(row(bounds, why))
    return tuple(out)


def at_least(later: str, earlier: str) -> Check:
    """``later ≥ earlier`` where both are known (an unpaid invoice has no ``paid_at``)."""
    pair = gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A=later, column_B=earlier, or_equal=True, ignore_row_if="either_value_is_missing"
    )
    return row(pair, f"{later} ≥ {earlier}")


def linked(*links: Link) -> tuple[Check, ...]:
    """Orphans are quarantined one by one; too many of them fail the table."""
    out: list[Check] = []
    for link in links:
        target = f"→ {link.parent}.{link.parent_key}"
        out.append(row(gxe.ExpectColumnValuesToBeInSet(column=link.flag, value_set=[True]), target))
        share = gxe.ExpectColumnValuesToBeInSet(
            column=link.flag, value_set=[True], mostly=1 - link.max_broken
        )
        out.append(table(share, f"{target}: over {link.max_broken:.0%} broken"))
    return tuple(out)


def suite(
    name: str,
    key: tuple[str, ...],
    checks: Iterable[Check],
    *,
    columns: tuple[str, ...] = (),
    links: tuple[Link, ...] = (),
) -> TableSuite:
    """A suite whose read columns (and integral money columns) follow from its checks."""
    checks = (*keys(*key), *checks, *linked(*links))
    used: list[str] = list(columns)
    whole: list[str] = []
    for check in checks:
        kwargs = check.expectation.configuration.kwargs
        for arg in ("column", "column_A", "column_B"):
            value = str(kwargs.get(arg, ""))
            if value.endswith(WHOLE_SUFFIX):
                whole.append(value.removesuffix(WHOLE_SUFFIX))
            elif value and not value.endswith(KNOWN_SUFFIX):
                used.append(value)
    return TableSuite(name, key, tuple(dict.fromkeys(used)), checks, tuple(whole), links)


CUSTOMER = Link("customer_id", "customers", "customer_id")
INVOICE = Link("invoice_id", "invoices", "invoice_id")
PAYMENT = Link("payment_id", "payments", "payment_id")
PAYOUT = Link("payout_id", "payouts", "payout_id")

SUITES: dict[str, TableSuite] = {
    s.table: s
    for s in (
        suite("customers", ("customer_id",), [currency()]),
        suite(
            "subscriptions",
            ("subscription_id",),
            [
                status(stripe_customers.SUBSCRIPTION_STATUSES | gocardless.SUBSCRIPTION_STATUSES),
                currency(),
                *money("amount"),
                at_least("current_period_end", "current_period_start"),
            ],
            links=(CUSTOMER,),
        ),
        suite(
            "invoices",
            ("invoice_id",),
            [
                status(INVOICE_STATUSES),
                currency(),
                *money("total", "tax", "amount_paid", "amount_remaining", signed=("total",)),
                at_least("due_on", "issued_on"),
                at_least("paid_at", "finalized_at"),
            ],
            links=(CUSTOMER,),
        ),
        suite(
            "invoice_tax_lines",
            ("invoice_id", "line_key"),
            [currency(), *money("taxable_amount", "tax_amount", signed=("taxable_amount",))],
            links=(INVOICE,),
        ),
        suite(
            "payments",
            ("payment_id",),
            [
                status(PAYMENT_STATUSES),
                currency(),
                *money("amount", "amount_refunded", "fee", "net", signed=("net",)),
                at_least("amount", "fee"),
                at_least("amount", "amount_refunded"),
            ],
            links=(CUSTOMER,),
        ),
        suite(
            "refunds",
            ("refund_id",),
            [
                status(stripe_payments.REFUND_STATUSES | gocardless_money.REFUND_STATUSES),
                currency(),
                *money("amount"),
            ],
            links=(PAYMENT,),
        ),
        suite(
            "disputes",
            ("dispute_id",),
            [
                status(stripe_payments.DISPUTE_STATUSES),
                currency(),
                *money("amount", "fee"),
                at_least("closed_at", "created_at"),
            ],
            links=(PAYMENT,),
        ),
        suite(
            "payouts",
            ("payout_id",),
            [
                status(stripe_payouts.PAYOUT_STATUSES | gocardless_money.PAYOUT_STATUSES),
                currency(),
                *money("amount", "fee", signed=("amount",)),
            ],
        ),
        suite(
            "payout_lines",
            ("payout_id", "line_id"),
            [currency(), *money("amount", "fee", "net", signed=("amount", "net"))],
            links=(PAYOUT,),
        ),
        suite(
            "shipments",
            ("tracking_id",),
            [
                status(TAGS.values()),
                status(SHIPMENT_DIRECTIONS, column="direction"),
                at_least("delivered_at", "shipped_at"),
            ],
        ),
        suite(
            "mandates",
            ("mandate_id",),
            [status(gocardless.MANDATE_STATUSES)],
            links=(CUSTOMER,),
        ),
        suite(
            "invoice_payments",
            ("invoice_payment_id",),
            [
                status(stripe_invoices.INVOICE_PAYMENT_STATUSES),
                currency(),
                *money("amount_requested", "amount_paid"),
                at_least("paid_at", "created_at"),
            ],
            links=(INVOICE,),
        ),
    )
}


def for_run(
    required: Iterable[str] = (), only: Iterable[str] | None = None
) -> dict[str, TableSuite]:
    """Tonight's suites: every table (or ``only`` these), and for each ``required`` table
    (the providers returned rows for it) a table-level check that it is not empty."""
    names = list(SUITES) if only is None else [n for n in SUITES if n in set(only)]
    needed = set(required)
    out: dict[str, TableSuite] = {}
    for name in names:
        base = SUITES[name]
        if name in needed:
            count = gxe.ExpectTableRowCountToBeBetween(min_value=1)
            base = replace(base, checks=(*base.checks, table(count, "the provider returned rows")))
        out[name] = base
    return out
