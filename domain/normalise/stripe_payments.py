"""Stripe charges, refunds and disputes -> ``payments``, ``refunds``, ``disputes`` rows.

One ``payments`` row per charge (each attempt of a payment intent is its own charge).
The unified status reads the charge as it stands now:

==========================================  =====================
charge                                      ``status``
==========================================  =====================
``failed``                                  ``failed``
``pending``, or succeeded but not captured  ``pending``
``disputed: true``                          ``disputed``
``amount_refunded >= amount``               ``refunded``
``0 < amount_refunded < amount``            ``partially_refunded``
otherwise ``succeeded``                     ``succeeded``
==========================================  =====================

(a lost dispute becomes ``charged_back`` in :mod:`domain.normalise.links`, which sees
the dispute). Example: a 4990 EUR charge with ``amount_refunded`` 1000 is
``partially_refunded``, ``provider_status`` ``succeeded``. Fee and net come from the
balance transaction when the connector expanded it (``{"fee": 100, "net": 4890}``);
an unexpanded id leaves them empty. Invoice, subscription and payout are filled by
the links: basil removed ``charge.invoice``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.normalise import fields as f
from domain.normalise.core import Normalised, Versions, run
from domain.normalise.schema import DISPUTES, PAYMENTS, REFUNDS

PROVIDER = "stripe"
CHARGE_STATUSES = frozenset({"succeeded", "pending", "failed"})
REFUND_STATUSES = frozenset({"pending", "requires_action", "succeeded", "failed", "canceled"})
DISPUTE_STATUSES = frozenset(
    {
        "warning_needs_response",
        "warning_under_review",
        "warning_closed",
        "needs_response",
        "under_review",
        "won",
        "lost",
        "prevented",
    }
)


def charge_status(
    status: str, *, captured: bool, disputed: bool, amount: int, refunded: int
) -> str:
    """The unified status of a charge (see the module table)."""
    if status == "failed":
        return "failed"
    if status == "pending" or not captured:
        return "pending"
    if disputed:
        return "disputed"
    if refunded >= amount > 0:
        return "refunded"
    if refunded > 0:
        return "partially_refunded"
    return "succeeded"


def _balance(obj: f.Obj, path: str) -> tuple[str | None, int | None, int | None]:
    """``(id, fee, net)`` of a balance transaction field, expanded or not."""
    value = obj.get(path)
    if isinstance(value, Mapping):
        return (
            f.ident(value),
            f.money(value, "fee", signed=True),
            f.money(value, "net", signed=True),
        )
    return f.ref(obj, path), None, None


def charge_row(obj: f.Obj) -> tuple[Any, ...]:
    charge_id = f.ident(obj)
    raw = f.status(obj, CHARGE_STATUSES)
    amount = f.amount(obj, "amount")
    refunded = f.money(obj, "amount_refunded") or 0
    captured = f.flag(obj, "captured", default=raw == "succeeded")
    status = charge_status(
        raw,
        captured=bool(captured),
        disputed=bool(f.flag(obj, "disputed", default=False)),
        amount=amount,
        refunded=refunded,
    )
    created = f.epoch(obj, "created", required=True)
    txn, fee, net = _balance(obj, "balance_transaction")
    details_type = f.text(obj, "payment_method_details.type")
    mandate = f.ref(obj, f"payment_method_details.{details_type}.mandate") if details_type else None
    return (
        charge_id,
        PROVIDER,
        f.ref(obj, "payment_intent"),
        f.ref(obj, "customer"),
        None,
        None,
        f.metadata(obj, "order_id"),
        amount,
        refunded,
        f.currency(obj),
        status,
        raw,
        f.text(obj, "failure_code"),
        f.text(obj, "outcome.reason") if raw == "failed" else None,
        f.text(obj, "failure_message"),
        0,
        None,
        details_type,
        f.ref(obj, "payment_method"),
        mandate,
        f.text(obj, "payment_method_details.card.brand"),
        f.text(obj, "payment_method_details.card.last4"),
        created,
        None,
        created if raw == "succeeded" and captured else None,
        created if raw == "failed" else None,
        None,
        txn,
        fee,
        net,
    )


def normalise_charges(objects: Sequence[Any], source_version: Versions) -> Normalised:
    """Stripe charges (``balance_transaction`` possibly expanded) -> ``payments`` rows."""
    return run(
        objects, source_version, PAYMENTS, charge_row, provider=PROVIDER, object_type="charge"
    )


def refund_row(obj: f.Obj) -> tuple[Any, ...]:
    _, fee, net = _balance(obj, "balance_transaction")
    return (
        f.ident(obj),
        PROVIDER,
        f.ref(obj, "charge"),
        f.metadata(obj, "order_id"),
        f.amount(obj, "amount"),
        f.currency(obj),
        f.status(obj, REFUND_STATUSES),
        f.text(obj, "reason"),
        f.text(obj, "failure_reason"),
        f.epoch(obj, "created", required=True),
        None,
        fee,
        net,
    )


def normalise_refunds(objects: Sequence[Any], source_version: Versions) -> Normalised:
    """Stripe refunds -> ``refunds`` rows (``payment_id`` is the refunded charge)."""
    return run(
        objects, source_version, REFUNDS, refund_row, provider=PROVIDER, object_type="refund"
    )


def dispute_row(obj: f.Obj) -> tuple[Any, ...]:
    charge = f.ref(obj, "charge")
    if charge is None:
        raise f.Malformed("missing charge")
    fees = [
        f.money(txn, "fee", signed=True) or 0
        for txn in f.items(obj, "balance_transactions")
        if isinstance(txn, Mapping)
    ]
    return (
        f.ident(obj),
        PROVIDER,
        charge,
        f.amount(obj, "amount"),
        f.currency(obj),
        f.status(obj, DISPUTE_STATUSES),
        f.text(obj, "reason"),
        f.text(obj, "payment_method_details.card.network_reason_code"),
        f.epoch(obj, "created", required=True),
        f.epoch(obj, "evidence_details.due_by"),
        None,
        sum(fees) if fees else None,
    )


def normalise_disputes(objects: Sequence[Any], source_version: Versions) -> Normalised:
    """Stripe disputes -> ``disputes`` rows; ``fee`` sums the dispute's balance transactions."""
    return run(
        objects, source_version, DISPUTES, dispute_row, provider=PROVIDER, object_type="dispute"
    )
