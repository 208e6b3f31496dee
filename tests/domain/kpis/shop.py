"""The KPI inputs of a generated shop, built without HTTP or a database.

Reconciliation's :func:`shop_frames` already renders and normalises the facts it reads;
the KPIs also read the subscriptions, normalised here by the sync's own streams (a
GoCardless subscription names its customer through its mandate). The browser test and
``bench/kpi_backfill.py`` read a shop through this.
"""

from __future__ import annotations

import pandas as pd

from domain.kpis import KpiInputs
from domain.sync_streams import Lookups, stream
from sandbox.render import render_gocardless, render_stripe
from sandbox.store import Store
from tests.domain.reconcile.shop_frames import shop_frames


def subscription_frame(store: Store) -> pd.DataFrame:
    """Every Stripe and GoCardless subscription of the store, as the sync loads them."""
    mandates = {
        str(m["id"]): m
        for m in (
            render_gocardless("mandates", o) for o in store.iter_all("gocardless", "mandates")
        )
    }
    parts = []
    for provider in ("stripe", "gocardless"):
        objects = [
            render_stripe(o) if provider == "stripe" else render_gocardless("subscriptions", o)
            for o in store.iter_all(provider, "subscriptions")
        ]
        output = stream(provider, "subscriptions").outputs[0]
        done = output.normalise(objects, [1] * len(objects), Lookups(mandates=mandates))
        assert done.problems.empty, done.problems.head()
        parts.append(done.rows)
    return pd.concat(parts, ignore_index=True)


def shop_inputs(store: Store) -> tuple[KpiInputs, dict[str, pd.DataFrame]]:
    """The KPI inputs of the shop, and the frames they come from (to load a warehouse)."""
    frames = shop_frames(store)
    frames["subscriptions"] = subscription_frame(store)
    return KpiInputs.of(frames), frames
