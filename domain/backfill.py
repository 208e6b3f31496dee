"""What a backfill re-runs for a range of past business dates, and what it reports.

Only flows whose output is *per business date* and that never contact anyone for a past
day can be backfilled; each says how (``deployments/catalog.py``):

- ``range``: one run covers the whole range (``kpis`` computes every day of
  ``date_from .. date_to`` in one vectorised pass);
- ``daily``: one run per date, oldest first, ``as_of=date``, and ``dry_run=True`` when the
  flow has one (``tax_report`` stores the returns and deadlines of that date but only
  *plans* finance's reminders: a backfill never sends).

Not backfillable: ``sync`` (it copies the providers' present state, whatever the date),
``reconcile`` (its register is the present state of every exception: replaying past
dates would move ``last_seen_on`` backwards; run it for one date instead),
``dunning`` and the notices (they write to customers *today*).

Example: 2026-06-28 .. 2026-06-30 with kpis and tax_report plans kpis(2026-06-28 ..
2026-06-30), then tax_report(as_of=2026-06-28, dry_run=True), … (2026-06-30).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

MAX_DAYS = 731  # two years: past that, something is wrong with the dates asked for

Mode = Literal["daily", "range"]


@dataclass(frozen=True)
class Backfillable:
    """A flow a backfill may run: its name, how, and whether it has a ``dry_run``."""

    name: str
    mode: Mode
    has_dry_run: bool = False


@dataclass(frozen=True)
class Step:
    flow: str
    parameters: dict[str, Any]

    @property
    def label(self) -> str:
        if "as_of" in self.parameters:
            return f"{self.flow} {self.parameters['as_of']}"
        return f"{self.flow} {self.parameters['date_from']}..{self.parameters['date_to']}"


def check_range(date_from: date, date_to: date, today: date) -> None:
    """A clear error for a range a backfill must not run."""
    if date_to < date_from:
        raise ValueError(f"backfill: date_to {date_to} is before date_from {date_from}")
    if date_to > today:
        raise ValueError(f"backfill: date_to {date_to} is after today ({today}): not a past date")
    days = (date_to - date_from).days + 1
    if days > MAX_DAYS:
        raise ValueError(f"backfill: {days} days asked for; at most {MAX_DAYS} in one run")


def plan(date_from: date, date_to: date, flows: list[Backfillable]) -> list[Step]:
    """The runs, in order: each flow in the given order, its dates oldest first."""
    steps: list[Step] = []
    for f in flows:
        if f.mode == "range":
            steps.append(Step(f.name, {"date_from": date_from, "date_to": date_to}))
            continue
        day = date_from
        while day <= date_to:
            parameters: dict[str, Any] = {"as_of": day}
            if f.has_dry_run:
                parameters["dry_run"] = True
            steps.append(Step(f.name, parameters))
            day += timedelta(days=1)
    return steps


@dataclass(frozen=True)
class BackfillReport:
    """What one backfill run did: the steps completed, and the flows it could not run."""

    run_id: str
    date_from: str
    date_to: str
    done: list[str]
    skipped: dict[str, str] = field(default_factory=dict)  # flow -> why

    def counts(self) -> dict[str, int]:
        return dict(Counter(label.split(" ", 1)[0] for label in self.done))

    def rows(self) -> list[dict[str, Any]]:
        done = [{"step": label, "status": "completed"} for label in self.done]
        return done + [{"step": f, "status": f"skipped: {why}"} for f, why in self.skipped.items()]

    def text(self) -> str:
        per_flow = ", ".join(f"{f} {n} run(s)" for f, n in self.counts().items()) or "nothing"
        out = f"backfill {self.date_from}..{self.date_to}: {per_flow}"
        if self.skipped:
            out += "; skipped " + ", ".join(f"{f} ({why})" for f, why in self.skipped.items())
        return out

    def markdown(self) -> str:
        lines = [f"# Backfill {self.date_from} .. {self.date_to}", "", self.text(), ""]
        lines += ["| step | status |", "|---|---|"]
        lines += [f"| {row['step']} | {row['status']} |" for row in self.rows()]
        return "\n".join(lines) + "\n"
