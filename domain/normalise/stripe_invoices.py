"""Stripe invoices, their VAT lines and invoice payments (the current API shapes).

- The subscription is at ``parent.subscription_details.subscription`` (basil moved it);
  a one-off order's id is ``metadata.order_id``.
- ``issued_on`` is the business day (in ``tz``, Europe/Paris by default) of
  ``effective_at``, else ``status_transitions.finalized_at``, else ``created``; a draft
  is not issued yet. An invoice created 2026-03-31T23:30Z is issued on 1 April in Paris.
- ``due_on``: ``due_date`` for ``send_invoice`` invoices; a card invoice
  (``charge_automatically``) is due the day it is issued.
- ``tax`` is the sum of ``total_taxes[].amount`` (else ``total − total_excluding_tax``).
- VAT lines come from ``total_taxes[]``; each names its TaxRate, whose country and
  percentage the caller supplies as a lookup (tax rate id -> TaxRate object). A line
  whose rate is not in the lookup makes the invoice a problem: a VAT return must not
  silently miss a country.
- Invoice payments link a payment intent (or charge) to its invoice: basil removed
  ``invoice.charge`` / ``invoice.payment_intent`` and ``charge.invoice``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.normalise import b2b
from domain.normalise import fields as f
from domain.normalise.core import DEFAULT_TZ, Normalised, Versions, run
from domain.normalise.schema import INVOICE_PAYMENTS, INVOICE_TAX_LINES, INVOICES

PROVIDER = "stripe"
INVOICE_STATUSES = frozenset({"draft", "open", "paid", "uncollectible", "void"})
TAX_BEHAVIORS = frozenset({"inclusive", "exclusive", "unspecified"})
INVOICE_PAYMENT_STATUSES = frozenset({"open", "paid", "canceled"})


def _tax_total(obj: f.Obj, total: int, excluding: int | None) -> int | None:
    entries = obj.get("total_taxes")
    if entries is None:
        return None if excluding is None else total - excluding
    amounts = [f.amount(entry, "amount") for entry in _entries(entries)]
    return sum(a for a in amounts if a is not None)


def _entries(entries: Any) -> list[Mapping[str, Any]]:
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise f.Malformed("total_taxes is not a list of objects")
    return entries


def invoice_row(obj: f.Obj, seller_country: str = b2b.SELLER_COUNTRY) -> tuple[Any, ...]:
    invoice_id = f.ident(obj)
    status = f.status(obj, INVOICE_STATUSES)
    customer = f.ref(obj, "customer")
    if customer is None:
        raise f.Malformed("missing customer")
    total = f.amount(obj, "total", signed=True)
    excluding = f.money(obj, "total_excluding_tax", signed=True)
    created = f.epoch(obj, "created", required=True)
    finalized = f.epoch(obj, "status_transitions.finalized_at")
    effective = f.epoch(obj, "effective_at")
    issued = None if status == "draft" else (effective or finalized or created)
    collection = f.text(obj, "collection_method")
    due = f.epoch(obj, "due_date")
    if due is None and collection == "charge_automatically":
        due = issued
    vat_id, any_id = b2b.vat_id_from_tax_ids(obj.get("customer_tax_ids"))
    tax_exempt = f.text(obj, "customer_tax_exempt")
    return (
        invoice_id,
        PROVIDER,
        customer,
        f.ref(obj, "parent.subscription_details.subscription"),
        f.metadata(obj, "order_id"),
        f.text(obj, "number"),
        status,
        f.currency(obj),
        f.money(obj, "subtotal", signed=True),
        excluding,
        _tax_total(obj, total, excluding),
        total,
        f.money(obj, "amount_due", signed=True),
        f.amount(obj, "amount_paid"),
        f.amount(obj, "amount_remaining"),
        issued,
        due,
        created,
        finalized,
        f.epoch(obj, "status_transitions.paid_at"),
        f.epoch(obj, "status_transitions.voided_at"),
        f.epoch(obj, "status_transitions.marked_uncollectible_at"),
        f.text(obj, "billing_reason"),
        collection,
        f.count(obj, "attempt_count", default=0),
        f.flag(obj, "attempted", default=False),
        f.epoch(obj, "next_payment_attempt"),
        b2b.country_code(f.dig(obj, "customer_address.country"), "customer_address.country"),
        vat_id,
        b2b.is_business(vat_id, any_tax_id=any_id, tax_exempt=tax_exempt),
        b2b.reverse_charge(vat_id, seller_country),
        f.text(obj, "hosted_invoice_url"),
    )


def normalise_invoices(
    objects: Sequence[Any],
    source_version: Versions,
    *,
    tz: str = DEFAULT_TZ,
    seller_country: str = b2b.SELLER_COUNTRY,
) -> Normalised:
    """Stripe invoices -> ``invoices`` rows; dates are business days in ``tz``."""
    return run(
        objects,
        source_version,
        INVOICES,
        lambda obj: invoice_row(obj, seller_country),
        provider=PROVIDER,
        object_type="invoice",
        tz=tz,
    )


def tax_line_rows(obj: f.Obj, tax_rates: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """One row per ``total_taxes[]`` entry, keyed by its tax rate id (``#2``… if repeated)."""
    invoice_id = f.ident(obj)
    currency = f.currency(obj)
    rows = []
    seen: dict[str, int] = {}
    for n, entry in enumerate(_entries(obj.get("total_taxes") or [])):
        rate_id = f.ref(entry, "tax_rate_details.tax_rate")
        rate_obj = tax_rates.get(rate_id) if rate_id else None
        if rate_id and rate_obj is None:
            raise f.Malformed(f"tax rate {rate_id} of total_taxes[{n}] is not in the lookup")
        behavior = f.text(entry, "tax_behavior")
        if behavior is not None and behavior not in TAX_BEHAVIORS:
            raise f.Malformed(f"unknown total_taxes[{n}].tax_behavior {behavior!r}")
        base = rate_id or f"tax-{n}"
        seen[base] = seen.get(base, 0) + 1
        key = base if seen[base] == 1 else f"{base}#{seen[base]}"
        rows.append(
            (
                invoice_id,
                key,
                PROVIDER,
                b2b.country_code(f.dig(rate_obj, "country"), "tax_rate.country"),
                rate_id,
                f.text(rate_obj, "tax_type") if rate_obj else None,
                f.rate(f.dig(rate_obj, "percentage"), "tax_rate.percentage"),
                f.amount(entry, "taxable_amount", signed=True),
                f.amount(entry, "amount", signed=True),
                currency,
                f.text(entry, "taxability_reason"),
                behavior,
            )
        )
    return rows


def normalise_invoice_tax_lines(
    objects: Sequence[Any],
    source_version: Versions,
    *,
    tax_rates: Mapping[str, Any],
) -> Normalised:
    """Stripe invoices -> ``invoice_tax_lines``; ``tax_rates``: id -> TaxRate object.

    Example: ``total_taxes [{amount: 303, taxable_amount: 1597, tax_rate_details:
    {tax_rate: "txr_de"}}]`` with ``txr_de`` = DE 19 % -> one line (DE, 19, 1597, 303).
    """
    return run(
        objects,
        source_version,
        INVOICE_TAX_LINES,
        lambda obj: tax_line_rows(obj, tax_rates),
        provider=PROVIDER,
        object_type="invoice",
    )


def _invoice_payment_row(obj: f.Obj) -> tuple[Any, ...]:
    payment_type = f.text(obj, "payment.type")
    return (
        f.ident(obj),
        PROVIDER,
        f.ref(obj, "invoice") or _missing("invoice"),
        f.ref(obj, "payment.payment_intent"),
        f.ref(obj, "payment.charge") if payment_type != "payment_intent" else None,
        f.status(obj, INVOICE_PAYMENT_STATUSES),
        f.flag(obj, "is_default"),
        f.money(obj, "amount_requested"),
        f.money(obj, "amount_paid"),
        f.currency(obj),
        f.epoch(obj, "created"),
        f.epoch(obj, "status_transitions.paid_at"),
    )


def _missing(field: str) -> Any:
    raise f.Malformed(f"missing {field}")


def normalise_invoice_payments(objects: Sequence[Any], source_version: Versions) -> Normalised:
    """Stripe invoice payments -> the link frame ``payment_intent_id`` -> ``invoice_id``."""
    return run(
        objects,
        source_version,
        INVOICE_PAYMENTS,
        _invoice_payment_row,
        provider=PROVIDER,
        object_type="invoice_payment",
    )
