"""Stripe payouts and their lines (the balance transactions paid out in each).

A payout line is one balance transaction of ``GET /v1/balance_transactions?payout=po_…``:
``amount`` gross, ``fee``, ``net = amount − fee``, signed (refunds and dispute debits
are negative). The payout's own ``payout`` transaction is the payout itself, not a
line, and is left out, so the lines' ``net`` adds up to the payout's ``amount``.
Example: a charge of 4990 (fee 100) and a refund of −1000 paid out in ``po_1`` give
two lines, nets 4890 and −1000, for a payout of 3890.

``payment_id`` names the charge the money belongs to: the source itself for a
charge, the refunded or disputed charge when the source is expanded (the connector
expands ``data.source``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.normalise import fields as f
from domain.normalise.core import Normalised, Versions, flatten_groups, run
from domain.normalise.schema import PAYOUT_LINES, PAYOUTS

PROVIDER = "stripe"
PAYOUT_STATUSES = frozenset({"paid", "pending", "in_transit", "canceled", "failed"})
SOURCE_TYPES = {
    "ch_": "charge",
    "py_": "charge",
    "re_": "refund",
    "pyr_": "refund",
    "du_": "dispute",
    "dp_": "dispute",
    "po_": "payout",
    "tr_": "transfer",
    "fee_": "application_fee",
}
PAYMENT_SOURCES = frozenset({"charge", "payment"})


def payout_row(obj: f.Obj) -> tuple[Any, ...]:
    return (
        f.ident(obj),
        PROVIDER,
        f.amount(obj, "amount", signed=True),
        None,
        f.currency(obj),
        f.status(obj, PAYOUT_STATUSES),
        f.utc_day(obj, "arrival_date"),
        f.epoch(obj, "created", required=True),
        f.flag(obj, "automatic"),
        f.text(obj, "reconciliation_status"),
        f.text(obj, "trace_id.value") or f.text(obj, "statement_descriptor"),
        f.text(obj, "failure_code"),
    )


def normalise_payouts(objects: Sequence[Any], source_version: Versions) -> Normalised:
    """Stripe payouts -> ``payouts`` rows (``arrival_on`` is Stripe's UTC calendar day)."""
    return run(
        objects, source_version, PAYOUTS, payout_row, provider=PROVIDER, object_type="payout"
    )


def _source(obj: f.Obj) -> tuple[str | None, str, str | None]:
    """``(source_id, source_type, payment_id)`` of a balance transaction."""
    source = obj.get("source")
    source_id = f.ref(obj, "source")
    if isinstance(source, Mapping):
        kind = f.text(source, "object") or "unknown"
    else:
        kind = next(
            (name for prefix, name in SOURCE_TYPES.items() if (source_id or "").startswith(prefix)),
            "unknown",
        )
    if kind in PAYMENT_SOURCES:
        payment = source_id
    elif isinstance(source, Mapping):
        payment = f.ref(source, "charge")
    else:
        payment = None
    return source_id, kind, payment


def line_rows(obj: f.Obj, payout_id: str) -> list[tuple[Any, ...]]:
    line_id = f.ident(obj)
    line_type = f.text(obj, "type")
    if line_type is None:
        raise f.Malformed("missing type")
    source_id, source_type, payment = _source(obj)
    if line_type == "payout" and source_id == payout_id:
        return []
    amount = f.amount(obj, "amount", signed=True)
    fee = f.amount(obj, "fee", signed=True)
    net = f.money(obj, "net", signed=True)
    if net is None:
        net = amount - fee
    elif net != amount - fee:
        raise f.Malformed(f"net {net} is not amount {amount} minus fee {fee}")
    return [
        (
            payout_id,
            line_id,
            PROVIDER,
            source_id,
            source_type,
            line_type,
            payment,
            amount,
            fee,
            net,
            f.currency(obj),
            f.epoch(obj, "created"),
        )
    ]


def normalise_payout_lines(
    transactions_by_payout: Mapping[str, Sequence[Any]],
    source_version: int | Mapping[str, int],
) -> Normalised:
    """``{payout id: [balance transaction, …]}`` -> ``payout_lines`` rows.

    ``source_version``: one for all, or one per payout.
    """
    objects, versions, payouts = flatten_groups(transactions_by_payout, source_version)
    return run(
        objects,
        versions,
        PAYOUT_LINES,
        line_rows,
        provider=PROVIDER,
        object_type="balance_transaction",
        context=payouts,
    )
