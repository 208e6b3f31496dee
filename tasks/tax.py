"""Tax tasks: read the facts, compute the returns, store them, remind, write the files.

Thin wrappers: the rules are ``domain.tax``; here frames move in and out of the
warehouse. The night computes the VAT lines one slice of customers at a time
(tasks/partitions.py, ``ECHEANCIER_TAX_PARTITION_SIZE`` customers a slice): a VAT line
depends only on its sale, its refunds, its customer and subscription, all of one
customer, whereas a frame of every fact and line of a big shop's history did not fit in
memory (8 GB on the large benchmark shop). Of each slice it keeps only the lines the
returns read (the open and the filed periods: ``domain.tax.ledger.needed_lines``) and
the distance sales of the threshold's three years, then builds the returns once: the
same ledger, threshold and problems as one pass over every fact (a test holds them
equal), which :func:`read_tax_inputs` and :func:`compute_tax_returns` still make.

A return is stored in one transaction that first re-reads the deadlines (locked on
PostgreSQL): a return finance marked ``filed`` in the meantime is never
overwritten. Writes are differences: a second run for the same ``as_of`` writes no row
and no file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Connection, Table, and_, or_, select, tuple_, update

from domain.pseudonym import customer_keys
from domain.tax import (
    Facts,
    FxRate,
    FxTable,
    Ledger,
    Problem,
    TaxCalendar,
    TaxReport,
    VatRates,
    build_ledger,
    load_tax_calendar,
    load_vat_rates,
    supply_lines,
)
from domain.tax.ledger import DEADLINE_COLUMNS, VAT_LINE_COLUMNS, needed_lines
from domain.tax.lines import COLUMNS
from domain.tax.reminders import Reminder, due_reminders
from domain.tax.sheets import (
    DETAIL_HEADER,
    RETURN_HEADER,
    csv_bytes,
    detail_rows,
    file_stem,
    return_rows,
    xlsx_bytes,
    xlsx_fingerprint,
)
from domain.tax.threshold import ThresholdYear, counted_sales, distance_sales, threshold_years
from echeancier.settings import Settings
from tasks.partitions import Partition, customer_partitions
from tasks.sync_common import engine_for
from warehouse import tables
from warehouse.frames import typed_frame
from warehouse.outbox import enqueue
from warehouse.replace import replace_rows
from warehouse.tax_tables import oss_threshold, tax_deadlines, vat_lines, vat_returns
from warehouse.upsert import dialect_insert

_CHUNK = 500


@dataclass
class TaxInputs:
    facts: Facts
    fx: list[FxRate]
    deadlines: pd.DataFrame
    filed_lines: pd.DataFrame


@dataclass
class TaxComputation:
    ledger: Ledger
    threshold: list[ThresholdYear]
    problems: list[Problem]


@task(name="load_tax_policies", cache_policy=NO_CACHE)
def load_tax_policies(settings: Settings) -> tuple[VatRates, TaxCalendar]:
    """``policies/vat_rates.yaml`` and ``policies/tax_calendar.yaml``."""
    return load_vat_rates(settings.policies), load_tax_calendar(settings.policies)


@task(name="read_tax_inputs", cache_policy=NO_CACHE)
def read_tax_inputs(settings: Settings) -> TaxInputs:
    """Every fact the VAT lines come from, the ECB rates, the deadlines and filed lines:
    the one-pass read (the night reads by partition: :func:`compute_tax_returns_by_partition`)."""
    with engine_for(settings.database_url).connect() as conn:
        facts = Facts(**{name: _frame(conn, name, cols) for name, cols in COLUMNS.items()})
        fx, deadlines, filed_lines = _returns_state(conn)
    return TaxInputs(facts, fx, deadlines, filed_lines)


@task(name="compute_tax_returns", cache_policy=NO_CACHE)
def compute_tax_returns(
    inputs: TaxInputs, as_of: date, rates: VatRates, calendar: TaxCalendar, timezone: str
) -> TaxComputation:
    """VAT lines, the open returns with their corrections, and the OSS threshold, from
    every fact at once."""
    supply, problems = supply_lines(
        inputs.facts, rates, seller_country=calendar.seller_country, timezone=timezone
    )
    fx = FxTable(inputs.fx)
    ledger = build_ledger(
        supply,
        as_of=as_of,
        calendar=calendar,
        fx=fx,
        deadlines=inputs.deadlines,
        filed_lines=inputs.filed_lines,
    )
    sales = distance_sales(supply, fx, seller_country=calendar.seller_country)
    threshold = threshold_years(sales, as_of=as_of, threshold=calendar.oss_threshold)
    return TaxComputation(ledger, threshold, [*problems, *ledger.problems])


@task(name="compute_tax_returns_by_partition", cache_policy=NO_CACHE)
def compute_tax_returns_by_partition(
    settings: Settings, as_of: date, rates: VatRates, calendar: TaxCalendar, timezone: str
) -> TaxComputation:
    """What :func:`compute_tax_returns` gives, read and computed one customer partition
    at a time (module docstring): memory follows the partition and tonight's lines, not
    the shop's history."""
    engine = engine_for(settings.database_url)
    with customer_partitions(engine, settings.tax_partition_size) as parts:
        shared = TaxShared.read(parts[0])
        fx = FxTable(shared.fx)
        slices = []
        for part in parts:
            facts = partition_facts(part, shared)
            slices.append(tax_slice(facts, part, shared, fx, as_of, rates, calendar, timezone))
            del facts  # before the next partition's frames are read
    return merge_tax_slices(slices, shared, fx, as_of, calendar)


