"""The nightly summary as text and tables: what operators read in the Prefect UI and
what ``echeancier run nightly`` / ``make demo`` print.

Pure formatting of a sync report (no I/O). Example: a first night on the small shop reads
``stripe/payments  full  1 521 pulled, 1 521 inserted`` and a second night with no change
``0 inserted, 0 updated``: the proof that a re-run writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from domain.quality import GateResult
from domain.reconcile import ReconReport
from domain.sync_plan import SyncReport


@dataclass(frozen=True)
class NightlyReport:
    """What one nightly chain did: the sync, the quality gate, the reconciliation."""

    sync: SyncReport
    gate: GateResult
    reconcile: ReconReport
    # The flows launched after the gate (dunning, notices, tax, KPIs), by flow name:
    # their own reports (each has ``text()``), in the order they ran.
    downstream: dict[str, Any] = field(default_factory=dict)


STREAM_COLUMNS = ("pulled", "inserted", "updated", "unchanged", "stale", "quarantined")


def stream_rows(report: SyncReport) -> list[dict[str, Any]]:
    """One row per stream, for a table artifact (plain JSON values, sorted by stream)."""
    rows = []
    for name, tally in sorted(report.streams.items()):
        provider = name.split("/", 1)[0]
        counts = asdict(tally)
        rows.append(
            {
                "stream": name,
                "mode": report.modes.get(provider, ""),
                **{column: counts[column] for column in STREAM_COLUMNS},
            }
        )
    return rows


def control_rows(report: SyncReport) -> list[dict[str, Any]]:
    """One row per control total: the provider's side against the warehouse's."""
    return [
        {"check": name, **_plain(values)} for name, values in sorted(report.control_totals.items())
    ]


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: (v if isinstance(v, str | int | float | bool) or v is None else str(v))
        for k, v in values.items()
    }


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "_nothing_\n"
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def markdown(report: SyncReport, *, flow: str = "nightly") -> str:
    """The summary artifact: modes, rows per stream, cursors, control totals."""
    modes = ", ".join(f"{p}: {m}" for p, m in sorted(report.modes.items()))
    parts = [
        f"# {flow} — business date {report.as_of}\n",
        f"Sync modes: {modes}. Rows written: **{report.written}** "
        f"in {report.seconds:.1f} s (run `{report.run_id}`).\n",
        "## Rows per stream\n",
        _table(stream_rows(report)),
        "## Cursors\n",
        _table([{"stream": k, **_plain(v)} for k, v in sorted(report.cursors.items())]),
        "## Control totals (provider vs warehouse)\n",
        _table(control_rows(report)),
    ]
    return "\n".join(parts)


def text(report: SyncReport) -> str:
    """The same summary for a terminal: aligned columns, no markdown."""
    rows = stream_rows(report)
    modes = ", ".join(f"{p} {m}" for p, m in sorted(report.modes.items()))
    if not rows:
        return f"sync ({modes}): nothing changed at the providers since the last run"
    header = f"{'stream':<32}{'mode':<13}" + "".join(f"{c:>12}" for c in STREAM_COLUMNS)
    lines = [f"sync ({modes}): {report.written:,} rows written in {report.seconds:.1f} s", header]
    for row in rows:
        lines.append(
            f"{row['stream']:<32}{row['mode']:<13}"
            + "".join(f"{row[c]:>12,}" for c in STREAM_COLUMNS)
        )
    checked = [r for r in control_rows(report) if "matches" in r]
    failing = [r["check"] for r in checked if r["matches"] is not True]
    if checked:
        lines.append(
            f"control totals after the full listing: {len(checked) - len(failing)} of "
            f"{len(checked)} streams agree with the provider"
            + ("" if not failing else " — differing: " + ", ".join(failing))
        )
    return "\n".join(lines)


def gate_text(gate: GateResult) -> str:
    """One line for the gate, plus the quarantined rows per table when there are any."""
    lines = [f"quality gate: {gate.message} ({len(gate.tables)} tables, {gate.seconds:.1f} s)"]
    for table, keys in sorted(gate.quarantined.items()):
        lines.append(f"  quarantined in {table}: {len(keys)}")
    return "\n".join(lines)


def recon_text(report: ReconReport) -> str:
    """The register after tonight: totals, then open exceptions by kind."""
    lines = [
        f"reconciliation: {report.found} exceptions found — {report.new} new, "
        f"{report.still_open} still open, {report.resolved} resolved, "
        f"{report.accepted} accepted ({report.seconds:.1f} s)"
    ]
    for row in sorted(report.by_kind, key=lambda r: str(r.get("kind"))):
        details = ", ".join(
            f"{k.replace('_', ' ')} {v / 100:,.2f}" if k.endswith("amount") else f"{k} {v}"
            for k, v in row.items()
            if k != "kind"
        )
        lines.append(f"  {row.get('kind')}: {details}")
    return "\n".join(lines)


def _own_text(result: object) -> str:
    own_text = getattr(result, "text", None)
    return str(own_text()) if callable(own_text) else str(result)


def nightly_text(report: NightlyReport) -> str:
    parts = [text(report.sync), gate_text(report.gate), recon_text(report.reconcile)]
    parts += [_own_text(result) for result in report.downstream.values()]
    return "\n\n".join(parts)


def nightly_markdown(report: NightlyReport) -> str:
    """The nightly artifact: the sync's summary, then the gate and the register."""
    return "\n".join(
        [
            markdown(report.sync, flow="nightly"),
            "## Quality gate\n",
            gate_text(report.gate).replace("\n  ", "\n- ") + "\n",
            "## Reconciliation\n",
            recon_text(report.reconcile).replace("\n  ", "\n- ") + "\n",
            *(
                f"## {name}\n\n```\n{_own_text(result)}\n```\n"
                for name, result in report.downstream.items()
            ),
        ]
    )


def describe(result: object) -> str:
    """The terminal summary of whatever a flow returned."""
    if isinstance(result, NightlyReport):
        return nightly_text(result)
    if isinstance(result, ReconReport):
        return recon_text(result)
    if isinstance(result, SyncReport):
        return text(result)
    return _own_text(result)  # the acting flows' reports say themselves what they did
