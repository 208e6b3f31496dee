"""What one reconciliation night tells the nightly chain and the operators.

Example: as of 2026-06-30 on the small shop, ``found=29`` exceptions of which
``new=29`` (first night), ``by_kind=[{"kind": "paid_not_shipped", "new": 3, …}, …]``,
``control_totals=[{"object": "payments", "provider": "stripe", "currency": "EUR",
"matched": 1400, …}, …]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from domain.reconcile.totals import ageing, control_totals, exception_tallies


@dataclass(frozen=True)
class ReconReport:
    """Counts of tonight's register, by kind, control totals and ageing."""

    run_id: str
    as_of: str
    found: int
    new: int
    still_open: int
    resolved: int
    accepted: int
    by_kind: list[dict[str, Any]] = field(default_factory=list)
    control_totals: list[dict[str, Any]] = field(default_factory=list)
    ageing: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def counts(self) -> dict[str, Any]:
        """The run's counts as ``pipeline_runs.counts`` stores them."""
        return {
            "found": self.found,
            "new": self.new,
            "still_open": self.still_open,
            "resolved": self.resolved,
            "accepted": self.accepted,
            "by_kind": {row["kind"]: row for row in self.by_kind},
            "ageing": self.ageing,
        }


def build_report(
    run_id: str,
    as_of: date,
    found: pd.DataFrame,
    register: pd.DataFrame,
    payments: pd.DataFrame,
    payouts: pd.DataFrame,
    seconds: float = 0.0,
) -> ReconReport:
    """The night's report from tonight's exceptions and the updated register."""
    by_kind = exception_tallies(register, as_of)
    return ReconReport(
        run_id=run_id,
        as_of=as_of.isoformat(),
        found=len(found),
        new=sum(row["new"] for row in by_kind),
        still_open=sum(row["still_open"] for row in by_kind),
        resolved=sum(row["resolved"] for row in by_kind),
        accepted=sum(row["accepted"] for row in by_kind),
        by_kind=by_kind,
        control_totals=control_totals(payments, payouts, found),
        ageing=ageing(register),
        seconds=round(seconds, 3),
    )


def markdown(report: ReconReport) -> str:
    """A short summary for the Prefect UI (ids and counts only, no personal data)."""
    lines = [
        f"# Reconciliation {report.as_of}",
        "",
        f"{report.found} exceptions tonight: {report.new} new, {report.still_open} still open, "
        f"{report.resolved} resolved tonight, {report.accepted} accepted.",
        "",
        "| kind | new | still open | resolved | accepted | open amount |",
        "|---|---|---|---|---|---|",
    ]
    for row in report.by_kind:
        lines.append(
            f"| {row['kind']} | {row['new']} | {row['still_open']} | {row['resolved']} "
            f"| {row['accepted']} | {row['open_amount']} |"
        )
    lines += ["", "Open exceptions by age (days): "]
    lines.append(", ".join(f"{k}: {v}" for k, v in report.ageing.items()))
    return "\n".join(lines) + "\n"
