"""Invoices against the payments that paid them; payments that pay twice or nothing.

- ``currency_mismatch``: a collected payment in another currency than its invoice.
- ``invoice_paid_twice``: two or more collected payments on one invoice, adding up to
  more than it asked for. Example: ``in_1`` (49.90 EUR) paid by ``ch_1`` and ``ch_2``
  (49.90 each) -> found, amount 49.90 (the surplus).
- ``amount_mismatch``: otherwise, the collected payments of an invoice do not add up
  to what it asked for (``amount_due``, else ``total``). Example: ``in_1`` 59.00, one
  charge of 54.00 -> found, amount -5.00 (short). An invoice nobody paid yet is dunning's
  business, not an exception.
- ``duplicate_payment``: payments the shop still holds, of the same order (on any
  provider), or of the same customer outside any invoice, for the same amount and
  currency, within ``duplicate_window_hours``. Refunding one resolves it.
- ``orphan_payment``: a collected payment of a provider in ``orphan_providers`` that
  names no invoice, no order and no subscription.
"""

from __future__ import annotations

import pandas as pd

from domain.reconcile.found import COLLECTED, HELD, found
from domain.reconcile.policy import ReconPolicy

BILLED = ("open", "paid", "uncollectible")


def _collected_on_invoices(payments: pd.DataFrame, invoices: pd.DataFrame) -> pd.DataFrame:
    paid = payments[payments["invoice_id"].notna() & payments["status"].isin(COLLECTED)]
    billed = invoices[invoices["status"].isin(BILLED)]
    expected = billed["amount_due"].astype("Int64").fillna(billed["total"].astype("Int64"))
    billed = billed.assign(_expected=expected)[
        ["invoice_id", "provider", "currency", "_expected", "order_id"]
    ]
    return paid.merge(billed, on="invoice_id", suffixes=("", "_invoice"))


def currency_mismatch(payments: pd.DataFrame, invoices: pd.DataFrame) -> pd.DataFrame:
    """Collected payments whose currency is not their invoice's."""
    rows = _collected_on_invoices(payments, invoices)
    wrong = rows[rows["currency"] != rows["currency_invoice"]].sort_values("payment_id")
    return found(
        "currency_mismatch",
        wrong["provider"],
        [[i, p] for i, p in zip(wrong["invoice_id"], wrong["payment_id"], strict=True)],
        wrong["amount"],
        wrong["currency"],
        [
            {"invoice_currency": ic, "invoice_amount": e, "payment_currency": pc}
            for ic, e, pc in zip(
                wrong["currency_invoice"], wrong["_expected"], wrong["currency"], strict=True
            )
        ],
    )


def _invoice_sums(payments: pd.DataFrame, invoices: pd.DataFrame) -> pd.DataFrame:
    rows = _collected_on_invoices(payments, invoices)
    mixed = set(rows.loc[rows["currency"] != rows["currency_invoice"], "invoice_id"])
    rows = rows[~rows["invoice_id"].isin(mixed)]
    grouped = rows.groupby("invoice_id", sort=True)
    sums = grouped.agg(
        paid=("amount", "sum"), payments=("payment_id", "count"), expected=("_expected", "max")
    )
    # the costly per-invoice lists only for the few invoices that do not add up
    odd = sums[sums["paid"] != sums["expected"]]
    rows = rows[rows["invoice_id"].isin(odd.index)]
    info = rows.groupby("invoice_id", sort=True).agg(
        currency=("currency", "first"),
        provider=("provider_invoice", "first"),
        order_id=("order_id_invoice", "first"),
        payment_ids=("payment_id", list),
    )
    return odd.join(info)


def invoice_paid_twice(payments: pd.DataFrame, invoices: pd.DataFrame) -> pd.DataFrame:
    """Invoices with two or more collected payments adding up to more than they asked."""
    sums = _invoice_sums(payments, invoices)
    hit = sums[(sums["payments"] >= 2) & (sums["paid"] > sums["expected"])]
    return _invoice_found("invoice_paid_twice", hit)


def amount_mismatch(payments: pd.DataFrame, invoices: pd.DataFrame) -> pd.DataFrame:
    """Invoices whose collected payments do not add up to the amount asked (not twice-paid)."""
    sums = _invoice_sums(payments, invoices)
    twice = (sums["payments"] >= 2) & (sums["paid"] > sums["expected"])
    hit = sums[(sums["paid"] != sums["expected"]) & ~twice]
    return _invoice_found("amount_mismatch", hit)


