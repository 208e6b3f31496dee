"""The data quality gate's judgement, as data: which rows to quarantine, whether to stop.

The suites (``expectations/``) say what is expected; GX says which rows broke what;
this module turns that into a verdict. A row-level failure quarantines the row with
the expectation as its reason and the gate still passes; a table-level failure fails
the gate, and the flow stops before anything acts on the data. Example: of 320
payments, one in ``ZZZ`` gives the problem row ``("gocardless", "payments", "PM01…",
"payments.currency: expect_column_values_to_be_in_set (ISO 4217)")`` and a passing
gate; a repeated ``payment_id`` gives a failing gate whose message names
``payments.payment_id: expect_column_values_to_be_unique``.

Quarantined rows stay in their tables (the sync owns them); later steps skip the keys
in ``GateResult.quarantined`` (tonight) or the open ``quarantine`` rows whose
``object_type`` is the table's name (any night). Emails and names are never read for
validation, and ``masked_payload`` drops them from what the quarantine keeps.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd

from expectations.spec import WHOLE_SUFFIX, Check, TableSuite

PII_COLUMNS = frozenset({"email", "name"})
OBJECT_ID_LENGTH = 64  # quarantine.object_id
PROBLEM_COLUMNS = ("provider", "object_type", "object_id", "reason")


class DataQualityError(RuntimeError):
    """The gate failed: its message names each table and expectation that failed."""


@dataclass(frozen=True)
class Outcome:
    """What GX said about one check of one table (row positions, not values: no PII)."""

    table: str
    check: Check
    success: bool
    unexpected_rows: tuple[int, ...] = ()
    unexpected_count: int = 0
    element_count: int = 0
    observed: str | None = None  # for table checks without rows (row count)
    error: str | None = None


@dataclass
class TableReport:
    table: str
    rows: int
    row_failures: dict[str, int] = field(default_factory=dict)  # reason -> rows
    table_failures: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)  # object ids


@dataclass
class GateResult:
    """The gate's verdict: ``passed`` is False as soon as one table-level check failed."""

    passed: bool
    tables: dict[str, TableReport]
    seconds: float = 0.0
    docs: str | None = None

    @property
    def failures(self) -> list[str]:
        return [f for report in self.tables.values() for f in report.table_failures]

    @property
    def quarantined(self) -> dict[str, frozenset[str]]:
        """Per table, the keys (``object_id``) later steps must skip tonight."""
        return {t: frozenset(r.quarantined) for t, r in self.tables.items() if r.quarantined}

    @property
    def message(self) -> str:
        if self.passed:
            rows = sum(len(r.quarantined) for r in self.tables.values())
            return f"data quality gate passed: {rows} rows quarantined"
        return "data quality gate failed: " + "; ".join(self.failures)


# -- the batch frames ---------------------------------------------------------------------


def derive(
    frames: Mapping[str, pd.DataFrame], suites: Iterable[TableSuite]
) -> dict[str, pd.DataFrame]:
    """Add the columns GX cannot compute: ``<money>__whole`` and ``<ref>__known``.

    A reference is known when it is empty or found among the parent table's keys (an
    empty parent frame knows nothing). Inputs are not mutated.
    """
    out: dict[str, pd.DataFrame] = {}
    for suite in suites:
        frame = frames[suite.table]
        added = {f"{c}{WHOLE_SUFFIX}": whole(frame[c]) for c in suite.money}
        for link in suite.links:
            parent = frames.get(link.parent)
            keys = parent[link.parent_key] if parent is not None else pd.Series([], dtype=str)
            refs = frame[link.column]
            added[link.flag] = refs.isna() | refs.isin(keys.dropna())
        out[suite.table] = frame.assign(**added)
    return out


def whole(values: pd.Series) -> pd.Series:
    """True where the value is empty or an integral number (``12.0`` yes, ``12.5`` no)."""
    numbers = pd.to_numeric(values, errors="coerce")
    return values.isna() | (numbers.notna() & (numbers % 1 == 0))


def object_ids(frame: pd.DataFrame, key: Sequence[str]) -> pd.Series:
    """The quarantine's ``object_id``: the key, parts joined by ``/``, at most 64 chars."""
    joined = frame[list(key)].astype("string").fillna("").agg("/".join, axis=1)
    return joined.map(_fit)


def _fit(value: str) -> str:
    if len(value) <= OBJECT_ID_LENGTH:
        return value
    digest = hashlib.sha1(value.encode()).hexdigest()[:12]
    return f"{value[: OBJECT_ID_LENGTH - 13]}~{digest}"


# -- the verdict ----------------------------------------------------------------------------


