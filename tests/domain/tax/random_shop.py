"""A random shop in the warehouse's shape, with the awkward cases a real one has: no
country, unknown rates, reverse charge with and without a valid VAT id, non-euro
currencies, invoices with no tax lines, refunds of unknown payments, in another
currency, larger than the sale, with no date. For equivalence tests, not for figures
checked by hand."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from domain.tax.lines import COLUMNS, Facts
from tests.domain.tax.shop import DE_VAT, FR_VAT

COUNTRIES = ["FR", "FR", "FR", "DE", "DE", "IT", "BE", "NL", "US", "CH", "", None]
RATES = {"FR": ["20", "5.5", "10"], "DE": ["19", "7"], "IT": ["22"], "BE": ["21"], "NL": ["21"]}


def facts(seed: int, invoices: int = 300, payments: int = 120) -> Facts:
    """``invoices`` invoices (most paid by a payment) and ``payments`` payments with no
    invoice over 2025-2026, some refunded."""
    rnd = random.Random(seed)
    start, span = date(2025, 1, 1), 680

    def at(day: date, hour: int) -> datetime:
        return datetime(day.year, day.month, day.day, hour, rnd.randint(0, 59), tzinfo=UTC)

    customers = []
    for n in range(max(1, invoices // 3)):
        country = rnd.choice(COUNTRIES)
        business = rnd.random() < 0.2
        vat_id = rnd.choice([DE_VAT, FR_VAT, "DE123456789", None]) if business else None
        customers.append(
            {
                "customer_id": f"cus_{n}",
                "country": country,
                "vat_id": vat_id,
                "is_business": business,
            }
        )
    subscriptions = [
        {"subscription_id": f"sub_{n}", "product_id": rnd.choice(["p_std", None])}
        for n in range(20)
    ]
    rows: dict[str, list[dict[str, Any]]] = {
        "invoices": [],
        "invoice_tax_lines": [],
        "payments": [],
        "refunds": [],
    }

    def refund(payment_id: str, gross: int, day: date, currency: str) -> None:
        if rnd.random() < 0.85 or gross <= 0:
            return
        rows["refunds"].append(
            {
                "refund_id": f"re_{len(rows['refunds']):05d}",
                "provider": "stripe",
                "payment_id": rnd.choice([payment_id] * 9 + ["py_unknown"]),
                "amount": rnd.choice([gross, gross // 2 or 1, gross + 10, rnd.randint(1, gross)]),
                "currency": rnd.choice([currency] * 9 + ["SEK"]),
                "status": rnd.choice(["succeeded", "succeeded", "failed", None]),
                "created_at": None if rnd.random() < 0.03 else at(day + timedelta(days=20), 6),
            }
        )

    for n in range(invoices):
        who = rnd.choice(customers)
        day = start + timedelta(days=rnd.randrange(span))
        currency = rnd.choice(["EUR"] * 6 + ["USD", "JPY"])
        country = who["country"] or "FR"
        reverse = bool(who["is_business"]) and rnd.random() < 0.5
        iid = f"in_{n:05d}"
        base_sum = tax_sum = 0
        for k in range(rnd.choice([0, 1, 1, 1, 2, 3])):
            rate = "0" if reverse else rnd.choice([*RATES.get(country, ["0"]), "13"])
            base = rnd.randint(1, 40000)
            vat = int((Decimal(base) * Decimal(rate) / 100).to_integral_value())
            rows["invoice_tax_lines"].append(
                {
                    "invoice_id": iid,
                    "line_key": rnd.choice([f"txr_{k}", "txr_same"]),
                    "country": rnd.choice([country] * 8 + [None, "DE"]),
                    "rate": rnd.choice([Decimal(rate), Decimal(rate).quantize(Decimal("0.0001"))]),
                    "taxable_amount": base,
                    "tax_amount": vat + rnd.choice([0] * 20 + [1]),
                    "currency": currency,
                    "taxability_reason": rnd.choice(["standard_rated", "reverse_charge", None]),
                }
            )
            base_sum, tax_sum = base_sum + base, tax_sum + vat
        total = base_sum + tax_sum if base_sum else rnd.choice([0, rnd.randint(1, 30000)])
        status = rnd.choice(["paid"] * 6 + ["open", "uncollectible", "draft", "void", None])
        rows["invoices"].append(
            {
                "invoice_id": iid,
                "provider": "stripe",
                "customer_id": who["customer_id"],
                "subscription_id": rnd.choice([None, "sub_1", "sub_2"]),
                "status": status,
                "currency": currency,
                "total": total,
                "tax": rnd.choice([tax_sum, tax_sum, None]),
                "issued_on": rnd.choice([day, day, day, None]),
                "finalized_at": rnd.choice([at(day, 1), None]),
                "created_at": rnd.choice([at(day, 0)] * 9 + [None]),
                "customer_country": rnd.choice([who["country"], who["country"], None, ""]),
                "customer_vat_id": who["vat_id"],
                "is_business": who["is_business"],
                "reverse_charge": reverse,
            }
        )
        if status == "paid":
            pid = f"py_{n:05d}"
            rows["payments"].append(
                {
                    "payment_id": pid,
                    "provider": "stripe",
                    "customer_id": who["customer_id"],
                    "invoice_id": iid,
                    "subscription_id": None,
                    "amount": total,
                    "currency": currency,
                    "status": "succeeded",
                    "created_at": at(day, 2),
                    "paid_at": at(day, 3),
                    "charge_date": day,
                }
            )
            refund(pid, total, day, currency)
    for n in range(payments):
        who = rnd.choice(customers)
        day = start + timedelta(days=rnd.randrange(span))
        pid = f"PM{n:05d}"
        amount = rnd.randint(1, 20000)
        rows["payments"].append(
            {
                "payment_id": pid,
                "provider": "gocardless",
                "customer_id": rnd.choice([who["customer_id"]] * 9 + ["cus_unknown"]),
                "invoice_id": rnd.choice([None] * 9 + [""]),
                "subscription_id": rnd.choice([None, "sub_3", "sub_4"]),
                "amount": amount,
                "currency": "EUR",
                "status": rnd.choice(["succeeded"] * 6 + ["failed", "paid_out", "charged_back"]),
                "created_at": rnd.choice([at(day, 1)] * 9 + [None]),
                "paid_at": rnd.choice([at(day, 23), None]),
                "charge_date": rnd.choice([day, None]),
            }
        )
        refund(pid, amount, day, "EUR")
    rnd.shuffle(rows["invoices"])
    rnd.shuffle(rows["payments"])
    rnd.shuffle(rows["invoice_tax_lines"])
    frames = {**rows, "customers": customers, "subscriptions": subscriptions}
    return Facts(
        **{
            name: pd.DataFrame(
                [tuple(row[c] for c in columns) for row in frames[name]], columns=list(columns)
            )
            for name, columns in COLUMNS.items()
        }
    )
