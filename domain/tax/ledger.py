"""Place VAT lines in returns: periods, euro conversion, corrections, the returns' sums.

Each line goes to the return of its regime and period: the OSS return of the quarter
(lines taxed in another member state) and the CA3 of the month (every line: domestic
by rate, and apart the intra-EU B2B, OSS and non-EU sales). Non-euro lines are
converted at the ECB rate of the period's last day (``domain.tax.fx``), line by line,
so the detail always sums to the return.

Which returns are (re)computed: for each regime, the period just closed and the
current one, plus any earlier period that has a deadline not yet ``filed``. A filed
return is never rewritten. When the facts of a filed period change (a refund synced
late, a payment that failed after all, a rate corrected), the difference between what
the facts give now and what was filed is a ``correction`` line in the next open return,
naming the filed period in ``corrected_period``. Example: OSS 2026-Q2 was filed with
a 119.00 EUR sale to Germany (VAT 19.00); a refund dated in June arrives in August:
the 2026-Q3 return lists ``DE 19 % corrected_period 2026-Q2: base −100.00, corrections
−19.00`` and 2026-Q2 stays as filed.

OSS also reports a refund of an earlier quarter's sale as a correction of that quarter
(art. 369g(4)); the CA3 deducts a refund in the month it is made.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd

from domain.tax.amounts import to_eur
from domain.tax.fx import FxTable
from domain.tax.lines import Problem
from domain.tax.periods import bounds, shift
from domain.tax.policy import REGIMES, TaxCalendar

VAT_LINE_COLUMNS = (
    "vat_line_id",
    "regime",
    "period",
    "section",
    "treatment",
    "corrected_period",
    "line_key",
    "source",
    "source_id",
    "invoice_id",
    "payment_id",
    "provider",
    "customer_id",
    "customer_country",
    "customer_vat_id",
    "is_business",
    "tax_point_on",
    "supply_period",
    "country",
    "rate",
    "rate_source",
    "rate_category",
    "taxable_base",
    "vat",
    "currency",
    "fx_rate",
    "fx_on",
    "taxable_base_eur",
    "vat_eur",
    "return_currency",
)
RETURN_COLUMNS = (
    "return_line_id",
    "regime",
    "period",
    "section",
    "treatment",
    "country",
    "rate",
    "corrected_period",
    "taxable_base",
    "vat",
    "corrections",
    "currency",
    "lines",
)
DEADLINE_COLUMNS = (
    "regime",
    "period",
    "due_on",
    "status",
    "reminded_on",
    "reminder_days",
    "vat_due",
    "currency",
    "lines",
    "computed_on",
    "filed_on",
    "filed_by",
    "reference",
)
AMOUNTS = ("taxable_base", "vat", "taxable_base_eur", "vat_eur")
#: What makes two stored lines "the same line" when comparing with a filed return.
SAME_LINE = ("line_key", "treatment", "country", "rate", "currency")
RATE_QUANTUM = Decimal("0.0001")


class TieOutError(AssertionError):
    """A return whose detail lines do not sum to it: a bug, never a rounding to accept."""


@dataclass(frozen=True)
class ReturnKey:
    regime: str
    period: str


@dataclass
class Ledger:
    """The open returns for one ``as_of``: their lines, their sums and deadlines."""

    as_of: date
    returns: list[ReturnKey]
    lines: pd.DataFrame
    totals: pd.DataFrame
    deadlines: pd.DataFrame
    filed: list[ReturnKey]
    problems: list[Problem] = field(default_factory=list)
    provisional_fx: set[ReturnKey] = field(default_factory=set)

    def lines_of(self, key: ReturnKey) -> pd.DataFrame:
        frame = self.lines
        return frame[(frame["regime"] == key.regime) & (frame["period"] == key.period)]

    def totals_of(self, key: ReturnKey) -> pd.DataFrame:
        frame = self.totals
        return frame[(frame["regime"] == key.regime) & (frame["period"] == key.period)]

    def deadline_of(self, key: ReturnKey) -> dict[str, Any]:
        frame = self.deadlines
        row = frame[(frame["regime"] == key.regime) & (frame["period"] == key.period)]
        return dict(row.iloc[0])


def build_ledger(
    supply: pd.DataFrame,
    *,
    as_of: date,
    calendar: TaxCalendar,
    fx: FxTable,
    deadlines: pd.DataFrame,
    filed_lines: pd.DataFrame,
) -> Ledger:
    """The open returns of ``as_of`` from the current lines and what was filed."""
    problems: list[Problem] = []
    # The returns as of ``as_of``: an event dated later is not known yet on that day.
    supply = supply[supply["tax_point_on"].map(lambda day: day <= as_of).astype(bool)]
    stored = {(r["regime"], r["period"]): r for r in deadlines.astype(object).to_dict("records")}
    filed = {k for k, r in stored.items() if r["status"] == "filed"}
    open_returns: list[ReturnKey] = []
    out: list[dict[str, Any]] = []
    provisional: set[ReturnKey] = set()
    for regime in REGIMES:
        current = calendar.period_of(regime, as_of)
        wanted = {current, shift(current, -1)}
        wanted |= {p for (r, p), row in stored.items() if r == regime and row["status"] != "filed"}
        periods = sorted(p for p in wanted if (regime, p) not in filed and p <= current)
        open_returns.extend(ReturnKey(regime, p) for p in periods)
        filed_periods = sorted(p for (r, p) in filed if r == regime)
        needed = set(periods) | set(filed_periods)
        lines = _regime_lines(supply, regime, calendar, fx, problems, provisional, needed)
        own = [line for line in lines if line["period"] in periods]
        out.extend(own)
        out.extend(
            _corrections(regime, calendar, lines, filed_lines, filed_periods, periods, problems)
        )
    frame = pd.DataFrame(out, columns=list(VAT_LINE_COLUMNS))
    frame = frame.sort_values(["regime", "period", "vat_line_id"], ignore_index=True)
    totals = return_totals(frame)
    check_tie_out(frame, totals)
    return Ledger(
        as_of=as_of,
        returns=open_returns,
        lines=frame,
        totals=totals,
        deadlines=_deadlines(open_returns, totals, stored, calendar, as_of),
        filed=sorted((ReturnKey(*k) for k in filed), key=lambda k: (k.regime, k.period)),
        problems=problems,
        provisional_fx=provisional & set(open_returns),
    )


def vat_due(totals: pd.DataFrame, regime: str) -> int:
    """What a return makes payable: all of an OSS return; the domestic part of a CA3."""
    rows = totals if regime == "OSS" else totals[totals["treatment"] == "domestic"]
    return int(rows["vat"].sum()) + int(rows["corrections"].sum())


def return_totals(lines: pd.DataFrame) -> pd.DataFrame:
    """The return rows: the lines' euro sums per section, treatment, country, rate and
    corrected period (VAT of corrections in ``corrections``, of supplies in ``vat``)."""
    if lines.empty:
        return pd.DataFrame(columns=list(RETURN_COLUMNS))
    keys = ["regime", "period", "section", "treatment", "country", "rate", "corrected_period"]
    grouped = (
        lines.assign(corrected_period=lines["corrected_period"].fillna(""))
        .groupby(keys, sort=True)
        .agg(
            taxable_base=("taxable_base_eur", "sum"),
            vat_eur=("vat_eur", "sum"),
            lines=("vat_line_id", "count"),
        )
        .reset_index()
    )
    correction = grouped["section"] == "correction"
    grouped["vat"] = grouped["vat_eur"].where(~correction, 0).astype("int64")
    grouped["corrections"] = grouped["vat_eur"].where(correction, 0).astype("int64")
    grouped["corrected_period"] = grouped["corrected_period"].replace("", None)
    grouped["currency"] = "EUR"
    grouped["return_line_id"] = [
        stable_id(*row) for row in grouped[keys].astype(str).itertuples(index=False, name=None)
    ]
    grouped["taxable_base"] = grouped["taxable_base"].astype("int64")
    grouped["lines"] = grouped["lines"].astype("int64")
    return grouped[list(RETURN_COLUMNS)]


def check_tie_out(lines: pd.DataFrame, totals: pd.DataFrame) -> None:
    """Per return, country and rate: the detail lines sum to the return, to the cent."""
    keys = ["regime", "period", "country", "rate"]
    if lines.empty and totals.empty:
        return
    detail = lines.groupby(keys)[["taxable_base_eur", "vat_eur"]].sum()
    summary = totals.assign(due=totals["vat"] + totals["corrections"])
    summary = summary.groupby(keys)[["taxable_base", "due"]].sum()
    joined = detail.join(summary, how="outer").fillna(0)
    wrong = joined[
        (joined["taxable_base_eur"] != joined["taxable_base"])
        | (joined["vat_eur"] != joined["due"])
    ]
    if not wrong.empty:
        raise TieOutError(f"detail lines do not sum to the return: {wrong.head(3).to_dict()}")


def stable_id(*parts: Any) -> str:
    """A 32-hex id of the parts (the key of a line or a return row, stable across runs)."""
    text = "|".join("" if p is None else str(p) for p in parts)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


# -- the mechanics ---------------------------------------------------------------------


def _regime_lines(
    supply: pd.DataFrame,
    regime: str,
    calendar: TaxCalendar,
    fx: FxTable,
    problems: list[Problem],
    provisional: set[ReturnKey],
    needed: set[str],
) -> list[dict[str, Any]]:
    """The lines of ``regime`` whose period is in ``needed`` (open or filed returns)."""
    rows = supply if regime == "FR_CA3" else supply[supply["treatment"] == "oss"]
    periods = rows["tax_point_on"].map(lambda day: calendar.period_of(regime, day))
    rows = rows[periods.isin(needed).astype(bool)]
    out = []
    missing: set[tuple[str, str]] = set()
    for line in rows.astype(object).where(rows.notna(), None).to_dict("records"):
        period = calendar.period_of(regime, line["tax_point_on"])
        supply_period = calendar.period_of(regime, line["supply_on"])
        fx_rate = fx_on = None
        if line["currency"] != "EUR":
            pick = fx.pick(line["currency"], bounds(period)[1])
            if pick is None:
                if (line["currency"], period) not in missing:
                    missing.add((line["currency"], period))
                    problems.append(
                        Problem(
                            f"{regime} {period}",
                            f"no ECB rate for {line['currency']}: its lines are left out "
                            "(load the ECB CSV: echeancier tax load-fx FILE)",
                        )
                    )
                continue
            fx_rate, fx_on = pick.rate, pick.day
            if pick.provisional:
                provisional.add(ReturnKey(regime, period))
        earlier = regime == "OSS" and supply_period != period
        out.append(
            _ledger_line(
                line,
                regime=regime,
                period=period,
                section="correction" if earlier else "supplies",
                corrected_period=supply_period if earlier else None,
                supply_period=supply_period,
                fx_rate=fx_rate,
                fx_on=fx_on,
                amounts={k: int(line[k]) for k in ("taxable_base", "vat")},
                origin="line",
            )
        )
    return out


def _ledger_line(
    line: Mapping[str, Any],
    *,
    regime: str,
    period: str,
    section: str,
    corrected_period: str | None,
    supply_period: str,
    fx_rate: Decimal | None,
    fx_on: date | None,
    amounts: Mapping[str, int],
    origin: str,
    eur: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    rate = Decimal(str(line["rate"])).quantize(RATE_QUANTUM)
    if eur is None:
        eur = {
            "taxable_base_eur": to_eur(amounts["taxable_base"], line["currency"], fx_rate),
            "vat_eur": to_eur(amounts["vat"], line["currency"], fx_rate),
        }
    return {
        **{k: line.get(k) for k in VAT_LINE_COLUMNS},
        "vat_line_id": stable_id(
            regime,
            period,
            line["line_key"],
            line["treatment"],
            line["country"],
            rate,
            section,
            corrected_period,
            origin,
        ),
        "regime": regime,
        "period": period,
        "section": section,
        "corrected_period": corrected_period,
        "supply_period": supply_period,
        "rate": rate,
        "is_business": bool(line.get("is_business")),
        "fx_rate": fx_rate,
        "fx_on": fx_on,
        **amounts,
        **eur,
        "return_currency": "EUR",
    }


def _corrections(
    regime: str,
    calendar: TaxCalendar,
    current: list[dict[str, Any]],
    filed_lines: pd.DataFrame,
    filed_periods: list[str],
    open_periods: list[str],
    problems: list[Problem],
) -> Iterable[dict[str, Any]]:
    """Lines of filed periods whose facts changed: current minus filed, in the next
    open return (module docstring)."""
    if not filed_periods:
        return []
    filed_set = set(filed_periods)
    now = [dict(line, event=line["period"]) for line in current if line["period"] in filed_set]
    before = []
    if not filed_lines.empty:
        stored = filed_lines[filed_lines["regime"] == regime]
        for line in stored.astype(object).where(stored.notna(), None).to_dict("records"):
            event = calendar.period_of(regime, line["tax_point_on"])
            if event in filed_set:
                before.append(dict(line, event=event))
    sums: dict[tuple[Any, ...], dict[str, Any]] = {}
    for sign, group in ((1, now), (-1, before)):
        for line in group:
            rate = Decimal(str(line["rate"])).quantize(RATE_QUANTUM)
            key = (line["event"], *(line[k] for k in SAME_LINE if k != "rate"), rate)
            entry = sums.setdefault(key, {"line": line, **dict.fromkeys(AMOUNTS, 0)})
            if sign == 1:
                entry["line"] = line  # describe a correction by what the facts say now
            for amount in AMOUNTS:
                entry[amount] += sign * int(line[amount])
    out = []
    for key in sorted(sums, key=lambda k: tuple(str(p) for p in k)):
        entry = sums[key]
        if not any(entry[a] for a in AMOUNTS):
            continue
        event = key[0]
        later = [p for p in open_periods if p > event]
        if not later:
            problems.append(
                Problem(f"{regime} {event}", "a filed period changed but no later return is open")
            )
            continue
        line = entry["line"]
        out.append(
            _ledger_line(
                line,
                regime=regime,
                period=later[0],
                section="correction",
                corrected_period=event,
                supply_period=line["supply_period"],
                fx_rate=line["fx_rate"],
                fx_on=line["fx_on"],
                amounts={k: entry[k] for k in ("taxable_base", "vat")},
                eur={k: entry[k] for k in ("taxable_base_eur", "vat_eur")},
                origin="delta",
            )
        )
    return out


def _deadlines(
    returns: list[ReturnKey],
    totals: pd.DataFrame,
    stored: Mapping[tuple[str, str], Mapping[str, Any]],
    calendar: TaxCalendar,
    as_of: date,
) -> pd.DataFrame:
    rows = []
    for key in returns:
        own = totals[(totals["regime"] == key.regime) & (totals["period"] == key.period)]
        due_on = calendar.due_on(key.regime, key.period)
        before = stored.get((key.regime, key.period), {})
        rows.append(
            {
                **dict.fromkeys(DEADLINE_COLUMNS),
                **{k: before.get(k) for k in ("reminded_on", "reminder_days")},
                "regime": key.regime,
                "period": key.period,
                "due_on": due_on,
                "status": "overdue" if as_of > due_on else "open",
                "vat_due": vat_due(own, key.regime),
                "currency": "EUR",
                "lines": int(own["lines"].sum()),
                "computed_on": as_of,
            }
        )
    return pd.DataFrame(rows, columns=list(DEADLINE_COLUMNS))
