"""What a ``kpis`` run did, as the CLI prints it and the Prefect UI shows it.

Pure formatting (no I/O): the key figures of the last day per currency, the forecast's
totals, the accuracy of earlier forecasts and where the finance report was written.
Example line: ``EUR  MRR 7,832.07 · 246 subscriptions · logo churn 0.87 % · …``.
Rates missing for want of a denominator print as ``—``, never as 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from domain.normalise.codes import minor_exponent

KEY_FIGURES = (
    ("mrr", "MRR", "money"),
    ("active_subscriptions", "subscriptions", "count"),
    ("customers", "customers", "count"),
    ("logo_churn_rate", "logo churn", "rate"),
    ("net_mrr_churn_rate", "net MRR churn", "rate"),
    ("involuntary_churn_rate", "involuntary churn", "rate"),
    ("failed_payment_rate", "failed payments", "rate"),
    ("unpaid_rate", "unpaid at 30 days", "rate"),
    ("dso_days", "DSO", "days"),
    ("avg_payment_delay_days", "payment delay", "days"),
    ("dunning_recovery_rate", "recovery", "rate"),
    ("ar_total", "receivables", "money"),
)


def money(amount: Any, currency: str) -> str:
    """Minor units -> ``7,832.07`` in the currency's own exponent."""
    if _missing(amount):
        return "—"
    exponent = minor_exponent(currency)
    return f"{Decimal(int(amount)).scaleb(-exponent):,.{exponent}f}"


def percent(value: Any) -> str:
    return "—" if _missing(value) else f"{float(value) * 100:.2f} %"


def days(value: Any) -> str:
    return "—" if _missing(value) else f"{float(value):.1f} d"


def figure(value: Any, kind: str, currency: str) -> str:
    if kind == "money":
        return money(value, currency)
    if kind == "rate":
        return percent(value)
    if kind == "days":
        return days(value)
    return "—" if _missing(value) else f"{int(value):,}"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float | Decimal) and math.isnan(value))


@dataclass(frozen=True)
class KpiReport:
    """One ``kpis`` run: the days it computed and the figures of the last one."""

    run_id: str
    as_of: date
    date_from: date
    date_to: date
    rows: int
    latest: Sequence[Mapping[str, Any]] = ()  # kpi_daily rows of date_to, one per currency
    forecast: Sequence[Mapping[str, Any]] = ()  # per currency and source: 30 and 90 days
    accuracy: Sequence[Mapping[str, Any]] = ()  # cashflow_accuracy rows of date_to
    report_path: str | None = None
    seconds: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    def counts(self) -> dict[str, int]:
        return {
            "days": self.days,
            "kpi_rows": self.rows,
            "currencies": len(self.latest),
            "forecast_rows": int(self.extra.get("forecast_rows", 0)),
        }

    def control_totals(self) -> dict[str, Any]:
        """Per currency, the last day's MRR and receivables and the 90-day forecast."""
        out: dict[str, Any] = {}
        for row in self.latest:
            currency = str(row["currency"])
            total = self._forecast_total(currency)
            out[currency] = {
                "mrr": int(row["mrr"]),
                "ar_total": int(row["ar_total"]),
                "forecast_90_days": total[1] if total else 0,
            }
        return {"kpis": out}

    def text(self) -> str:
        span = (
            f"{self.date_to}"
            if self.days == 1
            else f"{self.date_from} .. {self.date_to} ({self.days} days)"
        )
        lines = [f"kpis {span}: {self.rows} kpi_daily rows in {self.seconds:.1f} s"]
        if not self.latest:
            lines.append("  nothing to measure: no subscription, invoice or payment yet")
        for row in self.latest:
            currency = str(row["currency"])
            shown = " · ".join(
                f"{label} {figure(row.get(name), kind, currency)}"
                for name, label, kind in KEY_FIGURES
            )
            lines.append(f"  {currency}  {shown}")
            total = self._forecast_total(currency)
            if total is not None:
                lines.append(
                    f"  {currency}  expected in the bank: {money(total[0], currency)} "
                    f"in 30 days, {money(total[1], currency)} in 90"
                )
        for row in self.accuracy:
            currency = str(row["currency"])
            lines.append(
                f"  {currency}  forecast of {row['forecast_as_of']} ({row['horizon_days']} days):"
                f" expected {money(row['forecast_in'], currency)},"
                f" came {money(row['actual_in'], currency)}"
                f" (error {percent(row['abs_pct_error'])})"
            )
        if self.report_path:
            lines.append(f"finance report: {self.report_path}")
        return "\n".join(lines)

    def _forecast_total(self, currency: str) -> tuple[int, int] | None:
        rows = [r for r in self.forecast if r["currency"] == currency]
        if not rows:
            return None
        return sum(int(r["next_30_days"]) for r in rows), sum(int(r["next_90_days"]) for r in rows)

    def markdown(self) -> str:
        """The key figures artifact: one column per currency, no personal data."""
        lines = [f"# KPIs {self.date_to}", ""]
        if self.days > 1:
            lines += [f"Backfill {self.date_from} .. {self.date_to}: {self.rows} rows.", ""]
        if not self.latest:
            return "\n".join([*lines, "No subscription, invoice or payment yet."]) + "\n"
        currencies = [str(r["currency"]) for r in self.latest]
        lines.append("| figure | " + " | ".join(currencies) + " |")
        lines.append("|---|" + "---|" * len(currencies))
        for name, label, kind in KEY_FIGURES:
            cells = [figure(r.get(name), kind, str(r["currency"])) for r in self.latest]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        totals = [self._forecast_total(c) for c in currencies]
        for n, label in ((0, "expected in 30 days"), (1, "expected in 90 days")):
            cells = [money(t[n], c) if t else "—" for t, c in zip(totals, currencies, strict=True)]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        if self.report_path:
            lines += ["", f"Finance report: `{self.report_path}`"]
        return "\n".join(lines) + "\n"


def forecast_totals(forecast: Any, as_of: date) -> list[dict[str, Any]]:
    """Per currency and source: expected inflows over the next 30 and 90 days."""
    if len(forecast) == 0:
        return []
    soon = forecast["day"].map(lambda d: (d - as_of).days <= 30)
    frame = forecast.assign(soon=forecast["expected_in"].where(soon, 0))
    out = frame.groupby(["currency", "source"], as_index=False).agg(
        next_30_days=("soon", "sum"), next_90_days=("expected_in", "sum")
    )
    return [
        {k: (int(v) if k.startswith("next") else str(v)) for k, v in row.items()}
        for row in out.to_dict("records")
    ]