#: The facts read one customer partition at a time; customers and subscriptions (a row
#: a customer or subscription: small) are read once, whole, for every partition.
PER_CUSTOMER = ("invoices", "invoice_tax_lines", "payments", "refunds")
#: Each fact table's id column, and the place of its problems among the others
#: (``supply_lines`` reports invoices, then payments, then refunds, each by id).
_IDS = {"invoices": "invoice_id", "payments": "payment_id", "refunds": "refund_id"}
_PHASE = {"invoice": 0, "payment": 1, "refund": 2}


@dataclass(frozen=True)
class TaxShared:
    """What every partition reads alike: the small whole tables, the unowned facts
    (a payment with no known customer, a refund of one, a tax line of no known
    invoice), and the returns' state (ECB rates, deadlines, filed lines)."""

    whole: dict[str, pd.DataFrame]
    unowned: dict[str, pd.DataFrame]
    fx: list[FxRate]
    deadlines: pd.DataFrame
    filed_lines: pd.DataFrame

    @classmethod
    def read(cls, first: Partition) -> TaxShared:
        whole = {n: _frame(first.conn, n, c) for n, c in COLUMNS.items() if n not in PER_CUSTOMER}
        unowned = {
            name: first.unowned(_table(name), list(COLUMNS[name]), processed=True)
            for name in PER_CUSTOMER
        }
        # A payment no partition owns may pay an invoice some partition does: every
        # partition reads that invoice too, so that wherever the payment's refund is
        # read, it finds its sale (the lines stay with the invoice's customer).
        paid = set(unowned["payments"]["invoice_id"].dropna()) - set(
            unowned["invoices"]["invoice_id"]
        )
        for name in ("invoices", "invoice_tax_lines"):
            also = _rows_of(first.conn, name, sorted(paid))
            unowned[name] = _concat([unowned[name], also])
        return cls(whole, unowned, *_returns_state(first.conn))

    def unowned_ids(self) -> frozenset[str]:
        """The invoices, payments and refunds every partition reads: their problems are
        kept from partition 0 only."""
        return frozenset(
            str(i) for name, column in _IDS.items() for i in self.unowned[name][column]
        )


@dataclass
class TaxSlice:
    """What one partition gives the returns: its customers' lines of the open and filed
    periods, their distance sales of the threshold's years, and its problems keyed by
    (phase, object id) to be put back in one pass's order."""

    lines: pd.DataFrame
    sales: pd.DataFrame
    problems: list[tuple[tuple[int, str], Problem]]


def partition_facts(part: Partition, shared: TaxShared) -> Facts:
    """One partition's facts: its customers' rows, the unowned rows, the whole tables."""
    frames = dict(shared.whole)
    mine = pd.Series([], dtype=object)
    for name, extra in shared.unowned.items():
        own = part.rows(_table(name), list(COLUMNS[name]), processed=True)
        if name == "invoices":
            mine = own["invoice_id"]
        if name in ("invoices", "invoice_tax_lines"):  # an own invoice that all read
            extra = extra[~extra["invoice_id"].isin(mine)]
        frames[name] = pd.concat([own, extra], ignore_index=True) if len(extra) else own
    return Facts(**frames)


