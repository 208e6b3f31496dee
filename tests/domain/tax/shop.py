"""A hand-made shop for the tax tests: a few invoices, payments and refunds whose VAT is
computed by hand in the tests (never by the code under test)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from domain.tax.lines import COLUMNS, Facts

# Valid-format VAT ids (stdnum checksums) of a German and a French business.
DE_VAT = "DE136695976"
FR_VAT = "FR40303265045"


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


class ShopBuilder:
    """Rows in the warehouse's shape, added one business event at a time."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in COLUMNS}

    def customer(
        self, cid: str, country: str | None, *, vat_id: str | None = None, business: bool = False
    ) -> None:
        self.rows["customers"].append(
            {"customer_id": cid, "country": country, "vat_id": vat_id, "is_business": business}
        )

    def invoice(
        self,
        iid: str,
        cid: str,
        day: str,
        lines: list[tuple[str, str, int, int]],  # (country, rate, base, vat)
        *,
        currency: str = "EUR",
        status: str = "paid",
        reverse: bool = False,
        payment: str | None = None,
    ) -> None:
        customer = next(c for c in self.rows["customers"] if c["customer_id"] == cid)
        base = sum(line[2] for line in lines)
        tax = sum(line[3] for line in lines)
        self.rows["invoices"].append(
            {
                "invoice_id": iid,
                "provider": "stripe",
                "customer_id": cid,
                "subscription_id": None,
                "status": status,
                "currency": currency,
                "total": base + tax,
                "tax": tax,
                "issued_on": date.fromisoformat(day),
                "finalized_at": at(day),
                "created_at": at(day),
                "customer_country": customer["country"],
                "customer_vat_id": customer["vat_id"],
                "is_business": customer["is_business"],
                "reverse_charge": reverse,
            }
        )
        for n, (country, rate, amount, vat) in enumerate(lines):
            self.rows["invoice_tax_lines"].append(
                {
                    "invoice_id": iid,
                    "line_key": f"txr_{country}_{rate}_{n}",
                    "country": country,
                    "rate": Decimal(rate),
                    "taxable_amount": amount,
                    "tax_amount": vat,
                    "currency": currency,
                    "taxability_reason": "reverse_charge" if reverse else "standard_rated",
                }
            )
        if payment:
            self.payment(payment, cid, day, base + tax, currency=currency, invoice=iid)

    def payment(
        self,
        pid: str,
        cid: str,
        day: str,
        amount: int,
        *,
        currency: str = "EUR",
        invoice: str | None = None,
        status: str = "succeeded",
        provider: str = "gocardless",
    ) -> None:
        self.rows["payments"].append(
            {
                "payment_id": pid,
                "provider": provider if invoice is None else "stripe",
                "customer_id": cid,
                "invoice_id": invoice,
                "subscription_id": None,
                "amount": amount,
                "currency": currency,
                "status": status,
                "created_at": at(day, 8),
                "paid_at": at(day),
                "charge_date": date.fromisoformat(day),
            }
        )

    def refund(self, rid: str, pid: str, day: str, amount: int, *, currency: str = "EUR") -> None:
        self.rows["refunds"].append(
            {
                "refund_id": rid,
                "provider": "stripe",
                "payment_id": pid,
                "amount": amount,
                "currency": currency,
                "status": "succeeded",
                "created_at": at(day),
            }
        )

    def facts(self) -> Facts:
        return Facts(
            **{
                name: pd.DataFrame(self.rows[name], columns=list(columns))
                for name, columns in COLUMNS.items()
            }
        )
