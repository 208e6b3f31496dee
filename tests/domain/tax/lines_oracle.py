"""The per-row ``supply_lines`` as it was before it went column-wise: the oracle the
equivalence test holds the column-wise one to (same lines, same order, same types,
same problems). Kept verbatim, only this docstring replaced and the shared names
imported, so it stays the specification the rules were hand-checked against."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from domain.normalise.b2b import reverse_charge as valid_foreign_vat_id
from domain.tax.amounts import share, vat_in_gross
from domain.tax.lines import (
    COLLECTED,
    LINE_COLUMNS,
    REFUND_VOID,
    SOLD_INVOICE,
    Facts,
    Problem,
)
from domain.tax.policy import EU_COUNTRIES, RateMissing, VatRates


@dataclass
class _Sale:
    """A sale's gross total and its lines, which a refund takes its share of."""

    gross: int
    currency: str
    lines: list[dict[str, Any]]


def supply_lines(
    facts: Facts, rates: VatRates, *, seller_country: str, timezone: str
) -> tuple[pd.DataFrame, list[Problem]]:
    """Every VAT line the facts give (sales and refunds), and the problems met."""
    tz = ZoneInfo(timezone)
    problems: list[Problem] = []
    customers = {r["customer_id"]: r for r in _records(facts.customers)}
    products = {r["subscription_id"]: r["product_id"] for r in _records(facts.subscriptions)}
    tax_lines: dict[str, list[dict[str, Any]]] = {}
    for row in _records(facts.invoice_tax_lines):
        tax_lines.setdefault(row["invoice_id"], []).append(row)
    derive = _Deriver(rates, seller_country, problems)

    sales: dict[str, _Sale] = {}  # invoice or payment id -> its lines
    out: list[dict[str, Any]] = []
    for inv in sorted(_records(facts.invoices), key=lambda r: r["invoice_id"]):
        if inv["status"] not in SOLD_INVOICE:
            continue
        day = _day(inv["issued_on"], tz) or _day(inv["finalized_at"], tz)
        day = day or _day(inv["created_at"], tz)
        if day is None:
            problems.append(Problem(inv["invoice_id"], "invoice has no issue date"))
            continue
        party = _Party(
            inv["customer_id"],
            inv["customer_country"] or _get(customers, inv["customer_id"], "country"),
            inv["customer_vat_id"],
            bool(inv["is_business"]),
        )
        base = {
            "source": "invoice",
            "source_id": inv["invoice_id"],
            "invoice_id": inv["invoice_id"],
            "payment_id": None,
            "provider": inv["provider"],
            "tax_point_on": day,
            "supply_on": day,
            "currency": inv["currency"],
            **party.columns(),
        }
        found = tax_lines.get(inv["invoice_id"], [])
        if found:
            lines = [
                _invoice_line(inv, row, base, party, rates, seller_country, problems)
                for row in sorted(found, key=lambda r: r["line_key"])
            ]
            lines = [line for line in lines if line is not None]
            if int(inv["tax"] or 0) != sum(line["vat"] for line in lines):
                problems.append(
                    Problem(inv["invoice_id"], "invoice tax differs from the sum of its tax lines")
                )
        elif int(inv["total"]) == 0:
            continue
        else:
            category = rates.category_of(products.get(inv["subscription_id"]))
            derived = derive(inv["invoice_id"], int(inv["total"]), party, day, category)
            lines = [] if derived is None else [{**base, **derived, "line_key": "derived"}]
        for line in lines:
            line["line_key"] = f"invoice:{inv['invoice_id']}:{line['line_key']}"
        out.extend(lines)
        sales[inv["invoice_id"]] = _Sale(int(inv["total"]), inv["currency"], lines)

    payments = {r["payment_id"]: r for r in _records(facts.payments)}
    for pay in sorted(payments.values(), key=lambda r: r["payment_id"]):
        if pay["invoice_id"] or pay["status"] not in COLLECTED:
            continue
        day = _day(pay["paid_at"], tz) or _day(pay["charge_date"], tz)
        day = day or _day(pay["created_at"], tz)
        customer = customers.get(pay["customer_id"], {})
        party = _Party(
            pay["customer_id"],
            customer.get("country"),
            customer.get("vat_id"),
            bool(customer.get("is_business")),
        )
        category = rates.category_of(products.get(pay["subscription_id"]))
        derived = derive(pay["payment_id"], int(pay["amount"]), party, day, category)
        if derived is None:
            continue
        line = {
            "line_key": f"payment:{pay['payment_id']}",
            "source": "payment",
            "source_id": pay["payment_id"],
            "invoice_id": None,
            "payment_id": pay["payment_id"],
            "provider": pay["provider"],
            "tax_point_on": day,
            "supply_on": day,
            "currency": pay["currency"],
            **party.columns(),
            **derived,
        }
        out.append(line)
        sales[pay["payment_id"]] = _Sale(int(pay["amount"]), pay["currency"], [line])

    for refund in sorted(_records(facts.refunds), key=lambda r: r["refund_id"]):
        if refund["status"] in REFUND_VOID:
            continue
        out.extend(_refund_lines(refund, payments, sales, tz, problems))

    frame = pd.DataFrame(out, columns=list(LINE_COLUMNS))
    return frame, problems