def tax_slice(
    facts: Facts,
    part: Partition,
    shared: TaxShared,
    fx: FxTable,
    as_of: date,
    rates: VatRates,
    calendar: TaxCalendar,
    timezone: str,
) -> TaxSlice:
    """The VAT lines of one partition's facts, reduced to what the returns and the
    threshold read; a line or problem of an unowned row only in partition 0."""
    seller = calendar.seller_country
    supply, problems = supply_lines(facts, rates, seller_country=seller, timezone=timezone)
    supply = supply[part.owns(supply["customer_id"]).to_numpy(dtype=bool)]
    lines = needed_lines(supply, as_of=as_of, calendar=calendar, deadlines=shared.deadlines)
    sales = counted_sales(distance_sales(supply, fx, seller_country=seller), as_of=as_of)
    phase: dict[str, int] = {}
    for n, name in reversed(list(enumerate(_IDS))):  # an invoice's place wins a clash
        phase.update(dict.fromkeys(map(str, vars(facts)[name][_IDS[name]]), n))
    unowned = shared.unowned_ids() if part.number else frozenset()
    keyed = [
        ((phase.get(p.object_id, len(_IDS)), p.object_id), p)
        for p in problems
        if p.object_id not in unowned
    ]
    return TaxSlice(lines.reset_index(drop=True), sales.reset_index(drop=True), keyed)


def merge_tax_slices(
    slices: list[TaxSlice], shared: TaxShared, fx: FxTable, as_of: date, calendar: TaxCalendar
) -> TaxComputation:
    """The returns and the threshold from the partitions' slices, as one pass gives
    them: lines and problems back in ``supply_lines``' order (sources by id; one source's
    lines and problems all come from one partition, in their order)."""
    lines = _concat([s.lines for s in slices])
    order = lines.assign(phase=lines["source"].map(_PHASE), sid=lines["source_id"].astype(str))
    lines = lines.loc[order.sort_values(["phase", "sid"], kind="stable").index]
    ledger = build_ledger(
        lines.reset_index(drop=True),
        as_of=as_of,
        calendar=calendar,
        fx=fx,
        deadlines=shared.deadlines,
        filed_lines=shared.filed_lines,
    )
    sales = _concat([s.sales for s in slices])
    threshold = threshold_years(sales, as_of=as_of, threshold=calendar.oss_threshold)
    keyed = sorted((item for s in slices for item in s.problems), key=lambda item: item[0])
    return TaxComputation(ledger, threshold, [*(p for _, p in keyed), *ledger.problems])


@task(name="store_tax_returns", cache_policy=NO_CACHE)
def store_tax_returns(settings: Settings, computed: TaxComputation) -> dict[str, int]:
    """Write the open returns' lines, sums and deadlines, and the threshold; a return
    filed since it was read is left alone (its computation is dropped). Lines carry
    their ``customer_key`` from the start (NULL when no secret is configured; a night
    without the secret leaves stored keys alone), so
    analysts can join a return's lines the night they appear rather than after the
    next retention pass; the same secret gives the same key, so a rerun changes no row."""
    ledger = computed.ledger
    with engine_for(settings.database_url).begin() as conn:
        keys = [(k.regime, k.period) for k in ledger.returns]
        now_filed = _filed(conn, keys)
        returns = [k for k in ledger.returns if (k.regime, k.period) not in now_filed]
        scope = [(k.regime, k.period) for k in returns]
        lines = _in_scope(ledger.lines, scope)
        secret = settings.pseudonym_secret()
        if secret is not None:  # without one, a stored key is kept, never cleared
            lines = lines.assign(customer_key=customer_keys(lines["customer_id"], secret))
        totals = _in_scope(ledger.totals, scope)
        deadlines = _in_scope(ledger.deadlines, scope)
        written = {
            "vat_lines": _replace(conn, vat_lines, scope, lines),
            "vat_returns": _replace(conn, vat_returns, scope, totals),
            "tax_deadlines": _merge_deadlines(conn, _records(deadlines)),
            "oss_threshold": _merge_threshold(conn, computed.threshold),
        }
    return written


@task(name="queue_tax_reminders", cache_policy=NO_CACHE)
def queue_tax_reminders(
    settings: Settings, calendar: TaxCalendar, as_of: date, now: datetime, dry_run: bool
) -> tuple[list[Reminder], int]:
    """Enqueue the reminders due on ``as_of`` and note them on their deadline, in one
    transaction; returns the reminders due and how many were new (or promoted)."""
    with engine_for(settings.database_url).begin() as conn:
        rows = [
            dict(r._mapping)
            for r in conn.execute(select(tax_deadlines).where(tax_deadlines.c.status != "filed"))
        ]
        reminders = due_reminders(
            rows, as_of=as_of, reminder_days=calendar.reminder_days, locale=calendar.finance_locale
        )
        new = 0
        for reminder in reminders:
            result = enqueue(conn, [reminder.notice], as_of=as_of, now=now, dry_run=dry_run)
            if result.inserted + result.promoted and not dry_run:
                new += 1
                conn.execute(
                    update(tax_deadlines)
                    .where(
                        tax_deadlines.c.regime == reminder.regime,
                        tax_deadlines.c.period == reminder.period,
                    )
                    .values(reminded_on=as_of, reminder_days=reminder.days_before)
                )
            elif result.inserted and dry_run:
                new += 1
    return reminders, new


