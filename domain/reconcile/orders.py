"""Orders against parcels and refunds: what was paid, shipped, sent back and refunded.

An order is the shop's ``order_id``, found on the Stripe invoice and charge, on the
GoCardless payment, on refunds and on the AfterShip trackings. Four rules:

- ``paid_not_shipped``: the shop holds the money of an order paid more than
  ``shipping_promise_days`` ago and no outbound parcel exists. Example (promise 7):
  ``ORD-1`` paid on 1 June, no tracking, as of 30 June -> found; paid on 27 June -> not
  yet (the shop ships 1-3 days after payment).
- ``shipped_not_paid``: an outbound parcel left more than ``payment_grace_days`` ago
  and no payment of its order was collected (never billed, or the debit failed).
  A SEPA debit is collected 4-5 days after the order, hence the grace; a debit still
  pending (a retry) waits until its charge date is ``payment_grace_days`` past.
- ``refund_without_return``: an order whose parcel was delivered was refunded more
  than ``return_deadline_days`` ago and nothing was ever sent back.
- ``return_without_refund``: a return was delivered back to the shop more than
  ``refund_deadline_days`` ago (the legal 14 days) and the order has no refund.
  Returns refunded 2-6 days after arrival, the normal case, raise nothing.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from domain.reconcile.found import COLLECTED, HELD, LIVE_REFUNDS, day, days_before, found
from domain.reconcile.policy import ReconPolicy

PAID_ONCE = COLLECTED | {"charged_back"}


def _ids(frame: pd.DataFrame, key: str, column: str, keys: pd.Index) -> list[list[str]]:
    """For each of ``keys``, the ``column`` values of its rows in ``frame`` (none missing)."""
    present = frame.loc[frame[key].isin(keys) & frame[column].notna(), [key, column]]
    lists = present.groupby(key, sort=True)[column].agg(list).reindex(keys)
    return [list(v) if isinstance(v, list) else [] for v in lists]


def _refunded_orders(payments: pd.DataFrame, refunds: pd.DataFrame) -> pd.DataFrame:
    """Live refunds with their order (the refund's own, or its payment's)."""
    live = refunds[refunds["status"].isin(LIVE_REFUNDS)]
    order_of_payment = payments.dropna(subset=["order_id"]).set_index("payment_id")["order_id"]
    order = live["order_id"].fillna(live["payment_id"].map(order_of_payment))
    return live.assign(order_id=order).dropna(subset=["order_id"])


def paid_not_shipped(
    payments: pd.DataFrame, shipments: pd.DataFrame, as_of: date, policy: ReconPolicy
) -> pd.DataFrame:
    """Orders paid more than ``shipping_promise_days`` ago with no outbound parcel."""
    held = payments[payments["order_id"].notna() & payments["status"].isin(HELD)]
    held = held.assign(_day=day(held["paid_at"].fillna(held["created_at"]), policy.timezone))
    outbound = shipments.loc[shipments["direction"].eq("outbound"), "order_id"].dropna()
    orders = held.groupby("order_id", sort=True).agg(
        paid_on=("_day", "min"),
        amount=("amount", "sum"),
        currency=("currency", "first"),
        provider=("provider", "first"),
    )
    waited = days_before(as_of, orders["paid_on"])
    late = orders[~orders.index.isin(outbound) & (waited > policy.shipping_promise_days)]
    payment_ids = _ids(held, "order_id", "payment_id", late.index)
    invoice_ids = _ids(held, "order_id", "invoice_id", late.index)
    return found(
        "paid_not_shipped",
        late["provider"],
        [[o, *p, *i] for o, p, i in zip(late.index, payment_ids, invoice_ids, strict=True)],
        late["amount"],
        late["currency"],
        [
            {"order_id": o, "paid_on": d.date(), "days_since_payment": int(w)}
            for o, d, w in zip(late.index, late["paid_on"], waited[late.index], strict=True)
        ],
    )


def shipped_not_paid(
    payments: pd.DataFrame,
    invoices: pd.DataFrame,
    shipments: pd.DataFrame,
    as_of: date,
    policy: ReconPolicy,
) -> pd.DataFrame:
    """Outbound parcels shipped more than ``payment_grace_days`` ago, order never collected."""
    out = shipments[shipments["direction"].eq("outbound") & shipments["order_id"].notna()]
    out = out.assign(_day=day(out["shipped_at"].fillna(out["created_at"]), policy.timezone))
    orders = out.groupby("order_id", sort=True).agg(shipped_on=("_day", "min"))
    collected = payments.loc[payments["status"].isin(COLLECTED), "order_id"].dropna()
    # a debit still pending (a retry, say) is on its way until its charge date is past
    due = pd.to_datetime(payments["charge_date"]).fillna(
        day(payments["created_at"], policy.timezone)
    )
    on_its_way = payments["status"].eq("pending") & (
        days_before(as_of, due) <= policy.payment_grace_days
    )
    coming = payments.loc[on_its_way, "order_id"].dropna()
    waited = days_before(as_of, orders["shipped_on"])
    unpaid = orders[
        ~orders.index.isin(collected)
        & ~orders.index.isin(coming)
        & (waited > policy.payment_grace_days)
    ]
    billed = invoices.dropna(subset=["order_id"]).drop_duplicates("order_id", keep="last")
    billed = billed.set_index("order_id").reindex(unpaid.index)
    tried = payments.dropna(subset=["order_id"]).sort_values("created_at")
    tried = tried.drop_duplicates("order_id", keep="last").set_index("order_id")
    tried = tried.reindex(unpaid.index)
    amount = billed["total"].astype("Int64").fillna(tried["amount"].astype("Int64"))
    currency = billed["currency"].astype("string").fillna(tried["currency"].astype("string"))
    provider = tried["provider"].astype("string").fillna(billed["provider"].astype("string"))
    trackings = _ids(out, "order_id", "tracking_id", unpaid.index)
    return found(
        "shipped_not_paid",
        provider.fillna("aftership"),
        [[o, *t] for o, t in zip(unpaid.index, trackings, strict=True)],
        amount,
        currency,
        [
            {
                "order_id": o,
                "shipped_on": d.date(),
                "days_since_shipping": int(w),
                "invoice_id": i,
                "last_payment_id": p,
                "last_payment_status": s,
            }
            for o, d, w, i, p, s in zip(
                unpaid.index,
                unpaid["shipped_on"],
                waited[unpaid.index],
                billed["invoice_id"],
                tried["payment_id"],
                tried["status"],
                strict=True,
            )
        ],
    )


def refund_without_return(
    payments: pd.DataFrame,
    refunds: pd.DataFrame,
    shipments: pd.DataFrame,
    as_of: date,
    policy: ReconPolicy,
) -> pd.DataFrame:
    """Refunded orders whose parcel was delivered and never sent back, past the deadline."""
    live = _refunded_orders(payments, refunds)
    live = live.assign(_day=day(live["created_at"], policy.timezone))
    orders = live.groupby("order_id", sort=True).agg(
        refunded_on=("_day", "min"),
        amount=("amount", "sum"),
        currency=("currency", "first"),
        provider=("provider", "first"),
    )
    delivered = shipments[
        shipments["direction"].eq("outbound") & shipments["delivered_at"].notna()
    ].dropna(subset=["order_id"])
    returned = shipments.loc[shipments["direction"].eq("return"), "order_id"].dropna()
    waited = days_before(as_of, orders["refunded_on"])
    hit = orders[
        orders.index.isin(delivered["order_id"])
        & ~orders.index.isin(returned)
        & (waited > policy.return_deadline_days)
    ]
    refund_ids = _ids(live, "order_id", "refund_id", hit.index)
    payment_ids = _ids(live, "order_id", "payment_id", hit.index)
    trackings = _ids(delivered, "order_id", "tracking_id", hit.index)
    return found(
        "refund_without_return",
        hit["provider"],
        [
            [o, *r, *p, *t]
            for o, r, p, t in zip(hit.index, refund_ids, payment_ids, trackings, strict=True)
        ],
        hit["amount"],
        hit["currency"],
        [
            {"order_id": o, "refunded_on": d.date(), "days_since_refund": int(w)}
            for o, d, w in zip(hit.index, hit["refunded_on"], waited[hit.index], strict=True)
        ],
    )


def return_without_refund(
    payments: pd.DataFrame,
    refunds: pd.DataFrame,
    shipments: pd.DataFrame,
    as_of: date,
    policy: ReconPolicy,
) -> pd.DataFrame:
    """Returns delivered back more than ``refund_deadline_days`` ago, order not refunded."""
    back = shipments[
        shipments["direction"].eq("return")
        & shipments["delivered_at"].notna()
        & shipments["order_id"].notna()
    ]
    back = back.assign(_day=day(back["delivered_at"], policy.timezone))
    orders = back.groupby("order_id", sort=True).agg(returned_on=("_day", "max"))
    # a payment charged back since was paid too: the customer disputed instead of waiting
    paid = payments[payments["order_id"].notna() & payments["status"].isin(PAID_ONCE)]
    refunded = set(_refunded_orders(payments, refunds)["order_id"])
    refunded |= set(paid.loc[paid["amount_refunded"].fillna(0).gt(0), "order_id"])
    waited = days_before(as_of, orders["returned_on"])
    hit = orders[
        orders.index.isin(paid["order_id"])
        & ~orders.index.isin(list(refunded))
        & (waited > policy.refund_deadline_days)
    ]
    money = paid.groupby("order_id").agg(
        amount=("amount", "sum"), currency=("currency", "first"), provider=("provider", "first")
    )
    money = money.reindex(hit.index)
    payment_ids = _ids(paid, "order_id", "payment_id", hit.index)
    parcels = shipments.dropna(subset=["order_id"])
    trackings = _ids(parcels, "order_id", "tracking_id", hit.index)
    return found(
        "return_without_refund",
        money["provider"],
        [[o, *p, *t] for o, p, t in zip(hit.index, payment_ids, trackings, strict=True)],
        money["amount"],
        money["currency"],
        [
            {"order_id": o, "returned_on": d.date(), "days_since_return": int(w)}
            for o, d, w in zip(hit.index, hit["returned_on"], waited[hit.index], strict=True)
        ],
    )
