"""The sync's streams as data: what to list at each provider and where each object lands.

One row per provider resource (STYLE "Avoid": no ``if resource == ...``): the list
resource, the object type (Stripe's ``object``, the key of ``raw_objects`` and of event
routing), extra list parameters, and the outputs (warehouse table, normaliser, the
enrichment columns an event-sourced row may lack, the amount column of the control
totals). Payouts also name their lines (Stripe balance transactions, GoCardless payout
items), fetched per payout. Example: a Stripe ``charge`` - listed from ``charges`` with
its balance transaction expanded, or read from a ``charge.refunded`` event - becomes a
``payments`` row; a charge event's row keeps the stored ``fee``/``net``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from domain.normalise import aftership, gocardless, gocardless_money
from domain.normalise import stripe_customers as s_customers
from domain.normalise import stripe_invoices as s_invoices
from domain.normalise import stripe_payments as s_payments
from domain.normalise import stripe_payouts as s_payouts
from domain.normalise.core import Normalised


@dataclass(frozen=True)
class Lookups:
    """Objects a normaliser needs besides the batch (read from ``raw_objects``)."""

    tax_rates: Mapping[str, Any] = field(default_factory=dict)
    mandates: Mapping[str, Any] = field(default_factory=dict)
    tz: str = "Europe/Paris"


Normalise = Callable[[Sequence[Any], Sequence[int], Lookups], Normalised]
NormaliseLines = Callable[
    [Mapping[str, Sequence[Any]], Mapping[str, int], Mapping[str, str]], Normalised
]


@dataclass(frozen=True)
class Output:
    """One table a stream feeds."""

    table: str
    normalise: Normalise
    carry: tuple[str, ...] = ()  # enrichment columns kept from the stored row when missing
    amount: str | None = None  # summed in the control totals


@dataclass(frozen=True)
class Lines:
    """A payout's lines: fetched per payout, normalised as ``{payout id: [line, ...]}``."""

    object_type: str
    normalise: NormaliseLines
    table: str = "payout_lines"
    amount: str = "net"


@dataclass(frozen=True)
class Stream:
    provider: str
    resource: str
    object_type: str
    outputs: tuple[Output, ...] = ()
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    lines: Lines | None = None
    needs: tuple[str, ...] = ()  # lookups: "tax_rates", "mandates"
    events: bool = True  # followed through the provider's event stream

    @property
    def name(self) -> str:
        return f"{self.provider}/{self.resource}"


PAYMENT_CARRY = (
    "customer_id",
    "invoice_id",
    "subscription_id",
    "order_id",
    "payout_id",
    "balance_transaction_id",
    "fee",
    "net",
)
CARD_CARRY = ("payment_method_type", "card_brand", "card_last4", "card_exp_month", "card_exp_year")
REFUND_CARRY = ("payout_id", "fee", "net")


def _stripe_lines(
    groups: Mapping[str, Sequence[Any]], versions: Mapping[str, int], _currencies: Mapping[str, str]
) -> Normalised:
    return s_payouts.normalise_payout_lines(groups, dict(versions))


def _gocardless_lines(
    groups: Mapping[str, Sequence[Any]], versions: Mapping[str, int], currencies: Mapping[str, str]
) -> Normalised:
    return gocardless_money.normalise_payout_lines(groups, dict(versions), currencies=currencies)


