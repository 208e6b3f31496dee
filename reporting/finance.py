"""The nightly finance report: KPIs over time, recovery by stage, receivables ageing, the
cash-flow forecast and its accuracy, and the open reconciliation exceptions.

One self-contained HTML page per night (inline CSS, charts as PNG ``data:`` URIs, no
script, no link out), so finance can open or mail it anywhere, offline. Every figure is
a column of ``kpi_daily``, ``cashflow_forecast``, ``cashflow_accuracy`` or
``recon_exceptions`` (or the failures behind ``dunning_recovery_rate``), so an analyst
can find it again with SQL. Ids only: no customer name or e-mail is ever shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from domain.kpis.report import KEY_FIGURES, days, figure, money, percent
from reporting import charts

SECTIONS = (
    ("summary", "Key figures"),
    ("kpis", "KPIs over time"),
    ("recovery", "Recovery by stage"),
    ("ageing", "Receivables ageing"),
    ("forecast", "Cash-flow forecast"),
    ("exceptions", "Open exceptions"),
)
BUCKETS = (
    ("ar_current", "not yet due"),
    ("ar_1_30", "1–30 days"),
    ("ar_31_60", "31–60 days"),
    ("ar_61_90", "61–90 days"),
    ("ar_over_90", "over 90 days"),
)
RATES = (
    ("logo_churn_rate", "logo churn"),
    ("net_mrr_churn_rate", "net MRR churn"),
    ("involuntary_churn_rate", "involuntary churn"),
    ("failed_payment_rate", "failed payments"),
    ("unpaid_rate", "unpaid at 30 days"),
    ("dunning_recovery_rate", "recovery"),
)
MAX_EXCEPTIONS = 200
TEMPLATE = "finance.html.j2"


@dataclass(frozen=True)
class FinanceData:
    """What the report shows, as read from the warehouse for ``as_of``."""

    as_of: date
    kpis: pd.DataFrame  # kpi_daily rows up to as_of
    recovery: pd.DataFrame  # domain.kpis.recovery_by_stage
    forecast: pd.DataFrame  # cashflow_forecast rows of as_of
    accuracy: pd.DataFrame  # cashflow_accuracy rows up to as_of
    exceptions: pd.DataFrame  # recon_exceptions with status open


@dataclass
class Table:
    caption: str
    header: Sequence[str]
    rows: list[Sequence[str]]


@dataclass
class Section:
    id: str
    title: str
    intro: str = ""
    charts: list[tuple[str, str]] = field(default_factory=list)  # (alt text, data URI)
    tables: list[Table] = field(default_factory=list)


def render_finance_report(data: FinanceData) -> str:
    """The whole page as one HTML string."""
    currencies = _currencies(data)
    sections = [
        _summary(data, currencies),
        _kpis(data, currencies),
        _recovery(data, currencies),
        _ageing(data, currencies),
        _forecast(data, currencies),
        _exceptions(data),
    ]
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return environment.get_template(TEMPLATE).render(
        as_of=data.as_of, currencies=currencies, sections=sections
    )


def _currencies(data: FinanceData) -> list[str]:
    found = set(data.kpis["currency"]) if len(data.kpis) else set()
    found |= set(data.forecast["currency"]) if len(data.forecast) else set()
    return sorted(str(c) for c in found)


def _history(data: FinanceData, currency: str) -> pd.DataFrame:
    rows = data.kpis[data.kpis["currency"] == currency]
    return rows[rows["as_of"] <= data.as_of].sort_values("as_of")


def _month_ends(history: pd.DataFrame) -> pd.DataFrame:
    """The last row of each month (the month's rates), the current month to date."""
    return history.groupby(history["period_start"], sort=True).tail(1)


def _summary(data: FinanceData, currencies: list[str]) -> Section:
    latest = {c: _history(data, c).tail(1) for c in currencies}
    rows = []
    for name, label, kind in KEY_FIGURES:
        cells = [
            figure(latest[c][name].iloc[0], kind, c) if len(latest[c]) else "—" for c in currencies
        ]
        rows.append([label, *cells])
    return Section(
        "summary",
        "Key figures",
        f"End of {data.as_of}; rates month to date (since the first of the month).",
        tables=[Table("Key figures", ["figure", *currencies], rows)],
    )


def _kpis(data: FinanceData, currencies: list[str]) -> Section:
    section = Section(
        "kpis",
        "KPIs over time",
        "Rates are plotted at each month's end (the current month to date).",
    )
    for c in currencies:
        history = _history(data, c)
        ends = _month_ends(history)
        section.charts += [
            (f"MRR over time, {c}", charts.mrr(history, c)),
            (f"MRR movements per month, {c}", charts.movements(history, c)),
            (
                f"Churn and payment-failure rates per month, {c}",
                charts.lines(
                    f"Rates at month end ({c})",
                    list(ends["as_of"]),
                    {label: _pct(ends[name]) for name, label in RATES[:-1]},
                    "%",
                ),
            ),
            (
                f"DSO and payment delay, {c}",
                charts.lines(
                    f"Days sales outstanding and payment delay ({c})",
                    list(history["as_of"]),
                    {
                        "DSO": _float(history["dso_days"]),
                        "payment delay (month to date)": _float(history["avg_payment_delay_days"]),
                    },
                    "days",
                ),
            ),
        ]
        rows = [
            [
                str(r["period_start"])[:7],
                money(r["mrr"], c),
                f"{int(r['customers']):,}",
                *(percent(r[name]) for name, _ in RATES),
                days(r["dso_days"]),
            ]
            for _, r in ends.tail(13).iloc[::-1].iterrows()
        ]
        header = ["month", "MRR", "customers", *(label for _, label in RATES), "DSO"]
        section.tables.append(Table(f"Month ends, {c}", header, rows))
    return section


def _recovery(data: FinanceData, currencies: list[str]) -> Section:
    section = Section(
        "recovery",
        "Recovery by stage",
        "Failed invoices and payments by month of failure, by the last dunning stage "
        "acted on before they were paid (none: paid before any action; open: not yet).",
    )
    for c in currencies:
        rows = data.recovery[data.recovery["currency"] == c]
        table = rows.pivot_table(
            index="failure_month", columns="stage", values="amount", aggfunc="sum", fill_value=0
        ).sort_index()
        stages = sorted(table.columns, key=lambda s: (s == "open", s != "none", s))
        section.charts.append(
            (
                f"Recovered and open amounts by failure month and stage, {c}",
                charts.stacked(
                    f"Failed amount by month of failure and stage ({c})",
                    list(table.index),
                    {s: charts.major(table[s], c) for s in stages},
                    c,
                ),
            )
        )
        out = []
        for month, amounts in table.iloc[::-1].iterrows():
            failed = int(amounts.sum())
            recovered = failed - int(amounts.get("open", 0))
            out.append(
                [
                    str(month),
                    money(failed, c),
                    money(recovered, c),
                    percent(recovered / failed if failed else None),
                    *(money(amounts[s], c) for s in stages),
                ]
            )
        header = ["failure month", "failed", "recovered", "rate", *stages]
        section.tables.append(Table(f"Recovery by failure month, {c}", header, out))
    return section


def _ageing(data: FinanceData, currencies: list[str]) -> Section:
    section = Section("ageing", "Receivables ageing", f"Open invoices at the end of {data.as_of}.")
    for c in currencies:
        latest = _history(data, c).tail(1)
        amounts = [int(latest[n].iloc[0]) if len(latest) else 0 for n, _ in BUCKETS]
        labels = [label for _, label in BUCKETS]
        section.charts.append(
            (
                f"Receivables by days past due, {c}",
                charts.bars(
                    f"Receivables by days past due ({c})", labels, charts.major(amounts, c), c
                ),
            )
        )
        total = sum(amounts)
        rows = [
            [label, money(a, c), percent(a / total if total else None)]
            for label, a in zip(labels, amounts, strict=True)
        ]
        rows.append(["total", money(total, c), percent(1.0 if total else None)])
        section.tables.append(Table(f"Ageing, {c}", ["bucket", "amount", "share"], rows))
    return section


def _forecast(data: FinanceData, currencies: list[str]) -> Section:
    section = Section(
        "forecast",
        "Cash-flow forecast",
        "Money expected in the bank on each of the next 90 days, weighted by what history "
        "says comes in (docs/kpis.md), and how right earlier forecasts were.",
    )
    for c in currencies:
        rows = data.forecast[data.forecast["currency"] == c]
        table = rows.pivot_table(
            index="day", columns="source", values="expected_in", aggfunc="sum", fill_value=0
        ).sort_index()
        section.charts.append(
            (
                f"Expected inflows per day by source, {c}",
                charts.stacked(
                    f"Expected in the bank per day ({c})",
                    [str(d) for d in table.index],
                    {s: charts.major(table[s], c) for s in table.columns},
                    c,
                ),
            )
        )
        near = (rows["day"] <= data.as_of + timedelta(days=30)).to_numpy(dtype=bool)
        by_source = [
            _forecast_row(str(source), part, part[near[rows.index.get_indexer(part.index)]], c)
            for source, part in rows.groupby("source")
        ]
        by_source.append(_forecast_row("total", rows, rows[near], c))
        header = ["source", "next 30 days", "next 90 days", "at face value", "items"]
        section.tables.append(Table(f"Forecast by source, {c}", header, by_source))
        accuracy = data.accuracy[data.accuracy["currency"] == c].sort_values(
            ["as_of", "horizon_days"], ascending=[False, True]
        )
        acc_rows = [
            [
                str(r["as_of"]),
                f"{int(r['horizon_days'])} days",
                money(r["forecast_in"], c),
                money(r["actual_in"], c),
                money(r["error"], c),
                percent(r["abs_pct_error"]),
            ]
            for _, r in accuracy.head(20).iterrows()
        ]
        if not acc_rows:
            acc_rows = [["no forecast from 7 or 30 days ago yet", "", "", "", "", ""]]
        section.tables.append(
            Table(
                f"Accuracy of earlier forecasts, {c}",
                ["as of", "made before", "forecast", "came in", "error", "abs. error"],
                acc_rows,
            )
        )
    return section


def _forecast_row(label: str, rows: pd.DataFrame, near: pd.DataFrame, c: str) -> list[str]:
    return [
        label,
        money(near["expected_in"].sum(), c),
        money(rows["expected_in"].sum(), c),
        money(rows["gross_amount"].sum(), c),
        f"{int(rows['items'].sum()):,}",
    ]


def _exceptions(data: FinanceData) -> Section:
    open_ = data.exceptions.sort_values(["age_days", "exception_id"], ascending=[False, True])
    counts = open_.groupby("kind").size().sort_values(ascending=False)
    section = Section(
        "exceptions",
        "Open exceptions",
        f"{len(open_)} open in recon_exceptions"
        + (f"; the {MAX_EXCEPTIONS} oldest are listed." if len(open_) > MAX_EXCEPTIONS else "."),
    )
    section.tables.append(
        Table(
            "Open exceptions by kind",
            ["kind", "open"],
            [[str(k), str(n)] for k, n in counts.items()],
        )
    )
    rows = [
        [
            str(r["kind"]),
            _text(r["provider"]),
            f"{money(r['amount'], str(r['currency']))} {r['currency']}"
            if _given(r["amount"]) and _given(r["currency"])
            else "—",
            str(r["first_seen_on"]),
            str(int(r["age_days"])),
            str(r["ageing_bucket"]),
            str(r["object_ids"]),
        ]
        for _, r in open_.head(MAX_EXCEPTIONS).iterrows()
    ]
    header = ["kind", "provider", "amount", "first seen", "age (days)", "bucket", "objects"]
    section.tables.append(Table("Open exceptions, oldest first", header, rows))
    return section


def _given(value: object) -> bool:
    return not (value is None or bool(pd.isna(value)))  # type: ignore[arg-type]


def _text(value: object) -> str:
    return str(value) if _given(value) else ""


def _float(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _pct(values: pd.Series) -> np.ndarray:
    return _float(values) * 100
