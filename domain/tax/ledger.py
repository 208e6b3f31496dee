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
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from domain.tax.amounts import to_eur
from domain.tax.fx import FxTable, Pick
from domain.tax.lines import LINE_COLUMNS, Problem
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
    supply = _known_on(supply, as_of)
    stored = _stored(deadlines)
    filed = {k for k, r in stored.items() if r["status"] == "filed"}
    open_returns: list[ReturnKey] = []
    out: list[tuple[Any, ...]] = []
    provisional: set[ReturnKey] = set()
    for regime, (periods, filed_periods) in return_periods(as_of, calendar, deadlines).items():
        open_returns.extend(ReturnKey(regime, p) for p in periods)
        needed = set(periods) | set(filed_periods)
        lines = _regime_lines(supply, regime, calendar, fx, problems, provisional, needed)
        in_open = lines["period"].isin(periods).to_numpy(dtype=bool)
        out.extend(_tuples(lines[in_open]))
        in_filed = lines[lines["period"].isin(filed_periods).to_numpy(dtype=bool)]
        corrections = _corrections(
            regime, calendar, in_filed, filed_lines, filed_periods, periods, problems
        )
        out.extend(tuple(line[c] for c in VAT_LINE_COLUMNS) for line in corrections)
    # from rows, as pandas infers each column's type from the values (ints, bools, objects)
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


def return_periods(
    as_of: date, calendar: TaxCalendar, deadlines: pd.DataFrame
) -> dict[str, tuple[list[str], list[str]]]:
    """Per regime, the periods whose returns are (re)computed on ``as_of`` and the filed
    periods corrections compare with: the only periods whose lines :func:`build_ledger`
    reads (module docstring). Example: on 2026-10-21 with OSS 2026-Q3 filed,
    ``{"OSS": (["2026-Q4"], ["2026-Q3"]), "FR_CA3": (["2026-09", "2026-10"], [])}``."""
    stored = _stored(deadlines)
    filed = {k for k, r in stored.items() if r["status"] == "filed"}
    out = {}
    for regime in REGIMES:
        current = calendar.period_of(regime, as_of)
        wanted = {current, shift(current, -1)}
        wanted |= {p for (r, p), row in stored.items() if r == regime and row["status"] != "filed"}
        periods = sorted(p for p in wanted if (regime, p) not in filed and p <= current)
        out[regime] = (periods, sorted(p for (r, p) in filed if r == regime))
    return out


