"""The columns each normaliser emits, in the warehouse's order, with the kind of each.

These mirror ``warehouse/tables.py`` (minus ``row_hash`` and ``synced_at``, which the
loader adds); a test holds them equal so the contract cannot drift. ``domain/`` does
not import the warehouse: it stays free of SQLAlchemy and of any I/O.

Kinds, and the pandas dtype each becomes (see :func:`domain.normalise.core.frame`):

- ``str``: ``string`` (missing = ``<NA>``);
- ``money`` / ``int``: nullable ``Int64`` (money is minor units, never float);
- ``bool``: numpy ``bool`` (NOT NULL columns); ``bool?``: nullable ``boolean``;
- ``time``: a Stripe epoch second or an aware ``datetime`` -> ``datetime64[us, UTC]``;
- ``local_day``: an epoch second -> its ``datetime.date`` in the business time zone
  (Stripe ``created`` 2026-03-31T23:30Z -> ``date(2026, 4, 1)`` in Europe/Paris);
- ``date``: a ``datetime.date`` already (object column);
- ``decimal``: a ``Decimal`` (object column);
- ``version``: ``int64`` (``source_version``, never missing).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Spec:
    """A table's name and its ``(column, kind)`` pairs, in order."""

    table: str
    columns: tuple[tuple[str, str], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)


def _spec(table: str, text: str) -> Spec:
    pairs = []
    for item in text.split():
        name, _, kind = item.partition(":")
        pairs.append((name, kind or "str"))
    if "source_version" not in (name for name, _ in pairs):  # later columns follow it
        pairs.append(("source_version", "version"))
    return Spec(table, tuple(pairs))


CUSTOMERS = _spec(
    "customers",
    """customer_id provider email name country postal_code locale currency vat_id
    is_business:bool tax_exempt default_payment_method_id created_at:time
    deleted_at:time""",
)

SUBSCRIPTIONS = _spec(
    "subscriptions",
    """subscription_id provider customer_id status price_id product_id description
    amount:money currency interval interval_count:int start_at:time
    current_period_start:time current_period_end:time trial_start:time
    trial_end:time cancel_at_period_end:bool cancel_at:time canceled_at:time
    ended_at:time tacit_renewal:bool collection_method payment_method_type
    payment_method_id mandate_id mandate_status card_brand card_last4
    card_exp_month:int card_exp_year:int created_at:time source_version:version
    notice_days:int contract""",
)

INVOICES = _spec(
    "invoices",
    """invoice_id provider customer_id subscription_id order_id number status currency
    subtotal:money total_excluding_tax:money tax:money total:money amount_due:money
    amount_paid:money amount_remaining:money issued_on:local_day due_on:local_day
    created_at:time finalized_at:time paid_at:time voided_at:time
    marked_uncollectible_at:time billing_reason collection_method attempt_count:int
    attempted:bool next_payment_attempt_at:time customer_country customer_vat_id
    is_business:bool reverse_charge:bool hosted_invoice_url""",
)

INVOICE_TAX_LINES = _spec(
    "invoice_tax_lines",
    """invoice_id line_key provider country tax_rate_id tax_type rate:decimal
    taxable_amount:money tax_amount:money currency taxability_reason tax_behavior""",
)

PAYMENTS = _spec(
    "payments",
    """payment_id provider payment_intent_id customer_id invoice_id subscription_id
    order_id amount:money amount_refunded:money currency status provider_status
    failure_code decline_code failure_message retry_count:int will_retry:bool?
    payment_method_type payment_method_id mandate_id card_brand card_last4
    created_at:time charge_date:date paid_at:time failed_at:time payout_id
    balance_transaction_id fee:money net:money""",
)

REFUNDS = _spec(
    "refunds",
    """refund_id provider payment_id order_id amount:money currency status reason
    failure_reason created_at:time payout_id fee:money net:money""",
)

DISPUTES = _spec(
    "disputes",
    """dispute_id provider payment_id amount:money currency status reason
    network_reason_code created_at:time evidence_due_by:time closed_at:time
    fee:money""",
)

PAYOUTS = _spec(
    "payouts",
    """payout_id provider amount:money fee:money currency status arrival_on:date
    created_at:time automatic:bool? reconciliation_status reference failure_code""",
)

PAYOUT_LINES = _spec(
    "payout_lines",
    """payout_id line_id provider source_id source_type line_type payment_id
    amount:money fee:money net:money currency created_at:time""",
)

SHIPMENTS = _spec(
    "shipments",
    """tracking_id provider tracking_number carrier order_id customer_id direction status
    tag subtag destination_country shipped_at:time expected_delivery_on:date
    delivered_at:time created_at:time updated_at:time""",
)

# Frames the warehouse has no table for (yet): lookups the links need.
MANDATES = _spec(
    "mandates",
    """mandate_id provider customer_id status scheme next_possible_charge_date:date
    created_at:time""",
)

INVOICE_PAYMENTS = _spec(
    "invoice_payments",
    """invoice_payment_id provider invoice_id payment_intent_id charge_id status
    is_default:bool? amount_requested:money amount_paid:money currency created_at:time
    paid_at:time""",
)

WAREHOUSE_SPECS = (
    CUSTOMERS,
    SUBSCRIPTIONS,
    INVOICES,
    INVOICE_TAX_LINES,
    PAYMENTS,
    REFUNDS,
    DISPUTES,
    PAYOUTS,
    PAYOUT_LINES,
    SHIPMENTS,
)