@task(name="write_tax_files", cache_policy=NO_CACHE)
def write_tax_files(settings: Settings, ledger: Ledger) -> dict[str, list[str]]:
    """The CSV pair and the XLSX of each open return under ``reports_dir/tax``; a file
    whose bytes did not change is not rewritten. Returns the file names per return.

    The workbook is only built when its fingerprint (``sheets.xlsx_fingerprint``: the
    CSVs, due date, provisional note, layout code) differs from the one recorded when
    the file on disk was written, or that file is missing or was changed by hand: most
    open returns are unchanged from one night to the next, and building their
    workbooks was most of the step's time. The record sits outside the tax folder
    (``reports_dir/.fingerprints/tax/``) so that folder holds only the accountant's
    files."""
    folder = Path(settings.reports_dir) / "tax"
    folder.mkdir(parents=True, exist_ok=True)
    marks = Path(settings.reports_dir) / ".fingerprints" / "tax"
    out: dict[str, list[str]] = {}
    for key in ledger.returns:
        stem = file_stem(key)
        totals, lines = ledger.totals_of(key), ledger.lines_of(key)
        due_on = ledger.deadline_of(key)["due_on"]
        provisional = key in ledger.provisional_fx
        rows = return_rows(totals), detail_rows(lines)
        summary = csv_bytes(RETURN_HEADER, rows[0])
        detail = csv_bytes(DETAIL_HEADER, rows[1])
        _write_if_changed(folder / f"{stem}.csv", summary)
        _write_if_changed(folder / f"{stem}.detail.csv", detail)
        book = folder / f"{stem}.xlsx"
        fingerprint = xlsx_fingerprint(
            key, summary, detail, due_on=due_on, provisional_fx=provisional
        )
        mark = marks / f"{stem}.xlsx.sha256"
        if not _built_from(book, mark, fingerprint):
            data = xlsx_bytes(
                key, totals, lines, due_on=due_on, provisional_fx=provisional, rows=rows
            )
            _write_if_changed(book, data)
            mark.parent.mkdir(parents=True, exist_ok=True)
            mark.write_text(f"{fingerprint} {hashlib.sha256(data).hexdigest()}\n")
        out[f"{key.regime} {key.period}"] = sorted(
            [f"{stem}.csv", f"{stem}.detail.csv", f"{stem}.xlsx"]
        )
    return out


@task(name="publish_tax_artifacts", cache_policy=NO_CACHE)
def publish_tax_artifacts(report: TaxReport) -> None:
    """The markdown summary and a table of the open returns."""
    create_markdown_artifact(key="tax-report-summary", markdown=report.markdown())
    create_table_artifact(
        key="tax-report-returns",
        table=report.table() or [{"return": "none"}],
        description=f"tax-report: open returns on {report.as_of}",
    )


# -- the mechanics ---------------------------------------------------------------------


def _returns_state(conn: Connection) -> tuple[list[FxRate], pd.DataFrame, pd.DataFrame]:
    """The ECB rates, the deadlines, and the stored lines of the filed returns."""
    fx = [
        FxRate(r.currency, r.day, r.rate)
        for r in conn.execute(select(tables.metadata.tables["fx_rates"]))
    ]
    deadlines = _frame(conn, "tax_deadlines", DEADLINE_COLUMNS)
    filed = select(tax_deadlines.c.regime, tax_deadlines.c.period).where(
        tax_deadlines.c.status == "filed"
    )
    query = select(*(vat_lines.c[c] for c in VAT_LINE_COLUMNS)).where(
        tuple_(vat_lines.c.regime, vat_lines.c.period).in_(filed)
    )
    filed_lines = typed_frame(conn, query)
    return fx, deadlines, filed_lines


def _rows_of(conn: Connection, name: str, invoice_ids: list[str]) -> pd.DataFrame:
    """The rows of ``name`` of these invoices (a few: those paid by unowned payments)."""
    invoice_id = _table(name).c.invoice_id
    parts = [
        _frame(conn, name, COLUMNS[name], invoice_id.in_(invoice_ids[start : start + _CHUNK]))
        for start in range(0, len(invoice_ids), _CHUNK)
    ]
    return _concat(parts) if parts else pd.DataFrame(columns=list(COLUMNS[name]))


