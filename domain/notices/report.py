"""What a notices night tells operators: tonight's notices by kind, as text and tables.

No personal data: ids and keys only (the outbox context and the recipients' addresses
never reach an artifact). Example ``text()`` of a first night on the test shop::

    renewal-notices 2026-06-30: 5 notices queued (0 already there, 0 withheld),
    1 compliance exception open
      tacit_renewal (customer)    1 new
      ...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from domain.notice import Notice
from domain.notices.plan import NoticePlan

TONIGHT_COLUMNS = (
    "kind",
    "stage",
    "audience",
    "dedupe_key",
    "customer_id",
    "subscription_id",
    "tracking_id",
    "planned_for",
    "status",
)


@dataclass(frozen=True)
class NoticeReport:
    """One night of one notices flow."""

    flow: str
    run_id: str
    as_of: str
    dry_run: bool
    by_kind: list[dict[str, Any]] = field(default_factory=list)
    tonight: list[dict[str, Any]] = field(default_factory=list)
    withdrawn: dict[str, int] = field(default_factory=dict)
    exceptions: dict[str, int] = field(default_factory=dict)
    delivery: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def new(self) -> int:
        return sum(row["new"] for row in self.by_kind)

    @property
    def already(self) -> int:
        return sum(row["already"] for row in self.by_kind)

    @property
    def held(self) -> int:
        return sum(row["held"] for row in self.by_kind)

    def counts(self) -> dict[str, Any]:
        """The run's counts as ``pipeline_runs.counts`` stores them."""
        return {
            "new": self.new,
            "already": self.already,
            "held": self.held,
            "by_kind": {row["kind"] + "/" + row["audience"]: row for row in self.by_kind},
            "withdrawn": self.withdrawn,
            "exceptions": self.exceptions,
            "delivery": self.delivery,
        }

    def text(self) -> str:
        """The terminal summary (``echeancier run renewal-notices`` prints it)."""
        verb = "planned (dry run)" if self.dry_run else "queued"
        lines = [
            f"{self.flow} {self.as_of}: {self.new} notices {verb} ({self.already} already "
            f"there, {self.held} withheld: quarantined data)",
        ]
        for row in self.by_kind:
            lines.append(
                f"  {row['kind']:<20} {row['audience']:<9} {row['new']:>4} new"
                f"  {row['already']:>4} already  {row['held']:>3} withheld"
            )
        if self.withdrawn:
            gone = ", ".join(f"{n} ({reason})" for reason, n in sorted(self.withdrawn.items()))
            lines.append(f"  withdrawn from the outbox: {gone}")
        if self.exceptions:
            e = self.exceptions
            lines.append(
                f"  notice_exceptions: {e.get('opened', 0)} opened, "
                f"{e.get('still_open', 0)} still open, {e.get('closed', 0)} closed"
            )
        if self.delivery:
            sent = ", ".join(f"{k} {v}" for k, v in sorted(self.delivery.items()))
            lines.append(f"  sender: {sent}")
        return "\n".join(lines)


def build_report(
    *,
    flow: str,
    run_id: str,
    as_of: date,
    dry_run: bool,
    kinds: Sequence[str],
    plan: NoticePlan,
    before: Mapping[str, str],
    withdrawn: Mapping[str, int],
    delivery: Mapping[str, int] | None = None,
    seconds: float = 0.0,
) -> NoticeReport:
    """The report from the plan and the outbox statuses of its keys *before* tonight's
    enqueue (``before``: dedupe key -> status): a key absent there, or planned by a dry
    run and now queued, is tonight's."""
    tally: dict[tuple[str, str], dict[str, Any]] = {}
    for kind in kinds:
        for audience in AUDIENCES.get(kind, ("customer",)):
            tally[(kind, audience)] = _row(kind, audience)
    tonight = []
    for notice in plan.notices:
        row = tally.setdefault((notice.kind, notice.audience), _row(notice.kind, notice.audience))
        status = before.get(notice.dedupe_key)
        if status is None or (status == "planned" and not dry_run):
            row["new"] += 1
            tonight.append(_tonight(notice, "planned" if dry_run else "queued"))
        else:
            row["already"] += 1
    for notice in plan.held:
        tally.setdefault((notice.kind, notice.audience), _row(notice.kind, notice.audience))[
            "held"
        ] += 1
    return NoticeReport(
        flow=flow,
        run_id=run_id,
        as_of=as_of.isoformat(),
        dry_run=dry_run,
        by_kind=[tally[k] for k in sorted(tally)],
        tonight=sorted(tonight, key=lambda r: (r["kind"], r["dedupe_key"])),
        withdrawn=dict(withdrawn),
        exceptions=dict(plan.register_tally),
        delivery=dict(delivery or {}),
        seconds=round(seconds, 3),
    )


#: Who each kind writes to, when not only the customer (finance: a missed duty).
AUDIENCES = {"tacit_renewal": ("customer", "finance"), "refund_overdue": ("finance",)}


def _row(kind: str, audience: str) -> dict[str, Any]:
    return {"kind": kind, "audience": audience, "new": 0, "already": 0, "held": 0}


def _tonight(notice: Notice, status: str) -> dict[str, Any]:
    return {
        "kind": notice.kind,
        "stage": notice.stage or "",
        "audience": notice.audience,
        "dedupe_key": notice.dedupe_key,
        "customer_id": notice.customer_id or "",
        "subscription_id": notice.subscription_id or "",
        "tracking_id": notice.tracking_id or "",
        "planned_for": notice.planned_for.isoformat(),
        "status": status,
    }


def markdown(report: NoticeReport) -> str:
    """The summary artifact: counts by kind, withdrawals, exceptions, the sender's pass."""
    verb = "planned (dry run: nothing sent)" if report.dry_run else "queued"
    lines = [
        f"# {report.flow} — {report.as_of}",
        "",
        f"**{report.new}** notices {verb}; {report.already} decided on an earlier night "
        f"(already in the outbox); {report.held} withheld because they rest on "
        f"quarantined data. Run `{report.run_id}`.",
        "",
        "| kind | audience | new tonight | already | withheld |",
        "|---|---|---|---|---|",
    ]
    for row in report.by_kind:
        lines.append(
            f"| {row['kind']} | {row['audience']} | {row['new']} | {row['already']} "
            f"| {row['held']} |"
        )
    if report.withdrawn:
        lines += ["", "Withdrawn from the outbox before sending:"]
        lines += [f"- {reason}: {n}" for reason, n in sorted(report.withdrawn.items())]
    if report.exceptions:
        e = report.exceptions
        lines += [
            "",
            f"`notice_exceptions` (finance): {e.get('opened', 0)} opened, "
            f"{e.get('still_open', 0)} still open, {e.get('closed', 0)} closed.",
        ]
    if report.delivery:
        lines += ["", "Sender: " + ", ".join(f"{k} {v}" for k, v in report.delivery.items())]
    return "\n".join(lines) + "\n"
