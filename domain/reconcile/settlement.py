"""Money that settled and came back, and payouts that do not add up.

- ``late_failure``: a GoCardless debit that had been paid out, then failed (the bank
  rejected it days later). Example: ``PM1`` in payout ``PO1`` on 3 June, ``failed`` on
  6 June -> found, amount = the payment.
- ``chargeback``: a payment charged back (GoCardless ``charged_back``, a lost Stripe
  dispute) or under an open dispute, whose money the provider has taken back. A dispute
  won resolves it.
- ``payout_mismatch``: a payout whose amount is not the sum of its lines' ``net``
  (Stripe: the balance transactions paid out in it, its own ``payout`` transaction left
  out; GoCardless: its payout items), beyond ``payout_tolerance``. Example: ``PO1`` of
  49.17 EUR with items adding up to 48.17 -> found, amount 1.00. Stripe payouts that are
  not automatic cannot be itemised and are skipped, as are failed or cancelled ones.
"""

from __future__ import annotations

import pandas as pd

from domain.reconcile.found import found
from domain.reconcile.policy import ReconPolicy

PAID_OUT = frozenset({"charge", "payment", "payment_paid_out", "payment_failed"})
OPEN_DISPUTES = frozenset(
    {"warning_needs_response", "warning_under_review", "needs_response", "under_review"}
)
UNSETTLED_PAYOUTS = frozenset({"failed", "canceled", "cancelled", "bounced"})


def late_failure(payments: pd.DataFrame, payout_lines: pd.DataFrame) -> pd.DataFrame:
    """Failed payments that had been paid out."""
    paid_out = payout_lines.loc[payout_lines["line_type"].isin(PAID_OUT), "payment_id"].dropna()
    failed = payments[
        payments["status"].eq("failed")
        & (payments["payout_id"].notna() | payments["payment_id"].isin(paid_out))
    ].sort_values("payment_id")
    return found(
        "late_failure",
        failed["provider"],
        [[p] for p in failed["payment_id"]],
        failed["amount"],
        failed["currency"],
        [
            {"payout_id": po, "failure_code": fc, "order_id": o, "subscription_id": s}
            for po, fc, o, s in zip(
                failed["payout_id"],
                failed["failure_code"],
                failed["order_id"],
                failed["subscription_id"],
                strict=True,
            )
        ],
    )


def chargeback(payments: pd.DataFrame, disputes: pd.DataFrame) -> pd.DataFrame:
    """Payments charged back or under an open dispute."""
    live = disputes[disputes["status"].isin(OPEN_DISPUTES) | disputes["status"].eq("lost")]
    by_payment = (
        live.sort_values("dispute_id")
        .groupby("payment_id")
        .agg(
            dispute_ids=("dispute_id", list),
            disputed=("amount", "sum"),
            reason=("reason", "first"),
            dispute_status=("status", "last"),
        )
    )
    hit = payments[
        payments["status"].isin(("charged_back", "disputed"))
        | payments["payment_id"].isin(by_payment.index)
    ].sort_values("payment_id")
    info = by_payment.reindex(hit["payment_id"])
    disputes_of = [v if isinstance(v, list) else [] for v in info["dispute_ids"]]
    own = pd.Series(hit["amount"].to_numpy(), index=info.index, dtype="Int64")
    amount = info["disputed"].astype("Int64").fillna(own)
    stage = hit["status"].map({"disputed": "open"}).fillna("lost").to_numpy()
    return found(
        "chargeback",
        hit["provider"],
        [[p, *d] for p, d in zip(hit["payment_id"], disputes_of, strict=True)],
        amount.to_numpy(),
        hit["currency"],
        [
            {"stage": s, "reason": r, "dispute_status": ds, "order_id": o, "invoice_id": i}
            for s, r, ds, o, i in zip(
                stage,
                info["reason"],
                info["dispute_status"],
                hit["order_id"],
                hit["invoice_id"],
                strict=True,
            )
        ],
    )


def payout_mismatch(
    payouts: pd.DataFrame, payout_lines: pd.DataFrame, policy: ReconPolicy
) -> pd.DataFrame:
    """Payouts whose lines' net does not add up to their amount."""
    itemised = payouts[
        ~payouts["status"].isin(UNSETTLED_PAYOUTS)
        & (
            payouts["provider"].ne("stripe")
            | payouts["automatic"].astype("boolean").fillna(True).astype(bool)
        )
    ]
    sums = payout_lines.groupby("payout_id").agg(net=("net", "sum"), lines=("net", "count"))
    sums = sums.reindex(itemised["payout_id"]).fillna(0)
    difference = itemised["amount"].to_numpy() - sums["net"].to_numpy()
    hit = itemised[abs(difference) > policy.payout_tolerance].sort_values("payout_id")
    sums = sums.reindex(hit["payout_id"])
    return found(
        "payout_mismatch",
        hit["provider"],
        [[p] for p in hit["payout_id"]],
        hit["amount"].to_numpy() - sums["net"].to_numpy(),
        hit["currency"],
        [
            {"payout_amount": a, "lines_total": int(n), "lines": int(c), "arrival_on": d}
            for a, n, c, d in zip(
                hit["amount"], sums["net"], sums["lines"], hit["arrival_on"], strict=True
            )
        ],
    )