STRIPE: tuple[Stream, ...] = (
    # Raw only (the invoices' VAT lines look rates up); first, so that an invoice event
    # in the same batch finds a rate created just before it.
    Stream("stripe", "tax_rates", "tax_rate"),
    Stream(
        "stripe",
        "customers",
        "customer",
        (Output("customers", lambda o, v, k: s_customers.normalise_customers(o, v, tz=k.tz)),),
    ),
    Stream(
        "stripe",
        "subscriptions",
        "subscription",
        (
            Output(
                "subscriptions",
                lambda o, v, k: s_customers.normalise_subscriptions(o, v, tz=k.tz),
                carry=CARD_CARRY,
                amount="amount",
            ),
        ),
        params=MappingProxyType({"expand": ["data.default_payment_method"]}),
    ),
    Stream(
        "stripe",
        "invoices",
        "invoice",
        (
            Output(
                "invoices",
                lambda o, v, k: s_invoices.normalise_invoices(o, v, tz=k.tz),
                amount="total",
            ),
            Output(
                "invoice_tax_lines",
                lambda o, v, k: s_invoices.normalise_invoice_tax_lines(o, v, tax_rates=k.tax_rates),
                amount="tax_amount",
            ),
        ),
        needs=("tax_rates",),
    ),
    Stream(
        "stripe",
        "invoice_payments",
        "invoice_payment",
        (
            Output(
                "invoice_payments",
                lambda o, v, k: s_invoices.normalise_invoice_payments(o, v),
                amount="amount_paid",
            ),
        ),
    ),
    Stream(
        "stripe",
        "charges",
        "charge",
        (
            Output(
                "payments",
                lambda o, v, k: s_payments.normalise_charges(o, v),
                carry=PAYMENT_CARRY,
                amount="amount",
            ),
        ),
    ),
    Stream(
        "stripe",
        "refunds",
        "refund",
        (
            Output(
                "refunds",
                lambda o, v, k: s_payments.normalise_refunds(o, v),
                carry=REFUND_CARRY,
                amount="amount",
            ),
        ),
    ),
    Stream(
        "stripe",
        "disputes",
        "dispute",
        (Output("disputes", lambda o, v, k: s_payments.normalise_disputes(o, v), amount="amount"),),
    ),
    Stream(
        "stripe",
        "payouts",
        "payout",
        (Output("payouts", lambda o, v, k: s_payouts.normalise_payouts(o, v), amount="amount"),),
        lines=Lines("balance_transaction", _stripe_lines),
    ),
)

GOCARDLESS: tuple[Stream, ...] = (
    Stream(
        "gocardless",
        "customers",
        "customer",
        (Output("customers", lambda o, v, k: gocardless.normalise_customers(o, v)),),
    ),
    Stream(
        "gocardless",
        "mandates",
        "mandate",
        (Output("mandates", lambda o, v, k: gocardless.normalise_mandates(o, v)),),
    ),
    Stream(
        "gocardless",
        "subscriptions",
        "subscription",
        (
            Output(
                "subscriptions",
                lambda o, v, k: gocardless.normalise_subscriptions(
                    o, v, mandates=k.mandates, tz=k.tz
                ),
                amount="amount",
            ),
        ),
        needs=("mandates",),
    ),
    Stream(
        "gocardless",
        "payments",
        "payment",
        (
            Output(
                "payments",
                lambda o, v, k: gocardless_money.normalise_payments(o, v),
                carry=PAYMENT_CARRY,
                amount="amount",
            ),
        ),
    ),
    Stream(
        "gocardless",
        "refunds",
        "refund",
        (
            Output(
                "refunds",
                lambda o, v, k: gocardless_money.normalise_refunds(o, v),
                carry=REFUND_CARRY,
                amount="amount",
            ),
        ),
    ),
    Stream(
        "gocardless",
        "payouts",
        "payout",
        (
            Output(
                "payouts",
                lambda o, v, k: gocardless_money.normalise_payouts(o, v),
                amount="amount",
            ),
        ),
        lines=Lines("payout_item", _gocardless_lines),
    ),
)

AFTERSHIP: tuple[Stream, ...] = (
    Stream(
        "aftership",
        "trackings",
        "tracking",
        (Output("shipments", lambda o, v, k: aftership.normalise_shipments(o, v)),),
    ),
)

STREAMS: Mapping[str, tuple[Stream, ...]] = MappingProxyType(
    {"stripe": STRIPE, "gocardless": GOCARDLESS, "aftership": AFTERSHIP}
)


def stream(provider: str, resource: str) -> Stream:
    """The stream listing ``resource`` at ``provider``."""
    for candidate in STREAMS[provider]:
        if candidate.resource == resource:
            return candidate
    raise KeyError(f"no stream {provider}/{resource}")


def by_object_type(provider: str) -> dict[str, Stream]:
    """Event routing: the stream of each object type (Stripe ``data.object.object``)."""
    return {s.object_type: s for s in STREAMS[provider] if s.events}


def event_streams(provider: str) -> tuple[Stream, ...]:
    """The streams followed through the provider's events (GoCardless: one cursor each)."""
    return tuple(s for s in STREAMS[provider] if s.events)
