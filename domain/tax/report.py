"""What a ``tax_report`` run did, for the terminal, the Prefect artifacts and the run row.

Example of ``text()``::

    tax-report 2026-10-01: 4 open returns, 2 reminders queued
      OSS 2026-Q3     due 2026-10-31  open     VAT due 1 234.56 EUR  (52 lines, corrections -19.00)
      FR_CA3 2026-09  due 2026-10-24  open     VAT due   456.78 EUR  (61 lines)
      OSS threshold 2026: distance sales 23 456.78 EUR, crossed on 2026-03-14
      3 problems (see the artifact): 2 x customer has no country: VAT not derived, ...
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from domain.tax.amounts import major
from domain.tax.ledger import Ledger
from domain.tax.lines import Problem
from domain.tax.reminders import Reminder
from domain.tax.threshold import ThresholdYear


@dataclass(frozen=True)
class ReturnSummary:
    regime: str
    period: str
    due_on: date
    status: str
    vat_due: int  # euro cents
    corrections: int  # euro cents, included in vat_due
    lines: int
    provisional_fx: bool
    files: tuple[str, ...] = ()


@dataclass
class TaxReport:
    run_id: str
    as_of: date
    dry_run: bool
    returns: list[ReturnSummary]
    filed: list[str]
    threshold: list[ThresholdYear]
    problems: list[Problem]
    reminders: list[tuple[str, str, int]] = field(default_factory=list)
    reminders_new: int = 0
    rows_written: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, Any]:
        return {
            "returns": len(self.returns),
            "lines": sum(r.lines for r in self.returns),
            "problems": len(self.problems),
            "reminders_queued": self.reminders_new,
            **{f"written.{k}": v for k, v in sorted(self.rows_written.items())},
        }

    @property
    def control_totals(self) -> list[dict[str, Any]]:
        return [
            {
                "regime": r.regime,
                "period": r.period,
                "lines": r.lines,
                "vat_due": r.vat_due,
                "corrections": r.corrections,
                "currency": "EUR",
            }
            for r in self.returns
        ]

    def table(self) -> list[dict[str, Any]]:
        """One row per open return, amounts in euros (the Prefect table artifact)."""
        return [
            {
                "return": f"{r.regime} {r.period}",
                "due_on": r.due_on.isoformat(),
                "status": r.status,
                "vat_due_eur": str(major(r.vat_due)),
                "corrections_eur": str(major(r.corrections)),
                "lines": r.lines,
                "fx": "provisional" if r.provisional_fx else "final",
            }
            for r in self.returns
        ]

    def crossed(self) -> list[ThresholdYear]:
        return [t for t in self.threshold if t.destination_vat_required]

    def text(self) -> str:
        verb = "planned" if self.dry_run else "queued"
        lines = [
            f"tax-report {self.as_of}: {len(self.returns)} open returns, "
            f"{self.reminders_new} reminders {verb}" + (" (dry run)" if self.dry_run else "")
        ]
        for r in self.returns:
            extra = f", corrections {_eur(r.corrections)}" if r.corrections else ""
            fx = ", provisional FX" if r.provisional_fx else ""
            lines.append(
                f"  {r.regime + ' ' + r.period:<16} due {r.due_on}  {r.status:<8} "
                f"VAT due {_eur(r.vat_due):>14} EUR  ({r.lines} lines{extra}{fx})"
            )
        if self.filed:
            lines.append(f"  filed, left as filed: {', '.join(self.filed)}")
        for year in self.threshold:
            crossed = f", crossed on {year.crossed_on}" if year.crossed_on else ""
            flag = "  << destination VAT required" if year.destination_vat_required else ""
            lines.append(
                f"  OSS threshold {year.year}: distance sales {_eur(year.distance_sales)} EUR"
                f" of {_eur(year.threshold)}{crossed}{flag}"
            )
        if self.problems:
            tally = Counter(p.reason for p in self.problems)
            shown = ", ".join(f"{n} x {reason}" for reason, n in tally.most_common(3))
            lines.append(f"  {len(self.problems)} problems: {shown}")
        return "\n".join(lines)

    def markdown(self) -> str:
        out = [f"# Tax report {self.as_of}", ""]
        if self.dry_run:
            out += ["*Dry run: reminders planned, not queued.*", ""]
        out += ["| return | due on | status | VAT due (EUR) | corrections | lines | FX |"]
        out += ["|---|---|---|---:|---:|---:|---|"]
        for row in self.table():
            out.append(
                f"| {row['return']} | {row['due_on']} | {row['status']} | "
                f"{row['vat_due_eur']} | {row['corrections_eur']} | {row['lines']} | {row['fx']} |"
            )
        if self.filed:
            out += ["", f"Filed and left as filed: {', '.join(self.filed)}."]
        out += ["", "## OSS threshold (EUR 10 000, art. 59c)", ""]
        for year in self.threshold:
            state = (
                f"crossed on {year.crossed_on}"
                if year.crossed_on
                else "over in the previous year"
                if year.destination_vat_required
                else "not crossed"
            )
            out.append(f"- {year.year}: {major(year.distance_sales)} EUR — {state}")
        if self.reminders:
            out += ["", "## Reminders", ""]
            out += [f"- {r} {p}: {d} days before" for r, p, d in self.reminders]
        if self.problems:
            out += ["", f"## Problems ({len(self.problems)})", ""]
            out += [f"- `{p.object_id}`: {p.reason}" for p in self.problems[:50]]
            if len(self.problems) > 50:
                out.append(f"- … and {len(self.problems) - 50} more")
        return "\n".join(out) + "\n"


def summarise(
    run_id: str,
    as_of: date,
    dry_run: bool,
    ledger: Ledger,
    *,
    threshold: list[ThresholdYear],
    problems: list[Problem],
    files: dict[str, list[str]],
    reminders: list[Reminder],
    reminders_new: int,
    rows_written: dict[str, int],
) -> TaxReport:
    """The report of a run from its ledger and what the tasks did."""
    summaries = []
    for key in ledger.returns:
        deadline = ledger.deadline_of(key)
        summaries.append(
            ReturnSummary(
                regime=key.regime,
                period=key.period,
                due_on=deadline["due_on"],
                status=deadline["status"],
                vat_due=int(deadline["vat_due"]),
                corrections=int(ledger.totals_of(key)["corrections"].sum()),
                lines=int(deadline["lines"]),
                provisional_fx=key in ledger.provisional_fx,
                files=tuple(files.get(f"{key.regime} {key.period}", ())),
            )
        )
    return TaxReport(
        run_id=run_id,
        as_of=as_of,
        dry_run=dry_run,
        returns=summaries,
        filed=[f"{k.regime} {k.period}" for k in ledger.filed],
        threshold=threshold,
        problems=problems,
        reminders=[(r.regime, r.period, r.days_before) for r in reminders],
        reminders_new=reminders_new,
        rows_written=rows_written,
    )


def _eur(cents: int) -> str:
    return f"{major(cents):,.2f}".replace(",", " ")
