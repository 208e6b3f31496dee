"""Link resolution: fill in what one provider object does not carry, from the others.

Pure functions over the normalised frames; each returns only the payment rows that
changed (same columns, same ``source_version``; the loader rewrites a row whose hash
changed at an equal version), so a night with nothing new writes nothing.

Stripe (basil removed ``charge.invoice``):

- ``invoice_id``: the invoice payment of the charge's payment intent (or of the charge
  itself); with several, the paid one, then the default one, then the newest;
- ``subscription_id`` (and a missing ``order_id``): from that invoice;
- ``status``: a lost dispute makes the charge ``charged_back``; an open one
  ``disputed``; when every dispute was won, the charge is back to ``succeeded`` /
  ``partially_refunded`` / ``refunded`` by its refunds. Failed and pending charges
  are left alone.

Both providers: ``payout_id`` from the payout line that paid the payment out (a
Stripe ``charge`` balance transaction, a GoCardless ``payment_paid_out`` item).

GoCardless: ``customer_id`` from the payment's mandate.

Example: charge ``ch_1`` of intent ``pi_1``, invoice payment ``pi_1 -> in_1``, invoice
``in_1`` of ``sub_1``, balance transaction of ``ch_1`` in ``po_1``, dispute ``lost``
-> the row comes back with ``in_1``, ``sub_1``, ``po_1`` and ``charged_back``.
"""

from __future__ import annotations

import pandas as pd

LINKED = ("customer_id", "invoice_id", "subscription_id", "order_id", "payout_id", "status")
PAID_OUT_LINES = frozenset({"charge", "payment", "payment_paid_out"})
OPEN_DISPUTES = frozenset(
    {"warning_needs_response", "warning_under_review", "needs_response", "under_review"}
)
SETTLED = frozenset({"succeeded", "partially_refunded", "refunded", "disputed", "charged_back"})


def _lookup(frame: pd.DataFrame | None, key: str, value: str) -> pd.Series:
    """``key -> value`` for the rows where both are present (the last row wins)."""
    if frame is None or frame.empty:
        return pd.Series(dtype="string")
    pairs = frame.loc[frame[key].notna() & frame[value].notna(), [key, value]]
    return pairs.drop_duplicates(key, keep="last").set_index(key)[value]


def _fill(target: pd.Series, found: pd.Series, where: pd.Series) -> pd.Series:
    """``target`` with ``found`` where ``where`` and ``found`` is present."""
    return target.mask(where & found.notna(), found)


def _invoice_of(payments: pd.DataFrame, invoice_payments: pd.DataFrame) -> pd.Series:
    ranked = invoice_payments.assign(
        _paid=invoice_payments["status"].eq("paid").fillna(False),
        _default=invoice_payments["is_default"].fillna(False).astype(bool),
    ).sort_values(["_paid", "_default", "source_version"], kind="stable")
    by_intent = _lookup(ranked, "payment_intent_id", "invoice_id")
    by_charge = _lookup(ranked, "charge_id", "invoice_id")
    found = payments["payment_intent_id"].map(by_intent).astype("string")
    return found.mask(found.isna(), payments["payment_id"].map(by_charge).astype("string"))


def _refund_status(payments: pd.DataFrame) -> pd.Series:
    amount = payments["amount"]
    refunded = payments["amount_refunded"].fillna(0)
    status = pd.Series("succeeded", index=payments.index, dtype="string")
    status = status.mask(refunded > 0, "partially_refunded")
    return status.mask((refunded >= amount) & (amount > 0), "refunded")


def _dispute_status(payments: pd.DataFrame, disputes: pd.DataFrame) -> pd.Series:
    """The status disputes give each Stripe payment (``<NA>`` where they say nothing)."""
    by_payment = disputes["payment_id"]
    lost = disputes["status"].eq("lost").fillna(False).astype(bool).groupby(by_payment).any()
    still_open = disputes["status"].isin(OPEN_DISPUTES).astype(bool).groupby(by_payment).any()
    ids = payments["payment_id"]
    is_lost = ids.map(lost).fillna(False).astype(bool)
    is_open = ids.map(still_open).fillna(False).astype(bool)
    has_dispute = ids.isin(lost.index)
    status = pd.Series(pd.NA, index=payments.index, dtype="string")
    status = status.mask(has_dispute & ~is_lost & ~is_open, _refund_status(payments))
    status = status.mask(is_open, "disputed")
    return status.mask(is_lost, "charged_back")


def resolve_payment_links(
    payments: pd.DataFrame,
    *,
    invoice_payments: pd.DataFrame | None = None,
    invoices: pd.DataFrame | None = None,
    payout_lines: pd.DataFrame | None = None,
    disputes: pd.DataFrame | None = None,
    mandates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The payment rows whose links or status the other frames change, updated."""
    out = payments.copy()
    stripe = out["provider"].eq("stripe").fillna(False).astype(bool)
    gocardless = out["provider"].eq("gocardless").fillna(False).astype(bool)
    if invoice_payments is not None and not invoice_payments.empty:
        out["invoice_id"] = _fill(out["invoice_id"], _invoice_of(out, invoice_payments), stripe)
    if invoices is not None and not invoices.empty:
        subscription = out["invoice_id"].map(_lookup(invoices, "invoice_id", "subscription_id"))
        out["subscription_id"] = _fill(out["subscription_id"], subscription, stripe)
        order = out["invoice_id"].map(_lookup(invoices, "invoice_id", "order_id"))
        out["order_id"] = _fill(out["order_id"], order, stripe & out["order_id"].isna())
    if payout_lines is not None and not payout_lines.empty:
        paid_out = payout_lines[payout_lines["line_type"].isin(PAID_OUT_LINES)]
        payout = out["payment_id"].map(_lookup(paid_out, "payment_id", "payout_id"))
        out["payout_id"] = _fill(out["payout_id"], payout, stripe | gocardless)
    if disputes is not None and not disputes.empty:
        settled = out["status"].isin(SETTLED).fillna(False).astype(bool)
        out["status"] = _fill(out["status"], _dispute_status(out, disputes), stripe & settled)
    if mandates is not None and not mandates.empty:
        customer = out["mandate_id"].map(_lookup(mandates, "mandate_id", "customer_id"))
        out["customer_id"] = _fill(out["customer_id"], customer, gocardless)
    out = out.astype({column: payments[column].dtype for column in LINKED})
    return out[_changed(payments, out)]


def _changed(before: pd.DataFrame, after: pd.DataFrame) -> pd.Series:
    changed = pd.Series(False, index=before.index)
    for column in LINKED:
        old = before[column].astype("string").fillna("\0")
        new = after[column].astype("string").fillna("\0")
        changed |= (old != new).astype(bool)
    return changed
