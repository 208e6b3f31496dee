"""Control totals and tallies of a reconciliation night, for artifacts and ``pipeline_runs``.

- :func:`control_totals`: per provider and currency, the collected payments (and the
  payouts) that no exception names (*matched*) against those some exception names
  (*unmatched*), in count and minor units. Example: 120 Stripe EUR charges for
  5 988.00 EUR of which ``ch_9`` (49.00) is in a ``duplicate_payment`` -> matched
  119 / 5 939.00, unmatched 1 / 49.00.
- :func:`exception_tallies`: per kind, how many exceptions are new tonight, still
  open, resolved tonight and accepted, and the amount still open.
- :func:`ageing`: open exceptions per ageing bucket.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pandas as pd

from domain.reconcile.found import COLLECTED
from domain.reconcile.register import BUCKETS, OLDEST


def _named(found: pd.DataFrame) -> set[str]:
    ids: set[str] = set()
    for value in found["object_ids"]:
        ids.update(json.loads(value))
    return ids


def control_totals(
    payments: pd.DataFrame, payouts: pd.DataFrame, found: pd.DataFrame
) -> list[dict[str, Any]]:
    """Matched and unmatched counts and amounts per object, provider and currency."""
    named = _named(found)
    collected = payments[payments["status"].isin(COLLECTED)]
    parts = [
        collected.assign(object="payments", _id=collected["payment_id"]),
        payouts.assign(object="payouts", _id=payouts["payout_id"]),
    ]
    rows: list[dict[str, Any]] = []
    for part in parts:
        if part.empty:
            continue
        part = part.assign(_unmatched=part["_id"].isin(named))
        for (obj, provider, currency), group in part.groupby(
            ["object", "provider", "currency"], sort=True
        ):
            un = group[group["_unmatched"]]
            ok = group[~group["_unmatched"]]
            rows.append(
                {
                    "object": obj,
                    "provider": provider,
                    "currency": currency,
                    "matched": len(ok),
                    "matched_amount": int(ok["amount"].sum()),
                    "unmatched": len(un),
                    "unmatched_amount": int(un["amount"].sum()),
                }
            )
    return rows


def exception_tallies(register: pd.DataFrame, as_of: date) -> list[dict[str, Any]]:
    """Per kind: new tonight, still open, resolved tonight, accepted, open amount."""
    rows = []
    status = register["status"]
    first = register["first_seen_on"]
    for kind, group in register.groupby("kind", sort=True):
        st, fs = status[group.index], first[group.index]
        opened = st.eq("open")
        rows.append(
            {
                "kind": kind,
                "new": int((opened & fs.eq(as_of)).sum()),
                "still_open": int((opened & fs.ne(as_of)).sum()),
                "resolved": int((st.eq("resolved") & group["resolved_on"].eq(as_of)).sum()),
                "accepted": int(st.eq("accepted").sum()),
                "open_amount": int(group.loc[opened, "amount"].fillna(0).abs().sum()),
            }
        )
    return rows


def ageing(register: pd.DataFrame) -> dict[str, int]:
    """Open exceptions per ageing bucket, every bucket present."""
    opened = register[register["status"].eq("open")]
    counts = opened["ageing_bucket"].value_counts()
    return {name: int(counts.get(name, 0)) for name in [*(n for _, n in BUCKETS), OLDEST]}
