"""VAT lines from the synced facts: what was sold, refunded, where, at which rate.

Three sources, one line per source and rate (amounts in the document's currency):

- **Invoices** (``open``, ``paid``, ``uncollectible``; drafts and voids are not sales):
  one line per ``invoice_tax_lines`` row, with the VAT the provider charged, on the
  invoice's issue day. An invoice of 100.00 EUR + 19 % DE VAT to a consumer gives
  ``(oss, DE, 19, base 10000, vat 1900)``.
- **Payments with no invoice** (GoCardless, one-off charges) that were collected: the
  VAT is derived from the gross with the dated rate of the customer's country for the
  product's category (``policies/vat_rates.yaml``): 49.00 EUR from a Belgian consumer
  at 21 % -> VAT 4900 × 21 / 121 = 850.41 -> 850, base 4050. An invoice with no tax
  lines is derived the same way.
- **Refunds**: negative lines on the refund's day, the refund's share of each line of
  the sale it refunds (VAT and gross rounded half-up per line, the last line taking the
  remainder of the gross), at the sale's country, rate and treatment.

Treatment: ``domestic`` (the seller's own VAT, French B2B included), ``oss`` (another
member state's VAT to a consumer), ``reverse_charge`` (a business with a valid-format
VAT id of another member state, ``stdnum``; no VAT), ``outside_eu``. Records that
cannot be placed (no country, no rate on file, a refund of an unknown payment) are
returned as problems with the object's id, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from domain.normalise.b2b import reverse_charge as valid_foreign_vat_id
from domain.tax.amounts import share, vat_in_gross
from domain.tax.policy import EU_COUNTRIES, RateMissing, VatRates

LINE_COLUMNS = (
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
    "supply_on",
    "treatment",
    "country",
    "rate",
    "rate_source",
    "rate_category",
    "taxable_base",
    "vat",
    "currency",
)

#: What each fact table must give (the task reads exactly these columns).
COLUMNS: Mapping[str, tuple[str, ...]] = {
    "invoices": (
        "invoice_id",
        "provider",
        "customer_id",
        "subscription_id",
        "status",
        "currency",
        "total",
        "tax",
        "issued_on",
        "finalized_at",
        "created_at",
        "customer_country",
        "customer_vat_id",
        "is_business",
        "reverse_charge",
    ),
    "invoice_tax_lines": (
        "invoice_id",
        "line_key",
        "country",
        "rate",
        "taxable_amount",
        "tax_amount",
        "currency",
        "taxability_reason",
    ),
    "payments": (
        "payment_id",
        "provider",
        "customer_id",
        "invoice_id",
        "subscription_id",
        "amount",
        "currency",
        "status",
        "created_at",
        "paid_at",
        "charge_date",
    ),
    "refunds": (
        "refund_id",
        "provider",
        "payment_id",
        "amount",
        "currency",
        "status",
        "created_at",
    ),
    "customers": ("customer_id", "country", "vat_id", "is_business"),
    "subscriptions": ("subscription_id", "product_id"),
}

SOLD_INVOICE = frozenset({"open", "paid", "uncollectible"})
#: Payments whose money was collected (a later chargeback does not undo the sale).
COLLECTED = frozenset({"succeeded", "refunded", "partially_refunded", "disputed", "charged_back"})
#: Refund statuses that give no money back.
REFUND_VOID = frozenset({"failed", "canceled", "cancelled", "bounced", "requires_action"})


@dataclass(frozen=True)
class Problem:
    """A record left out of (or doubtful in) the returns, and why. Ids only, no PII."""

    object_id: str
    reason: str


@dataclass(frozen=True)
class Facts:
    invoices: pd.DataFrame
    invoice_tax_lines: pd.DataFrame
    payments: pd.DataFrame
    refunds: pd.DataFrame
    customers: pd.DataFrame
    subscriptions: pd.DataFrame

    @classmethod
    def empty(cls) -> Facts:
        return cls(**{name: pd.DataFrame(columns=list(cols)) for name, cols in COLUMNS.items()})


#: A problem sorts by (phase: invoices, payments, refunds; the object's place in its
#: phase; the tax line's place in the invoice; the check's place among a line's checks),
#: the order the per-row rules met them in; ``_LAST`` puts an invoice-wide check after
#: its lines'.
_LAST = 1 << 62


def supply_lines(
    facts: Facts, rates: VatRates, *, seller_country: str, timezone: str
) -> tuple[pd.DataFrame, list[Problem]]:
    """Every VAT line the facts give (sales and refunds), and the problems met.

    Column-wise: the facts are never turned into one dict per row (that was most of
    this function's time on a medium shop). The ``Decimal`` rules are those of
    ``domain.tax.amounts``, applied to each distinct input where they are costly
    (rates, VAT ids). Lines come out in the order invoices (by id, their tax lines by
    key), payments (by id), refunds (by id, in the order of the sale's lines); the
    problems in the same order."""
    tz = ZoneInfo(timezone)
    found: list[tuple[tuple[int, int, int, int], Problem]] = []
    customers = _clean(facts.customers).drop_duplicates("customer_id", keep="last")
    customers = customers.set_index("customer_id")
    subscriptions = _clean(facts.subscriptions).drop_duplicates("subscription_id", keep="last")
    products = dict(zip(subscriptions["subscription_id"], subscriptions["product_id"], strict=True))

    def valid(values: pd.Series) -> pd.Series:
        return _each(values, lambda v: valid_foreign_vat_id(v, seller_country)).astype(bool)

    derive = _Deriver(rates, seller_country, valid)

    inv_lines, inv_sales = _invoice_lines(
        facts, customers, products, rates, seller_country, tz, valid, derive, found
    )
    payments = _with_day(facts.payments, ("paid_at", "charge_date", "created_at"), tz)
    pay_lines, pay_sales = _payment_lines(payments, customers, products, rates, derive, found)
    ref_lines = _refund_lines(
        facts.refunds, payments, [inv_sales, pay_sales], [inv_lines, pay_lines], tz, found
    )

    parts = [frame for frame in (inv_lines, pay_lines, ref_lines) if not frame.empty]
    problems = [problem for _, problem in sorted(found, key=lambda item: item[0])]
    if not parts:
        return pd.DataFrame(columns=list(LINE_COLUMNS)), problems
    frame = pd.concat([part[list(LINE_COLUMNS)] for part in parts], ignore_index=True)
    return _typed(frame), problems


def _each(values: pd.Series, function: Any) -> pd.Series:
    """``function`` of each value, computed once per distinct value (a column holds a
    few hundred days, countries or VAT ids for a hundred thousand rows). Only for
    functions that give equal results for equal values."""
    codes, distinct = pd.factorize(values.astype(object), use_na_sentinel=False)
    results = np.empty(len(distinct), dtype=object)
    # factorize gives a missing value back as NaN; the rules see None
    results[:] = [function(None if _missing(value) else value) for value in distinct]
    return pd.Series(results[codes], index=values.index, dtype=object)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NaT


def _truthy(values: pd.Series) -> pd.Series:
    """``bool(value)`` of each value (``None`` and ``""`` are false, as in the rules)."""
    return _each(values, bool).astype(bool)


def _distinct(columns: list[pd.Series], function: Any) -> pd.Series:
    """``function(*values)`` of each row of ``columns``, once per distinct combination."""
    frame = pd.DataFrame({n: c.astype(object) for n, c in enumerate(columns)})
    if frame.empty:
        return pd.Series([], index=columns[0].index, dtype=object)
    codes = frame.groupby(list(frame.columns), sort=False, dropna=False).ngroup().to_numpy()
    firsts = frame.drop_duplicates()
    results = np.empty(len(firsts), dtype=object)
    results[:] = [
        function(*(None if _missing(v) else v for v in row))
        for row in firsts.itertuples(index=False, name=None)
    ]
    return pd.Series(results[codes], index=columns[0].index, dtype=object)


def _invoice_lines(
    facts: Facts,
    customers: pd.DataFrame,
    products: Mapping[Any, Any],
    rates: VatRates,
    seller: str,
    tz: ZoneInfo,
    valid: Any,
    derive: _Deriver,
    found: list[tuple[tuple[int, int, int, int], Problem]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The lines of the sold invoices (their tax lines, or derived from the total) and
    the sales a refund can take its share of."""
    raw = facts.invoices[facts.invoices["status"].isin(SOLD_INVOICE)]
    inv = _with_day(raw, ("issued_on", "finalized_at", "created_at"), tz)
    inv = inv.sort_values("invoice_id", kind="stable", ignore_index=True)
    inv["order"] = range(len(inv))
    for order, object_id in _rows(inv[inv["day"].isna()], "order", "invoice_id"):
        found.append(((0, order, 0, 0), Problem(object_id, "invoice has no issue date")))
    inv = inv[inv["day"].notna()]
    inv = inv.assign(
        party_country=_or(
            inv["customer_country"], _lookup(inv["customer_id"], customers, "country")
        ),
        is_business=_truthy(inv["is_business"]),
    )
    inv["valid_id"] = inv["is_business"] & valid(inv["customer_vat_id"])
    party = ["customer_id", "party_country", "customer_vat_id", "is_business", "valid_id"]
    base = inv.assign(
        source="invoice",
        source_id=inv["invoice_id"],
        payment_id=None,
        tax_point_on=inv["day"],
        supply_on=inv["day"],
        sale_key=inv["invoice_id"],
    )

    taxed = _clean(facts.invoice_tax_lines).drop(columns=["currency"])
    taxed["position"] = range(len(taxed))
    taxed = taxed[taxed["invoice_id"].isin(inv["invoice_id"])]
    keep = ["invoice_id", "order", "reverse_charge", "day", "currency", "provider", *party]
    taxed = taxed.merge(inv[keep], on="invoice_id", how="inner")
    taxed = taxed.sort_values(["order", "line_key", "position"], kind="stable", ignore_index=True)
    taxed["sub"] = taxed.groupby("order").cumcount()

    reverse = _truthy(taxed["reverse_charge"]) | (taxed["taxability_reason"] == "reverse_charge")
    own = _or(taxed["country"], taxed["party_country"])
    country = own.where(~reverse, _or(taxed["party_country"], own))
    treatment = pd.Series(
        np.select(
            [reverse.to_numpy(), (country == seller).to_numpy(), country.isin(EU_COUNTRIES)],
            ["reverse_charge", "domestic", "oss"],
            "outside_eu",
        ),
        index=taxed.index,
        dtype=object,
    )
    rate = taxed["rate"].map(lambda r: Decimal(str(r)) if r is not None else Decimal(0))
    has_country = _truthy(country)
    valid_id = taxed["valid_id"].astype(bool)

    _note(found, taxed, reverse & ~valid_id, 0, lambda _: _NO_REVERSE)
    _note(found, taxed, ~has_country, 1, lambda _: "tax line has no country")
    off_rate = _distinct(
        [treatment, country, rate, taxed["day"]],
        lambda t, c, r, d: t in ("domestic", "oss") and bool(c) and r not in rates.rates_on(c, d),
    ).astype(bool)
    taxed = taxed.assign(country=country, rate=rate, treatment=treatment)
    _note(
        found,
        taxed,
        off_rate,
        2,
        lambda row: f"rate {row.rate} % is not a {row.country} rate on {row.day} in vat_rates.yaml",
    )
    _note(
        found,
        taxed,
        has_country & (treatment == "oss") & valid_id,
        3,
        lambda _: "foreign VAT charged to a business with a valid VAT id",
    )
    kept = taxed[has_country]
    kept = kept.assign(
        tax_point_on=kept["day"],
        supply_on=kept["day"],
        source="invoice",
        source_id=kept["invoice_id"],
        payment_id=None,
        rate_source="invoice",
        rate_category=None,
        taxable_base=_ints(kept["taxable_amount"]),
        vat=_ints(kept["tax_amount"]),
        sale_key=kept["invoice_id"],
    )

    with_lines = inv[inv["invoice_id"].isin(taxed["invoice_id"])]
    charged = kept.groupby("invoice_id")["vat"].sum()
    told = _each(with_lines["tax"], lambda tax: int(tax or 0)).astype("int64")
    summed = with_lines["invoice_id"].map(charged).fillna(0).astype("int64")
    for order, object_id in _rows(with_lines[told != summed], "order", "invoice_id"):
        found.append(
            (
                (0, order, _LAST, 0),
                Problem(object_id, "invoice tax differs from the sum of its tax lines"),
            )
        )

    bare = base[~base["invoice_id"].isin(taxed["invoice_id"])]
    bare = bare.assign(gross=_ints(bare["total"]))
    bare = bare[bare["gross"] != 0]
    bare = bare.assign(
        category=_each(bare["subscription_id"], lambda s: rates.category_of(products.get(s))),
        object_id=bare["invoice_id"],
        sub=0,
    )
    derived = derive(bare, found, phase=0)

    lines = pd.concat(
        [frame for frame in (kept, derived) if not frame.empty] or [kept], ignore_index=True
    )
    lines = lines.sort_values(["order", "sub"], kind="stable", ignore_index=True)
    lines = _party_columns(lines)
    lines["line_key"] = [
        f"invoice:{i}:{k}" for i, k in zip(lines["invoice_id"], lines["line_key"], strict=True)
    ]
    sales = pd.concat(
        [with_lines.assign(gross=_ints(with_lines["total"])), bare], ignore_index=True
    )
    return lines, sales.assign(sale_key=sales["invoice_id"])[["sale_key", "gross", "currency"]]


_NO_REVERSE = "reverse charge without a valid VAT id of another member state"


def _payment_lines(
    payments: pd.DataFrame,
    customers: pd.DataFrame,
    products: Mapping[Any, Any],
    rates: VatRates,
    derive: _Deriver,
    found: list[tuple[tuple[int, int, int, int], Problem]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The collected payments with no invoice, VAT derived from the gross."""
    pay = payments[~_truthy(payments["invoice_id"]) & payments["status"].isin(COLLECTED)]
    pay = pay.drop_duplicates("payment_id", keep="last")
    pay = pay.sort_values("payment_id", kind="stable", ignore_index=True)
    pay = pay.assign(
        order=range(len(pay)),
        sub=0,
        object_id=pay["payment_id"],
        gross=_ints(pay["amount"]),
        party_country=_lookup(pay["customer_id"], customers, "country"),
        customer_vat_id=_lookup(pay["customer_id"], customers, "vat_id"),
        is_business=_truthy(_lookup(pay["customer_id"], customers, "is_business")),
        category=_each(pay["subscription_id"], lambda s: rates.category_of(products.get(s))),
    )
    pay["valid_id"] = pay["is_business"] & derive.valid(pay["customer_vat_id"])
    derived = derive(pay, found, phase=1)
    heads = pay.assign(sale_key=pay["payment_id"])[["sale_key", "gross", "currency"]]
    if derived.empty:
        return derived, heads
    lines = _party_columns(
        derived.assign(
            line_key=["payment:" + str(p) for p in derived["payment_id"]],
            source="payment",
            source_id=derived["payment_id"],
            invoice_id=None,
            tax_point_on=derived["day"],
            supply_on=derived["day"],
            sale_key=derived["payment_id"],
        )
    )
    return lines, heads


class _Deriver:
    """VAT for a gross with no breakdown, by the customer's country and the dated rate."""

    def __init__(self, rates: VatRates, seller: str, valid: Any) -> None:
        self.rates, self.seller, self.valid = rates, seller, valid

    def _rate(self, zero: bool, treatment: str, country: str, category: str, day: date) -> Any:
        """The rate of a derived line, or the reason there is none."""
        if zero:
            return Decimal(0)
        try:
            return self.rates.rate(
                self.seller if treatment == "domestic" else country, category, day
            )
        except RateMissing as exc:
            return str(exc)

    def __call__(
        self,
        frame: pd.DataFrame,
        found: list[tuple[tuple[int, int, int, int], Problem]],
        *,
        phase: int,
    ) -> pd.DataFrame:
        """The rows of ``frame`` (``object_id``, ``gross``, ``party_country``,
        ``valid_id``, ``day``, ``category``, ``order``) that get a line, with the line's
        VAT columns; the others are noted as problems."""
        if frame.empty:
            return frame.iloc[0:0]
        no_day = frame["day"].isna()
        for order, object_id in _rows(frame[no_day], "order", "object_id"):
            problem = Problem(object_id, "no date to take the VAT rate on")
            found.append(((phase, order, 0, 0), problem))
        frame = frame[~no_day]
        no_country = ~_truthy(frame["party_country"])
        for order, object_id in _rows(frame[no_country], "order", "object_id"):
            problem = Problem(object_id, "customer has no country: VAT not derived")
            found.append(((phase, order, 0, 0), problem))
        frame = frame[~no_country]
        country = frame["party_country"]
        treatment = pd.Series(
            np.select(
                [
                    (country == self.seller).to_numpy(),
                    (~country.isin(EU_COUNTRIES)).to_numpy(),
                    frame["valid_id"].to_numpy(dtype=bool),
                ],
                ["domestic", "outside_eu", "reverse_charge"],
                "oss",
            ),
            index=frame.index,
            dtype=object,
        )
        zero = treatment.isin(("reverse_charge", "outside_eu"))
        rate = _distinct([zero, treatment, country, frame["category"], frame["day"]], self._rate)
        missing = pd.Series([isinstance(r, str) for r in rate], index=rate.index, dtype=bool)
        for order, object_id, reason in _rows(
            frame[missing].assign(reason=rate[missing]), "order", "object_id", "reason"
        ):
            found.append(((phase, order, 0, 0), Problem(object_id, reason)))
        frame, treatment, rate, zero = (
            frame[~missing],
            treatment[~missing],
            rate[~missing],
            zero[~missing],
        )
        vat = pd.Series(
            [vat_in_gross(g, r) for g, r in zip(frame["gross"], rate, strict=True)],
            index=frame.index,
            dtype="int64",
        )
        return frame.assign(
            treatment=treatment,
            country=frame["party_country"].where(treatment != "domestic", self.seller),
            rate=rate,
            rate_source="policy",
            rate_category=frame["category"].where(~zero, None),
            taxable_base=frame["gross"] - vat,
            vat=vat,
            line_key="derived",
        )


def _refund_lines(
    refunds: pd.DataFrame,
    payments: pd.DataFrame,
    heads: list[pd.DataFrame],
    lines: list[pd.DataFrame],
    tz: ZoneInfo,
    found: list[tuple[tuple[int, int, int, int], Problem]],
) -> pd.DataFrame:
    """Each refund's share of each line of the sale it refunds (module docstring)."""
    sales, sale_lines = _sales(heads, lines)
    ref = refunds[~refunds["status"].isin(REFUND_VOID)]
    ref = _with_day(ref, ("created_at",), tz)
    ref = ref.sort_values("refund_id", kind="stable", ignore_index=True)
    ref["order"] = range(len(ref))
    paid = payments.drop_duplicates("payment_id", keep="last").set_index("payment_id")
    known = _truthy(ref["payment_id"]) & ref["payment_id"].isin(paid.index)
    ref["sale_key"] = _or(
        _lookup(ref["payment_id"], paid, "invoice_id"), ref["payment_id"].where(known, None)
    )
    heads_by_key = sales.set_index("sale_key")
    has_sale = known & ref["sale_key"].isin(heads_by_key.index)
    sale_currency = _lookup(ref["sale_key"], heads_by_key, "currency")
    sale_gross = _lookup(ref["sale_key"], heads_by_key, "gross")
    same_currency = pd.Series(
        [a == b for a, b in zip(ref["currency"], sale_currency, strict=True)],
        index=ref.index,
        dtype=bool,
    )
    checks = [
        (~known, "refund of a payment that is not in the warehouse"),
        (~has_sale, "refund of a sale that is in no return"),
        (~same_currency, "refund currency differs from the sale's"),
        (ref["day"].isna(), "refund has no date"),
    ]
    left = pd.Series(True, index=ref.index)
    for failed, reason in checks:
        for order, object_id in _rows(ref[left & failed], "order", "refund_id"):
            found.append(((2, order, 0, 0), Problem(object_id, reason)))
        left &= ~failed
    ref = ref[left].assign(amount=_ints(ref.loc[left, "amount"]), gross=sale_gross[left])
    over = ref["amount"] > ref["gross"]
    for order, object_id in _rows(ref[over], "order", "refund_id"):
        found.append(((2, order, 0, 0), Problem(object_id, "refund exceeds the sale it refunds")))
    if ref.empty:
        return ref
    refs = ref[["order", "refund_id", "payment_id", "provider", "day", "amount", "sale_key"]]
    refs = refs.rename(columns={"provider": "refund_provider", "payment_id": "refund_payment_id"})
    refs = refs.assign(
        target=[
            share(total, amount, gross)
            for total, amount, gross in zip(
                _lookup(ref["sale_key"], heads_by_key, "grosses"),
                ref["amount"],
                ref["gross"],
                strict=True,
            )
        ],
        gross=ref["gross"],
    )
    out = refs.merge(sale_lines, on="sale_key", how="inner")
    out = out.sort_values(["order", "n"], kind="stable", ignore_index=True)
    amounts = list(zip(out["taxable_base"] + out["vat"], out["amount"], out["gross"], strict=True))
    part = pd.Series([share(g, a, w) for g, a, w in amounts], index=out.index, dtype="int64")
    last = out["n"] == out["count"] - 1
    given = part.where(~last, 0).groupby(out["order"]).transform("sum")
    gross = part.where(~last, out["target"] - given)
    vat = pd.Series(
        [share(v, a, w) for v, a, w in zip(out["vat"], out["amount"], out["gross"], strict=True)],
        index=out.index,
        dtype="int64",
    )
    suffix = [
        key.split(":", 2)[-1] if source == "invoice" else "payment"
        for key, source in zip(out["line_key"], out["source"], strict=True)
    ]
    return out.assign(
        line_key=[f"refund:{r}:{s}" for r, s in zip(out["refund_id"], suffix, strict=True)],
        source="refund",
        source_id=out["refund_id"],
        payment_id=out["refund_payment_id"],
        provider=out["refund_provider"],
        tax_point_on=out["day"],
        taxable_base=-(gross - vat),
        vat=-vat,
    )


def _sales(
    heads: list[pd.DataFrame], lines: list[pd.DataFrame]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sales a refund can take its share of: one row per sale with at least one
    line (``sale_key``, ``gross``, ``currency``, ``grosses`` the sum of its lines'
    gross), and their lines numbered ``n`` of ``count`` in the sale's order (invoice
    and payment ids never share a value). A sale with no line is in no return."""
    columns = ["sale_key", *LINE_COLUMNS]
    own = [frame[columns] for frame in lines if not frame.empty]
    if not own:
        return (
            pd.DataFrame(columns=["sale_key", "gross", "currency", "grosses"]),
            pd.DataFrame(columns=[*columns, "n", "count"]),
        )
    every = pd.concat(heads, ignore_index=True).drop_duplicates("sale_key", keep="last")
    sale_lines = pd.concat(own, ignore_index=True)
    sale_lines["n"] = sale_lines.groupby("sale_key", sort=False).cumcount()
    sale_lines["count"] = sale_lines.groupby("sale_key", sort=False)["n"].transform("size")
    grosses = (sale_lines["taxable_base"] + sale_lines["vat"]).groupby(sale_lines["sale_key"]).sum()
    sales = every[every["sale_key"].isin(grosses.index)]
    sales = sales.assign(grosses=sales["sale_key"].map(grosses))
    return sales.reset_index(drop=True), sale_lines.reset_index(drop=True)


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with Python values and ``None`` for missing ones (pandas' NaN/NaT/NA),
    as the rules compare them."""
    return frame.astype(object).where(frame.notna(), None)


def _with_day(frame: pd.DataFrame, columns: tuple[str, ...], tz: ZoneInfo) -> pd.DataFrame:
    """``frame`` cleaned, with ``day`` (the first of ``columns`` that gives a date) in
    place of ``columns`` (instants are costly as Python objects and not needed after)."""
    day: pd.Series | None = None
    for column in columns:
        found = _days(frame[column], tz)
        day = found if day is None else day.where(day.notna(), found)
    out = _clean(frame.drop(columns=list(columns)))
    out["day"] = (day if day is not None else pd.Series(None, index=frame.index)).astype(object)
    out["day"] = out["day"].where(out["day"].notna(), None)
    return out


def _days(values: pd.Series, tz: ZoneInfo) -> pd.Series:
    """``_day`` of each value; instants of an aware column are converted at once."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        local = pd.Series(values.dt.tz_convert(tz).dt.date, index=values.index, dtype=object)
        return local.where(values.notna(), None)
    clean = values.astype(object).where(values.notna(), None)
    return _each(clean, lambda value: _day(value, tz))


def _or(first: pd.Series, second: pd.Series) -> pd.Series:
    """``first or second``, value by value."""
    out = first.where(_truthy(first), second)
    return out.astype(object).where(out.notna(), None)


def _lookup(keys: pd.Series, table: pd.DataFrame, column: str) -> pd.Series:
    """``table[column]`` of each key (``None`` when the key is not in the table)."""
    out = keys.map(table[column]) if len(table) else pd.Series(None, index=keys.index)
    return out.astype(object).where(out.notna(), None)


def _ints(values: pd.Series) -> pd.Series:
    return pd.Series([int(v) for v in values], index=values.index, dtype="int64")


def _rows(frame: pd.DataFrame, *columns: str) -> Iterable[tuple[Any, ...]]:
    return zip(*(frame[c] for c in columns), strict=True)


def _note(
    found: list[tuple[tuple[int, int, int, int], Problem]],
    lines: pd.DataFrame,
    mask: pd.Series,
    check: int,
    reason: Any,
) -> None:
    """A problem for each invoice tax line of ``mask``, sorted by its line and ``check``."""
    for row in lines[mask.to_numpy(dtype=bool)].itertuples(index=False):
        found.append(((0, row.order, row.sub, check), Problem(row.invoice_id, reason(row))))


def _party_columns(lines: pd.DataFrame) -> pd.DataFrame:
    return lines.assign(customer_country=lines["party_country"])


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns typed as pandas types Python values (strings, integer amounts, a
    boolean ``is_business``, ``Decimal`` rates, dates), as the ledger reads them."""
    clean = frame.astype(object).where(frame.notna(), None)
    return pd.DataFrame({column: clean[column].tolist() for column in LINE_COLUMNS})


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