@dataclass(frozen=True)
class _Party:
    customer_id: str | None
    country: str | None
    vat_id: str | None
    is_business: bool

    def columns(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "customer_country": self.country,
            "customer_vat_id": self.vat_id,
            "is_business": self.is_business,
        }


class _Deriver:
    """VAT for a gross with no breakdown, by the customer's country and the dated rate."""

    def __init__(self, rates: VatRates, seller: str, problems: list[Problem]) -> None:
        self.rates, self.seller, self.problems = rates, seller, problems

    def __call__(
        self, object_id: str, gross: int, party: _Party, day: date | None, category: str
    ) -> dict[str, Any] | None:
        if day is None:
            self.problems.append(Problem(object_id, "no date to take the VAT rate on"))
            return None
        if not party.country:
            self.problems.append(Problem(object_id, "customer has no country: VAT not derived"))
            return None
        treatment = treatment_for(party, self.seller)
        if treatment in ("reverse_charge", "outside_eu"):
            rate = Decimal(0)
        else:
            vat_country = self.seller if treatment == "domestic" else party.country
            try:
                rate = self.rates.rate(vat_country, category, day)
            except RateMissing as exc:
                self.problems.append(Problem(object_id, str(exc)))
                return None
        vat = vat_in_gross(gross, rate)
        return {
            "treatment": treatment,
            "country": party.country if treatment != "domestic" else self.seller,
            "rate": rate,
            "rate_source": "policy",
            "rate_category": None if treatment in ("reverse_charge", "outside_eu") else category,
            "taxable_base": gross - vat,
            "vat": vat,
        }


def treatment_for(party: _Party, seller: str) -> str:
    """Where a sale with no breakdown is taxed (module docstring)."""
    if party.country == seller:
        return "domestic"
    if party.country not in EU_COUNTRIES:
        return "outside_eu"
    if party.is_business and valid_foreign_vat_id(party.vat_id, seller):
        return "reverse_charge"
    return "oss"


