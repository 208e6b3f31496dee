"""The ``dunning`` flow: tonight's reminders, retries and escalations, exactly once.

Read the reconciled state → decide each overdue item's stage and actions
(``policies/dunning.yaml``) → record the decisions and queue their e-mails in one
transaction → carry out the provider actions (retries, pauses, cancellations) under
idempotency keys from the same decisions → cancel the e-mails of items a retry just
recovered → send the outbox → settle the e-mail actions → rebuild recovery analytics.

``dry_run=True`` stops after recording: tonight's actions are written as ``planned``
(and shown as a table artifact), nothing is sent and no provider is called. A real run
the same night promotes exactly those rows.

Run by ``echeancier run dunning [--as-of DATE] [--dry-run]`` or by nightly after the
quality gate and reconciliation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from echeancier.settings import load_settings
from flows.runs import recorded_run
from tasks.dunning import (
    decide_dunning,
    execute_dunning_actions,
    load_dunning_policy,
    planned_table,
    rebuild_dunning_recovery,
    record_dunning_plan,
    settle_dunning_emails,
)
from tasks.outbox import deliver_outbox


def utc_now() -> datetime:
    """The run's clock (the one read of the time; tests may point it elsewhere)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class DunningReport:
    """What one dunning run decided and did."""

    run_id: str
    as_of: str
    dry_run: bool
    decided: dict[str, int]
    recorded: dict[str, int]
    executed: dict[str, int] = field(default_factory=dict)
    delivered: dict[str, int] = field(default_factory=dict)
    recovered: int = 0
    settled_emails: int = 0
    recovery_rows: int = 0
    planned: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        return {
            "decided": self.decided,
            "recorded": self.recorded,
            "executed": self.executed,
            "delivered": self.delivered,
            "recovered": self.recovered,
        }

    def text(self) -> str:
        mode = "dry run: nothing sent, no provider called" if self.dry_run else "live"
        lines = [f"dunning {self.as_of} ({mode}), run {self.run_id}"]
        lines.append("  decided:   " + _pairs(self.decided))
        lines.append("  recorded:  " + _pairs(self.recorded))
        if not self.dry_run:
            lines.append("  executed:  " + _pairs(self.executed))
            lines.append("  delivered: " + _pairs(self.delivered))
            lines.append(f"  recovered by retries tonight: {self.recovered}")
        return "\n".join(lines)

    def markdown(self) -> str:
        head = "planned (dry run)" if self.dry_run else "done"
        rows = [f"# Dunning {self.as_of} — {head}", "", "| step | counts |", "|---|---|"]
        for name, value in self.counts().items():
            rendered = _pairs(value) if isinstance(value, dict) else str(value)
            rows.append(f"| {name} | {rendered} |")
        return "\n".join(rows) + "\n"


def _pairs(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "nothing"


@flow(name="dunning")
def dunning(as_of: date | None = None, dry_run: bool = False) -> DunningReport:
    """Dunning for ``as_of`` (default: today in the business time zone)."""
    settings = load_settings()
    started = utc_now()
    as_of = as_of or started.astimezone(ZoneInfo(settings.timezone)).date()
    with recorded_run(settings, "dunning", as_of, started, utc_now) as run:
        policy, rates = load_dunning_policy(settings)
        decided = decide_dunning(settings, policy, rates, as_of, with_failures=not dry_run)
        plan = decided.plan
        recorded = record_dunning_plan(settings, plan, as_of, started, dry_run)
        report = DunningReport(
            run_id=run.run_id,
            as_of=as_of.isoformat(),
            dry_run=dry_run,
            decided=plan.counts(),
            recorded=recorded.as_dict(),
            planned=planned_table(plan),
        )
        if not dry_run:
            report = act(settings, report, as_of, decided.failures)
        publish_dunning_artifacts(report)
        run.done(counts=report.counts())
    get_run_logger().info("%s", report.text())
    return report


def act(
    settings: Any, report: DunningReport, as_of: date, failures: pd.DataFrame | None
) -> DunningReport:
    """The steps that touch customers and providers (skipped by a dry run), then the
    recovery analytics from the ``failures`` the decisions found."""
    executed = execute_dunning_actions(settings, utc_now())
    delivered = deliver_outbox(settings, utc_now(), kinds=("dunning",))
    settled = settle_dunning_emails(settings, utc_now())
    recovery_rows = rebuild_dunning_recovery(settings, as_of, failures)
    return DunningReport(
        **{
            **vars(report),
            "executed": executed["outcomes"],
            "delivered": delivered,
            "recovered": len(executed["recovered"]),
            "settled_emails": settled,
            "recovery_rows": recovery_rows,
        }
    )


def publish_dunning_artifacts(report: DunningReport) -> None:
    """The summary, and tonight's actions as a table (ids and amounts; no address)."""
    create_markdown_artifact(
        key="dunning-summary", markdown=report.markdown(), description="dunning"
    )
    create_table_artifact(
        key="dunning-planned" if report.dry_run else "dunning-actions",
        table=report.planned or [{"action": "none"}],
        description=f"dunning: actions for {report.as_of}"
        + (" (dry run: planned, nothing sent)" if report.dry_run else ""),
    )