def _invoice_found(kind: str, hit: pd.DataFrame) -> pd.DataFrame:
    return found(
        kind,
        hit["provider"],
        [
            [i, *p, o] if isinstance(o, str) else [i, *p]
            for i, p, o in zip(hit.index, hit["payment_ids"], hit["order_id"], strict=True)
        ],
        hit["paid"] - hit["expected"],
        hit["currency"],
        [
            {"invoice_id": i, "invoice_amount": e, "paid": p, "payments": n, "order_id": o}
            for i, e, p, n, o in zip(
                hit.index,
                hit["expected"],
                hit["paid"],
                hit["payments"],
                hit["order_id"],
                strict=True,
            )
        ],
    )


def duplicate_payment(payments: pd.DataFrame, policy: ReconPolicy) -> pd.DataFrame:
    """Same order (or same customer outside invoices), amount and currency, close in time."""
    held = payments[payments["status"].isin(HELD)]
    by_order = held[held["order_id"].notna()]
    loose = held[held["order_id"].isna() & held["invoice_id"].isna() & held["customer_id"].notna()]
    keyed = pd.concat(
        [
            by_order.assign(_key="order:" + by_order["order_id"].astype(str)),
            loose.assign(_key="customer:" + loose["customer_id"].astype(str)),
        ]
    )
    keyed = keyed.assign(_at=pd.to_datetime(keyed["created_at"], utc=True))
    keyed = keyed.sort_values(["_key", "currency", "amount", "_at", "payment_id"])
    same = (
        keyed["_key"].eq(keyed["_key"].shift())
        & keyed["currency"].eq(keyed["currency"].shift())
        & keyed["amount"].eq(keyed["amount"].shift())
    )
    same = same.fillna(False).astype(bool)  # text columns compare to a nullable mask
    close = keyed["_at"].diff() <= pd.Timedelta(hours=policy.duplicate_window_hours)
    keyed = keyed.assign(_cluster=(~(same & close)).cumsum())
    sizes = keyed.groupby("_cluster")["payment_id"].transform("count")
    dup = keyed[sizes >= 2]
    clusters = dup.groupby("_cluster", sort=True).agg(
        payment_ids=("payment_id", list),
        providers=("provider", lambda s: ",".join(sorted(set(s)))),
        amount=("amount", "first"),
        count=("payment_id", "count"),
        currency=("currency", "first"),
        order_id=("order_id", "first"),
        customer_id=("customer_id", "first"),
        first_at=("_at", "min"),
        last_at=("_at", "max"),
    )
    return found(
        "duplicate_payment",
        clusters["providers"],
        [
            [o, *p] if isinstance(o, str) else list(p)
            for o, p in zip(clusters["order_id"], clusters["payment_ids"], strict=True)
        ],
        clusters["amount"] * (clusters["count"] - 1),
        clusters["currency"],
        [
            {
                "order_id": o,
                "customer_id": c,
                "payments": n,
                "each": a,
                "minutes_apart": int((b - f).total_seconds() // 60),
            }
            for o, c, n, a, f, b in zip(
                clusters["order_id"],
                clusters["customer_id"],
                clusters["count"],
                clusters["amount"],
                clusters["first_at"],
                clusters["last_at"],
                strict=True,
            )
        ],
    )


def orphan_payment(payments: pd.DataFrame, policy: ReconPolicy) -> pd.DataFrame:
    """Collected payments that name no invoice, order or subscription."""
    orphans = payments[
        payments["status"].isin(COLLECTED)
        & payments["provider"].isin(policy.orphan_providers)
        & payments["invoice_id"].isna()
        & payments["order_id"].isna()
        & payments["subscription_id"].isna()
    ].sort_values("payment_id")
    return found(
        "orphan_payment",
        orphans["provider"],
        [[p] for p in orphans["payment_id"]],
        orphans["amount"],
        orphans["currency"],
        [
            {"customer_id": c, "status": s, "created_at": str(t)}
            for c, s, t in zip(
                orphans["customer_id"], orphans["status"], orphans["created_at"], strict=True
            )
        ],
    )
