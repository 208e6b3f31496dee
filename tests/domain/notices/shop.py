"""The notices' frames of a generated shop, built without HTTP: store -> normalisers.

What the nightly sync would leave in the warehouse for the notices to read, minus the
transport (as ``tests/domain/reconcile/shop_frames.py`` does for reconciliation): the
flow tests compare what the flows queued with the domain's plan on these frames.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

import sandbox.server  # noqa: F401  (registers the providers the store lists)
from domain.normalise import gocardless
from domain.normalise import stripe_customers as sc
from domain.notices import plan as p
from sandbox.render import render_gocardless, render_stripe
from sandbox.store import Store
from tests.domain.reconcile.shop_frames import shop_frames


def _stripe(store: Store, resource: str) -> list[dict[str, Any]]:
    return [render_stripe(o) for o in store.iter_all("stripe", resource)]


def _gocardless(store: Store, resource: str) -> list[dict[str, Any]]:
    return [render_gocardless(resource, o) for o in store.iter_all("gocardless", resource)]


def _objects(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """The columns as the flow reads them: object dtype, None for missing, Python values."""
    out = frame.loc[:, list(columns)].astype(object)
    return out.where(out.notna(), None)


def _plain_times(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = [None if pd.isna(v) else v.to_pydatetime() for v in out[column]]
    return out


def renewal_frames(store: Store) -> p.RenewalFrames:
    methods = {m["id"]: m for m in _stripe(store, "payment_methods")}
    mandates = {m["id"]: m for m in _gocardless(store, "mandates")}
    subs = pd.concat(
        [
            sc.normalise_subscriptions(
                _stripe(store, "subscriptions"), 1, payment_methods=methods
            ).rows,
            gocardless.normalise_subscriptions(
                _gocardless(store, "subscriptions"), 1, mandates=mandates
            ).rows,
        ],
        ignore_index=True,
    )
    return p.RenewalFrames(
        subscriptions=_objects(_plain_times(subs), p.SUBSCRIPTION_COLUMNS),
        customers=customers(store),
        mandates=_objects(
            gocardless.normalise_mandates(list(mandates.values()), 1).rows, p.MANDATE_COLUMNS
        ),
    )


def customers(store: Store) -> pd.DataFrame:
    rows = pd.concat(
        [
            sc.normalise_customers(_stripe(store, "customers"), 1).rows,
            gocardless.normalise_customers(_gocardless(store, "customers"), 1).rows,
        ],
        ignore_index=True,
    )
    return _objects(_plain_times(rows), p.CUSTOMER_COLUMNS)


def shipment_frames(store: Store) -> p.ShipmentFrames:
    """Parcels, payments (links resolved as the sync resolves them), invoices, refunds."""
    facts = shop_frames(store)
    payments, invoices = facts["payments"], facts["invoices"]
    return p.ShipmentFrames(
        shipments=_objects(_plain_times(facts["shipments"]), p.SHIPMENT_COLUMNS),
        customers=customers(store),
        payments=_objects(payments[payments["order_id"].notna()], p.PAYMENT_COLUMNS),
        invoices=_objects(invoices[invoices["order_id"].notna()], p.INVOICE_COLUMNS),
        refunds=_objects(facts["refunds"], p.REFUND_COLUMNS),
    )