def _table(name: str) -> Table:
    return tables.metadata.tables[name]


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The frames one under the other (the empty ones left out: they would turn typed
    columns into objects), or the first when all are empty."""
    full = [f for f in frames if not f.empty]
    return pd.concat(full, ignore_index=True) if full else frames[0]


def _frame(conn: Connection, name: str, columns: Iterable[str], *where: Any) -> pd.DataFrame:
    """``columns`` of ``name``'s rows matching ``where``, as SQLAlchemy's types give them
    (the VAT rules need exact ``Decimal`` rates, on SQLite too)."""
    table = tables.metadata.tables[name]
    return typed_frame(conn, select(*(table.c[c] for c in columns)).where(*where))


def _write_if_changed(path: Path, data: bytes) -> None:
    """Write ``data`` unless the file already holds exactly it (its time then stays)."""
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)


def _built_from(book: Path, mark: Path, fingerprint: str) -> bool:
    """Whether ``book`` is the workbook of ``fingerprint``: the record says it was built
    from those inputs and the file on disk is still the one then written."""
    if not book.exists() or not mark.exists():
        return False
    recorded = mark.read_text().split()
    if len(recorded) != 2 or recorded[0] != fingerprint:
        return False
    return hashlib.sha256(book.read_bytes()).hexdigest() == recorded[1]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")  # type: ignore[no-any-return]


def _in_scope(frame: pd.DataFrame, scope: list[tuple[str, str]]) -> pd.DataFrame:
    """The rows of the returns in ``scope`` (the set is built once, not once per row)."""
    wanted = set(scope)
    pairs = zip(frame["regime"], frame["period"], strict=True)
    return frame[[pair in wanted for pair in pairs]]


def _filed(conn: Connection, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    if not keys:
        return set()
    query = (
        select(tax_deadlines.c.regime, tax_deadlines.c.period)
        .where(tuple_(tax_deadlines.c.regime, tax_deadlines.c.period).in_(keys))
        .where(tax_deadlines.c.status == "filed")
        .with_for_update()
    )
    return {(r.regime, r.period) for r in conn.execute(query)}


def _replace(
    conn: Connection, table: Table, scope: list[tuple[str, str]], frame: pd.DataFrame
) -> int:
    """Make the rows of the returns in ``scope`` exactly ``frame``'s (staged and compared
    in the database: ``warehouse.replace``); returns how many rows changed."""
    if not scope:
        return 0
    in_scope = or_(*(and_(table.c.regime == r, table.c.period == p) for r, p in scope))
    return replace_rows(conn, table, in_scope, frame)


def _merge_deadlines(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Upsert the computed columns of each deadline; reminders and filing are kept."""
    computed = ("due_on", "status", "vat_due", "currency", "lines", "computed_on")
    written = 0
    for row in rows:
        stored = (
            conn.execute(
                select(tax_deadlines).where(
                    tax_deadlines.c.regime == row["regime"], tax_deadlines.c.period == row["period"]
                )
            )
            .mappings()
            .first()
        )
        if stored is None:
            conn.execute(tax_deadlines.insert(), [row])
            written += 1
        elif stored["status"] != "filed" and not _same(stored, row, computed):
            conn.execute(
                update(tax_deadlines)
                .where(
                    tax_deadlines.c.regime == row["regime"],
                    tax_deadlines.c.period == row["period"],
                )
                .values(**{c: row[c] for c in computed})
            )
            written += 1
    return written


def _merge_threshold(conn: Connection, years: list[ThresholdYear]) -> int:
    written = 0
    for year in years:
        row = {
            "year": year.year,
            "distance_sales": year.distance_sales,
            "threshold": year.threshold,
            "currency": year.currency,
            "crossed_on": year.crossed_on,
            "previous_year_sales": year.previous_year_sales,
            "destination_vat_required": year.destination_vat_required,
            "computed_on": year.computed_on,
        }
        stored = (
            conn.execute(select(oss_threshold).where(oss_threshold.c.year == year.year))
            .mappings()
            .first()
        )
        if stored is not None and _same(stored, row):
            continue
        stmt = dialect_insert(conn, oss_threshold).values(row)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["year"], set_={k: v for k, v in row.items() if k != "year"}
            )
        )
        written += 1
    return written


def _same(
    stored: Mapping[str, Any], row: Mapping[str, Any], columns: Iterable[str] | None = None
) -> bool:
    return all(stored[c] == row[c] for c in (columns or row.keys()))