def needed_lines(
    supply: pd.DataFrame, *, as_of: date, calendar: TaxCalendar, deadlines: pd.DataFrame
) -> pd.DataFrame:
    """The VAT lines :func:`build_ledger` reads on ``as_of``: known that day, in an open
    or a filed period of a regime (:func:`return_periods`). ``build_ledger`` of these
    lines is ``build_ledger`` of all; the tax step keeps only these from each slice of
    customers, as a shop's whole history of lines does not fit in memory."""
    supply = _known_on(supply, as_of)
    keep = np.zeros(len(supply), dtype=bool)
    for regime, (periods, filed_periods) in return_periods(as_of, calendar, deadlines).items():
        needed = set(periods) | set(filed_periods)
        period = _per_day(supply["tax_point_on"], partial(calendar.period_of, regime))
        in_regime = _of_regime(supply, regime).to_numpy(dtype=bool)
        keep |= in_regime & pd.Series(period, dtype=object).isin(needed).to_numpy(dtype=bool)
    return supply[keep]


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
) -> pd.DataFrame:
    """The lines of ``regime`` whose period is in ``needed`` (open or filed returns), as
    :func:`_ledger_line` makes them, one column at a time: periods per distinct day, the
    ECB rate per currency and period, euro amounts only off the euro, rates quantized
    per distinct rate (a night's returns hold hundreds of thousands of lines and a few
    hundred days, currencies and rates)."""
    rows = supply[_of_regime(supply, regime).to_numpy(dtype=bool)]
    period = _per_day(rows["tax_point_on"], lambda day: calendar.period_of(regime, day))
    wanted = pd.Series(period, dtype=object).isin(needed).to_numpy(dtype=bool)
    rows, period = rows[wanted], period[wanted]
    rows = rows.astype(object).where(rows.notna(), None)
    currency = rows["currency"].to_numpy(dtype=object)
    foreign = currency != "EUR"
    picks: dict[tuple[str, str], Pick | None] = {}
    for pair in zip(currency[foreign], period[foreign], strict=True):
        if pair in picks:
            continue
        picks[pair] = pick = fx.pick(pair[0], bounds(pair[1])[1])
        if pick is None:
            problems.append(
                Problem(
                    f"{regime} {pair[1]}",
                    f"no ECB rate for {pair[0]}: its lines are left out "
                    "(load the ECB CSV: echeancier tax load-fx FILE)",
                )
            )
        elif pick.provisional:
            provisional.add(ReturnKey(regime, pair[1]))
    chosen = np.full(len(rows), None, dtype=object)
    chosen[foreign] = [picks[pair] for pair in zip(currency[foreign], period[foreign], strict=True)]
    kept = np.array([not f or p is not None for f, p in zip(foreign, chosen, strict=True)], bool)
    rows, period, chosen = rows[kept], period[kept], chosen[kept]
    currency, foreign = currency[kept], foreign[kept]
    supply_period = _per_day(rows["supply_on"], lambda day: calendar.period_of(regime, day))
    earlier = period != supply_period if regime == "OSS" else np.zeros(len(rows), dtype=bool)
    section = np.where(earlier, "correction", "supplies").astype(object)
    corrected = np.where(earlier, supply_period, None).astype(object)
    fx_rate = np.array([p.rate if p is not None else None for p in chosen], dtype=object)
    fx_on = np.array([p.day if p is not None else None for p in chosen], dtype=object)
    rate = _quantized(rows["rate"])
    columns = {c: rows[c].to_numpy(dtype=object) for c in _FROM_SUPPLY}
    amounts, eur = {}, {}
    for k in ("taxable_base", "vat"):
        amounts[k] = np.array([int(v) for v in rows[k]] or [], dtype=object)
        eur[f"{k}_eur"] = amounts[k].copy()
        eur[f"{k}_eur"][foreign] = [
            to_eur(a, c, r)
            for a, c, r in zip(
                amounts[k][foreign], currency[foreign], fx_rate[foreign], strict=True
            )
        ]
    ids = [
        stable_id(regime, p, key, t, c, r, s, cp, "line")
        for p, key, t, c, r, s, cp in zip(
            period,
            columns["line_key"],
            columns["treatment"],
            columns["country"],
            rate,
            section,
            corrected,
            strict=True,
        )
    ]
    n = len(rows)
    return pd.DataFrame(
        {
            **{c: np.full(n, None, dtype=object) for c in VAT_LINE_COLUMNS},
            **columns,
            "vat_line_id": np.array(ids, dtype=object),
            "regime": np.full(n, regime, dtype=object),
            "period": period,
            "section": section,
            "corrected_period": corrected,
            "supply_period": supply_period,
            "rate": rate,
            "is_business": np.array([bool(v) for v in rows["is_business"]], dtype=object),
            "fx_rate": fx_rate,
            "fx_on": fx_on,
            **amounts,
            **eur,
            "return_currency": np.full(n, "EUR", dtype=object),
        },
        columns=list(VAT_LINE_COLUMNS),
    )


#: The columns a ledger line takes as they are from its VAT line: all of them but those
#: the ledger sets itself (flag, periods, the quantized rate and the amounts).
_FROM_SUPPLY = tuple(
    c for c in LINE_COLUMNS if c not in {"is_business", "supply_on", "rate", "taxable_base", "vat"}
)


def _known_on(supply: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """The returns as of ``as_of``: an event dated later is not known yet on that day."""
    return supply[_per_day(supply["tax_point_on"], lambda day: day <= as_of).astype(bool)]


def _stored(deadlines: pd.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["regime"], r["period"]): r for r in deadlines.astype(object).to_dict("records")}


def _of_regime(supply: pd.DataFrame, regime: str) -> pd.Series:
    """Which lines a regime's returns hold: every line in the CA3, the OSS lines in OSS."""
    if regime == "FR_CA3":
        return pd.Series(True, index=supply.index, dtype=bool)
    return (supply["treatment"] == "oss").astype(bool)


def _per_day(days: pd.Series, function: Any) -> np.ndarray:
    """``function`` of each day, computed once per distinct day."""
    codes, distinct = pd.factorize(days.astype(object), use_na_sentinel=False)
    results = np.empty(len(distinct), dtype=object)
    results[:] = [function(day) for day in distinct]
    return results[codes]


def _quantized(rates: pd.Series) -> np.ndarray:
    """``Decimal(str(rate)).quantize(RATE_QUANTUM)`` of each rate, once per distinct rate."""
    return _per_day(rates, lambda rate: Decimal(str(rate)).quantize(RATE_QUANTUM))


def _tuples(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """The rows of ``frame`` (in ``VAT_LINE_COLUMNS`` order) as tuples of Python values."""
    return list(zip(*(frame[c].tolist() for c in VAT_LINE_COLUMNS), strict=True))


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
    current: pd.DataFrame,
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
    now = [dict(line, event=line["period"]) for line in current.to_dict("records")]
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