def _invoice_line(
    inv: Mapping[str, Any],
    row: Mapping[str, Any],
    base: Mapping[str, Any],
    party: _Party,
    rates: VatRates,
    seller: str,
    problems: list[Problem],
) -> dict[str, Any] | None:
    country = row["country"] or party.country
    rate = Decimal(str(row["rate"])) if row["rate"] is not None else Decimal(0)
    if inv["reverse_charge"] or row["taxability_reason"] == "reverse_charge":
        treatment = "reverse_charge"
        country = party.country or country
        if not (party.is_business and valid_foreign_vat_id(party.vat_id, seller)):
            problems.append(
                Problem(
                    inv["invoice_id"],
                    "reverse charge without a valid VAT id of another member state",
                )
            )
    elif country == seller:
        treatment = "domestic"
    elif country in EU_COUNTRIES:
        treatment = "oss"
    else:
        treatment = "outside_eu"
    if not country:
        problems.append(Problem(inv["invoice_id"], "tax line has no country"))
        return None
    if treatment in ("domestic", "oss") and rate not in rates.rates_on(
        country, base["tax_point_on"]
    ):
        problems.append(
            Problem(
                inv["invoice_id"],
                f"rate {rate} % is not a {country} rate on {base['tax_point_on']} "
                "in vat_rates.yaml",
            )
        )
    if treatment == "oss" and party.is_business and valid_foreign_vat_id(party.vat_id, seller):
        problems.append(
            Problem(inv["invoice_id"], "foreign VAT charged to a business with a valid VAT id")
        )
    return {
        **base,
        "line_key": row["line_key"],
        "treatment": treatment,
        "country": country,
        "rate": rate,
        "rate_source": "invoice",
        "rate_category": None,
        "taxable_base": int(row["taxable_amount"]),
        "vat": int(row["tax_amount"]),
    }


def _refund_lines(
    refund: Mapping[str, Any],
    payments: Mapping[str, Mapping[str, Any]],
    sales: Mapping[str, _Sale],
    tz: ZoneInfo,
    problems: list[Problem],
) -> list[dict[str, Any]]:
    refund_id = refund["refund_id"]
    payment = payments.get(refund["payment_id"] or "")
    if payment is None:
        problems.append(Problem(refund_id, "refund of a payment that is not in the warehouse"))
        return []
    sale = sales.get(payment["invoice_id"] or payment["payment_id"])
    if sale is None or not sale.lines:
        problems.append(Problem(refund_id, "refund of a sale that is in no return"))
        return []
    if refund["currency"] != sale.currency:
        problems.append(Problem(refund_id, "refund currency differs from the sale's"))
        return []
    day = _day(refund["created_at"], tz)
    if day is None:
        problems.append(Problem(refund_id, "refund has no date"))
        return []
    amount = int(refund["amount"])
    if amount > sale.gross:
        problems.append(Problem(refund_id, "refund exceeds the sale it refunds"))
    grosses = [line["taxable_base"] + line["vat"] for line in sale.lines]
    target = share(sum(grosses), amount, sale.gross)
    out = []
    given = 0
    for n, line in enumerate(sale.lines):
        last = n == len(sale.lines) - 1
        gross = target - given if last else share(grosses[n], amount, sale.gross)
        given += gross
        vat = share(line["vat"], amount, sale.gross)
        suffix = line["line_key"].split(":", 2)[-1] if line["source"] == "invoice" else "payment"
        out.append(
            {
                **line,
                "line_key": f"refund:{refund_id}:{suffix}",
                "source": "refund",
                "source_id": refund_id,
                "payment_id": payment["payment_id"],
                "provider": refund["provider"],
                "tax_point_on": day,
                "taxable_base": -(gross - vat),
                "vat": -vat,
            }
        )
    return out


def _records(frame: pd.DataFrame) -> Iterable[dict[str, Any]]:
    """Rows as dicts with ``None`` for missing values (pandas' NaN/NaT/NA)."""
    clean = frame.astype(object).where(frame.notna(), None)
    return clean.to_dict("records")


def _get(table: Mapping[str, Mapping[str, Any]], key: Any, column: str) -> Any:
    return table.get(key, {}).get(column)


def _day(value: Any, tz: ZoneInfo) -> date | None:
    """A business date from a date, an ISO string or an instant (read in ``tz``)."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive instant {value.isoformat()}: give a time zone")
        return value.astimezone(tz).date()
    if isinstance(value, date):
        return value
    text = str(value)
    if len(text) == 10:
        return date.fromisoformat(text)
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:  # SQLite's UTC wall time without its zone
        from datetime import UTC

        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(tz).date()
