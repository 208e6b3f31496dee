"""The €10 000 OSS threshold (VAT Directive art. 59c): cross-border B2C distance sales.

One EU-wide total per calendar year of the taxable base (excluding VAT, in euro) of
sales to consumers in member states other than the seller's — everything but the
domestic sales, the reverse-charged B2B sales and the sales outside the EU; refunds
reduce it. Below it, in the current and the previous year, a seller may charge its
home VAT; from the sale that crosses it, the destination country's VAT is due. Example:
sales of 6 000 € on 2026-03-02 and 4 500 € on 2026-05-10 cross on 2026-05-10
(10 500 € > 10 000 €); ``destination_vat_required`` is then true for 2026, and for
2027 because 2026 was over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pandas as pd

from domain.tax.amounts import to_eur
from domain.tax.fx import FxTable
from domain.tax.periods import bounds, period_of
from domain.tax.policy import EU_COUNTRIES


@dataclass(frozen=True)
class ThresholdYear:
    year: int
    distance_sales: int  # euro cents, excluding VAT
    threshold: int
    crossed_on: date | None
    previous_year_sales: int
    destination_vat_required: bool
    computed_on: date
    currency: str = "EUR"


def distance_sales(supply: pd.DataFrame, fx: FxTable, *, seller_country: str) -> pd.DataFrame:
    """The lines that count, with their base in euro cents (quarter-end ECB rate)."""
    foreign = supply["customer_country"].isin(EU_COUNTRIES - {seller_country})
    counted = supply[foreign & supply["treatment"].isin(["oss", "domestic"])]
    bases = [int(base) for base in counted["taxable_base"]]
    lines = zip(
        counted["tax_point_on"], counted["line_key"], counted["currency"], bases, strict=True
    )
    rates: dict[tuple[str, date], Decimal | None] = {}
    rows = []
    for day, key, currency, base in lines:
        if currency == "EUR":
            rows.append((day, key, base))
            continue
        end = bounds(period_of("quarter", day))[1]
        if (currency, end) not in rates:
            pick = fx.pick(currency, end)
            rates[currency, end] = None if pick is None else pick.rate
        rate = rates[currency, end]
        if rate is None:
            continue  # reported as a problem by the returns
        rows.append((day, key, to_eur(base, currency, rate)))
    return pd.DataFrame(rows, columns=["day", "line_key", "base_eur"])


def counted_sales(sales: pd.DataFrame, *, as_of: date) -> pd.DataFrame:
    """The distance sales :func:`threshold_years` reads on ``as_of``: up to that day, of
    its calendar year and the two before (the previous year's own previous year). The
    tax step keeps only these from each slice of customers."""
    if sales.empty:
        return sales
    days = sales["day"]
    first = date(as_of.year - 2, 1, 1)
    keep = [first <= day <= as_of for day in days]
    return sales[pd.Series(keep, index=sales.index, dtype=bool)]


def threshold_years(sales: pd.DataFrame, *, as_of: date, threshold: int) -> list[ThresholdYear]:
    """The previous and the current calendar year of ``as_of`` (sales up to ``as_of``)."""
    sales = counted_sales(sales, as_of=as_of)
    out = []
    totals: dict[int, int] = {}
    years = pd.Series([d.year for d in sales["day"]], index=sales.index, dtype="int64")
    for year in (as_of.year - 2, as_of.year - 1, as_of.year):
        own = sales[(years == year).to_numpy(dtype=bool)] if not sales.empty else sales
        own = own.sort_values(["day", "line_key"]) if not own.empty else own
        running = own["base_eur"].cumsum() if not own.empty else pd.Series(dtype="int64")
        over = own[running > threshold] if not own.empty else own
        totals[year] = int(own["base_eur"].sum()) if not own.empty else 0
        if year < as_of.year - 1:
            continue
        crossed_on = over["day"].iloc[0] if not over.empty else None
        previous = totals.get(year - 1, 0)
        out.append(
            ThresholdYear(
                year=year,
                distance_sales=totals[year],
                threshold=threshold,
                crossed_on=crossed_on,
                previous_year_sales=previous,
                destination_vat_required=previous > threshold or crossed_on is not None,
                computed_on=as_of,
            )
        )
    return out