def judge(
    suites: Mapping[str, TableSuite],
    frames: Mapping[str, pd.DataFrame],
    outcomes: Iterable[Outcome],
) -> tuple[GateResult, pd.DataFrame]:
    """The gate result and the problem rows (``provider, object_type, object_id, reason``,
    one row per quarantined object, reasons joined by ``; ``)."""
    reports = {name: TableReport(name, len(frames[name])) for name in frames}
    failing: dict[str, dict[int, list[str]]] = {name: {} for name in frames}
    for outcome in outcomes:
        suite, report = suites[outcome.table], reports[outcome.table]
        reason = suite.reason(outcome.check)
        if outcome.error is not None:
            report.table_failures.append(f"{reason}: could not run ({outcome.error})")
        elif outcome.success:
            continue
        elif outcome.check.level == "table":
            shown = (
                f"{outcome.unexpected_count} of {outcome.element_count} rows unexpected"
                if outcome.unexpected_count
                else f"observed {outcome.observed}"
            )
            report.table_failures.append(f"{reason}: {shown}")
        else:
            report.row_failures[reason] = len(outcome.unexpected_rows)
            for position in outcome.unexpected_rows:
                failing[outcome.table].setdefault(position, []).append(reason)
    problems = [_problems(suites[t], frames[t], rows) for t, rows in failing.items() if rows]
    frame = (
        pd.concat(problems, ignore_index=True)
        if problems
        else pd.DataFrame(columns=list(PROBLEM_COLUMNS), dtype="string")
    )
    for name, ids in frame.groupby("object_type")["object_id"]:
        reports[str(name)].quarantined = sorted(ids)
    passed = not any(r.table_failures for r in reports.values())
    return GateResult(passed, reports), frame


def _problems(
    suite: TableSuite, frame: pd.DataFrame, rows: Mapping[int, list[str]]
) -> pd.DataFrame:
    positions = sorted(rows)
    picked = frame.iloc[positions]
    return pd.DataFrame(
        {
            "provider": picked["provider"].astype("string").fillna("unknown").to_numpy(),
            "object_type": suite.table,
            "object_id": object_ids(picked, suite.key).to_numpy(),
            "reason": ["; ".join(dict.fromkeys(rows[p])) for p in positions],
        }
    ).drop_duplicates(["provider", "object_type", "object_id"])


def masked_payload(row: Mapping[str, Any]) -> str:
    """The row as JSON for the quarantine, without emails and names."""
    kept = {k: _plain(v) for k, v in row.items() if k not in PII_COLUMNS}
    return json.dumps(kept, default=str, sort_keys=True)


def _plain(value: Any) -> Any:
    if value is None or (not isinstance(value, (list, dict)) and pd.isna(value)):
        return None
    if isinstance(value, (datetime, date)):  # pandas Timestamps too
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value


def tables_with_rows(control_totals: Mapping[str, Mapping[str, Any]]) -> tuple[str, ...]:
    """Tables the providers returned rows for this run (``control_totals`` of the sync):
    the gate fails if the warehouse holds none of them."""
    received = {
        name.split("/", 1)[1] for name, entry in control_totals.items() if entry.get("received")
    }
    return tuple(sorted(received))


# -- what operators see ---------------------------------------------------------------------


def artifact_rows(result: GateResult) -> list[dict[str, Any]]:
    """One row per table and failure (or one ``ok`` row), for a Prefect table artifact."""
    rows: list[dict[str, Any]] = []
    for report in result.tables.values():
        base = {"table": report.table, "rows": report.rows}
        for message in report.table_failures:
            rows.append({**base, "level": "table", "check": message, "failed_rows": None})
        for reason, count in report.row_failures.items():
            rows.append({**base, "level": "row", "check": reason, "failed_rows": count})
        if not report.table_failures and not report.row_failures:
            rows.append({**base, "level": "ok", "check": "", "failed_rows": 0})
    return rows


def markdown(result: GateResult) -> str:
    """A short summary: verdict, what failed, where the Data Docs are."""
    verdict = "passed" if result.passed else "**FAILED**"
    checked = sum(r.rows for r in result.tables.values())
    quarantined = sum(len(r.quarantined) for r in result.tables.values())
    lines = [
        f"# Data quality gate: {verdict}",
        "",
        f"{checked} rows in {len(result.tables)} tables checked in {result.seconds:.1f} s; "
        f"{quarantined} rows quarantined.",
    ]
    if result.failures:
        lines += ["", "## Table-level failures (the chain stops)", ""]
        lines += [f"- {f}" for f in result.failures]
    row_level = [(t, r, n) for t, rep in result.tables.items() for r, n in rep.row_failures.items()]
    if row_level:
        lines += ["", "## Quarantined rows", "", "| table | expectation | rows |", "|---|---|---|"]
        lines += [f"| {t} | {r} | {n} |" for t, r, n in row_level]
    if result.docs:
        lines += ["", f"Data Docs: `{result.docs}`"]
    return "\n".join(lines) + "\n"
