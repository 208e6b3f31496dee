"""The warehouse frames of a generated shop, built without HTTP: store -> normalisers.

What the nightly sync would load, minus the transport: every object of the sandbox
store is rendered in its wire shape, normalised by the sync's own stream table
(``domain.sync_streams``), and the payment links resolved as the sync resolves them.
Reconciliation tests and the timing of the medium shop read these frames.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pandas as pd

from domain.normalise import resolve_payment_links
from domain.sync_streams import STREAMS, Lookups
from sandbox.render import render_aftership, render_gocardless, render_stripe
from sandbox.store import Store

TABLES = (
    "payments",
    "invoices",
    "invoice_payments",
    "refunds",
    "disputes",
    "payouts",
    "payout_lines",
    "shipments",
    "mandates",
)
_RENDER = {
    "stripe": lambda resource, obj: render_stripe(obj),
    "gocardless": render_gocardless,
    "aftership": lambda resource, obj: render_aftership(obj),
}


def _objects(store: Store, provider: str, resource: str) -> Iterator[dict[str, Any]]:
    render = _RENDER[provider]
    return (render(resource, obj) for obj in store.iter_all(provider, resource))


def shop_frames(store: Store) -> dict[str, pd.DataFrame]:
    """``{table: frame}`` for the tables reconciliation reads, as a full sync leaves them."""
    parts: dict[str, list[pd.DataFrame]] = defaultdict(list)
    for provider, streams in STREAMS.items():
        for stream in streams:
            outputs = [o for o in stream.outputs if o.table in TABLES]
            if not outputs and stream.lines is None:
                continue
            objects = list(_objects(store, provider, stream.resource))
            for output in outputs:
                done = output.normalise(objects, [1] * len(objects), Lookups())
                assert done.problems.empty, done.problems.head()
                parts[output.table].append(done.rows)
            if stream.lines is not None:
                parts["payout_lines"].append(_lines(store, provider, stream, objects))
    frames = {t: pd.concat(parts[t], ignore_index=True) for t in TABLES}
    changed = resolve_payment_links(
        frames["payments"],
        invoice_payments=frames["invoice_payments"],
        invoices=frames["invoices"],
        payout_lines=frames["payout_lines"],
        disputes=frames["disputes"],
        mandates=frames["mandates"],
    )
    payments = frames["payments"].copy()
    payments.loc[changed.index] = changed
    frames["payments"] = payments
    return frames


def _lines(store: Store, provider: str, stream: Any, payouts: list[dict[str, Any]]) -> pd.DataFrame:
    resource = "balance_transactions" if provider == "stripe" else "payout_items"
    groups: dict[str, list[dict[str, Any]]] = {str(p["id"]): [] for p in payouts}
    for payout, line in store.iter_grouped(provider, resource, "payout"):
        if provider == "stripe":
            line = render_stripe(line)
        groups.setdefault(payout, []).append(line)
    currencies = {str(p["id"]): str(p["currency"]).upper() for p in payouts}
    done = stream.lines.normalise(groups, dict.fromkeys(groups, 1), currencies)
    assert done.problems.empty, done.problems.head()
    return done.rows
