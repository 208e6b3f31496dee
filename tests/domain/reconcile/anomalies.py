"""Compare reconciliation's exceptions with the anomalies the shop generator planted."""

from __future__ import annotations

import json

import pandas as pd

from sandbox.generate import Summary

# the generator's anomaly kind -> the exception kind that shows it
KIND = {"duplicate_charge": "duplicate_payment"}


def _ids(found: pd.DataFrame) -> list[set[str]]:
    return [set(json.loads(v)) for v in found["object_ids"]]


def _expected_ids(anomaly: dict[str, str]) -> set[str]:
    ids = {v for k, v in anomaly.items() if k in ("order_id", "charge", "payment", "duplicate")}
    ids |= {t for t in anomaly.get("tracking", "").split(",") if t}
    if "payout" in anomaly:
        ids.add(anomaly["payout"])
    return ids


def matched(found: pd.DataFrame, summary: Summary) -> set[str]:
    """The exception ids that show a planted anomaly; fails on any anomaly not found."""
    hits: set[str] = set()
    for kind, anomalies in summary.anomalies.items():
        rows = found[found["kind"] == KIND.get(kind, kind)]
        for anomaly in anomalies:
            want = _expected_ids(anomaly)
            found_ids = [
                i for i, ids in zip(rows["exception_id"], _ids(rows), strict=True) if want <= ids
            ]
            assert found_ids, f"{kind} not found: {anomaly}"
            hits.update(found_ids)
    return hits


def assert_only_genuine(
    found: pd.DataFrame, frames: dict[str, pd.DataFrame], summary: Summary
) -> None:
    """Every planted anomaly is found; every other exception is a genuine case."""
    rest = found[~found["exception_id"].isin(matched(found, summary))]
    payments = frames["payments"].set_index("payment_id")
    # genuine chargebacks: lost or open Stripe disputes, GoCardless charged back
    chargebacks = rest[rest["kind"] == "chargeback"]
    for ids in _ids(chargebacks):
        (payment,) = [i for i in ids if i in payments.index]
        assert payments.loc[payment, "status"] in ("charged_back", "disputed")
    disputes = frames["disputes"]
    live = disputes[disputes["status"].ne("won")]
    gc_chargebacks = summary.notable.get("gocardless_payment_charged_back", 0)
    assert len(chargebacks) >= len(live) + gc_chargebacks - 1  # one may settle after the clock
    # genuine late failures: every settled late failure the generator counted, and only those
    late = rest[rest["kind"] == "late_failure"]
    assert len(late) >= summary.notable.get("gocardless_payment_failed", 0)
    for ids in _ids(late):
        (payment,) = ids
        assert payments.loc[payment, "status"] == "failed"
    # parcels whose direct debit failed for good
    unpaid = rest[rest["kind"] == "shipped_not_paid"]
    for details in unpaid["details"]:
        assert json.loads(details)["last_payment_status"] in ("failed", "charged_back", "cancelled")
    others = set(rest["kind"]) - {"chargeback", "late_failure", "shipped_not_paid"}
    assert others == set(), rest[rest["kind"].isin(others)]
