"""The tax step's pure pieces on a synthetic medium shop (not a test; run by hand).

    .venv/bin/python bench/tax_pieces.py [--files]

Builds ``Facts`` of about 150 000 invoices (165 000 tax lines), 160 000 payments and
6 700 refunds over 2025-2026 (seed 7; cached in /tmp/tax_pieces_facts.pkl), every
2026 return still open, and prints the wall and CPU seconds of ``supply_lines``,
``build_ledger`` and, with ``--files``, two nights of ``write_tax_files`` (the second
with nothing changed) into a temporary folder. No warehouse is needed, so it takes
minutes instead of the whole-night bench's setup.

    .venv/bin/python bench/tax_pieces.py --load URL [--scale N]

writes the same facts (``N`` times as many invoices, payments and customers) and ECB
rates into the warehouse at ``URL`` (migrated first; a scratch database, never a
bench's), for ``bench/tax_step.py`` to run the step's tasks on; statuses the warehouse
does not know are mapped to ``succeeded``.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from domain.tax.fx import FxRate
from domain.tax.ledger import DEADLINE_COLUMNS
from domain.tax.lines import COLUMNS, Facts

DE_VAT = "DE136695976"
FR_VAT = "FR40303265045"
COUNTRIES = ["FR"] * 8 + ["DE"] * 3 + ["IT", "BE", "NL", "ES", "AT", "US", "GB", "CH", None]
RATES = {
    "FR": ["20", "5.5", "10"],
    "DE": ["19", "7"],
    "IT": ["22"],
    "BE": ["21"],
    "NL": ["21"],
    "ES": ["21"],
    "AT": ["20"],
    "US": ["0"],
    "GB": ["0"],
    "CH": ["0"],
}


def facts(
    n_invoices: int = 150_000,
    n_gc: int = 40_000,
    n_customers: int = 50_000,
    seed: int = 7,
    start: date = date(2025, 1, 1),
    end: date = date(2026, 11, 26),
    tz_aware: bool = True,
) -> Facts:
    rnd = random.Random(seed)
    span = (end - start).days
    customers = []
    for i in range(n_customers):
        c = rnd.choice(COUNTRIES)
        biz = rnd.random() < 0.1
        vat = (
            (DE_VAT if c == "DE" else FR_VAT if c == "FR" else "XX123")
            if biz and rnd.random() < 0.8
            else None
        )
        customers.append(
            {"customer_id": f"cus_{i}", "country": c, "vat_id": vat, "is_business": biz}
        )
    subs = [
        {"subscription_id": f"sub_{i}", "product_id": rnd.choice(["p_std", "p_book", None])}
        for i in range(5000)
    ]

    def at(day: date, hour: int) -> datetime:
        return datetime(day.year, day.month, day.day, hour, rnd.randint(0, 59), tzinfo=UTC)

    invoices, tlines, payments, refunds = [], [], [], []
    for i in range(n_invoices):
        cu = customers[rnd.randrange(n_customers)]
        day = start + timedelta(days=rnd.randrange(span))
        cur = rnd.choices(["EUR", "USD", "GBP", "JPY"], [85, 8, 5, 2])[0]
        status = rnd.choices(["paid", "open", "uncollectible", "draft", "void"], [80, 8, 2, 5, 5])[
            0
        ]
        iid = f"in_{i:07d}"
        country = cu["country"] or "FR"
        reverse = cu["is_business"] and country not in ("FR",) and rnd.random() < 0.7
        nlines = rnd.choices([0, 1, 2], [5, 80, 15])[0]
        base_total = tax_total = 0
        for n in range(nlines):
            rate = "0" if reverse else rnd.choice(RATES.get(country, ["20"]))
            if rnd.random() < 0.01:
                rate = "13"  # a rate not on file
            base = rnd.randint(100, 50000)
            vat = int((Decimal(base) * Decimal(rate) / 100).to_integral_value())
            if rnd.random() < 0.005:
                vat += 1
            tlines.append(
                {
                    "invoice_id": iid,
                    "line_key": f"txr_{n}",
                    "country": None if rnd.random() < 0.01 else country,
                    "rate": Decimal(rate).quantize(Decimal("0.0001")),
                    "taxable_amount": base,
                    "tax_amount": vat,
                    "currency": cur,
                    "taxability_reason": "reverse_charge" if reverse else "standard_rated",
                }
            )
            base_total += base
            tax_total += vat
        total = base_total + tax_total if nlines else rnd.choice([0, rnd.randint(100, 30000)])
        issued = None if rnd.random() < 0.05 else day
        invoices.append(
            {
                "invoice_id": iid,
                "provider": "stripe",
                "customer_id": cu["customer_id"],
                "subscription_id": rnd.choice([None, f"sub_{rnd.randrange(5000)}"]),
                "status": status,
                "currency": cur,
                "total": total,
                "tax": tax_total if nlines or rnd.random() < 0.5 else None,
                "issued_on": issued,
                "finalized_at": at(day, 3) if rnd.random() < 0.9 else None,
                "created_at": at(day, 2),
                "customer_country": cu["country"] if rnd.random() < 0.9 else None,
                "customer_vat_id": cu["vat_id"],
                "is_business": cu["is_business"],
                "reverse_charge": reverse,
            }
        )
        if status == "paid":
            pid = f"py_{i:07d}"
            payments.append(
                {
                    "payment_id": pid,
                    "provider": "stripe",
                    "customer_id": cu["customer_id"],
                    "invoice_id": iid,
                    "subscription_id": None,
                    "amount": total,
                    "currency": cur,
                    "status": "succeeded",
                    "created_at": at(day, 4),
                    "paid_at": at(day, 5),
                    "charge_date": day,
                }
            )
            if rnd.random() < 0.04 and total:
                rday = day + timedelta(days=rnd.randint(0, 90))
                refunds.append(
                    {
                        "refund_id": f"re_{len(refunds):07d}",
                        "provider": "stripe",
                        "payment_id": pid,
                        "amount": rnd.choice([total, max(1, total // 2), rnd.randint(1, total)]),
                        "currency": cur if rnd.random() < 0.99 else "EUR",
                        "status": rnd.choices(["succeeded", "failed", "pending"], [90, 5, 5])[0],
                        "created_at": at(rday, 6) if rnd.random() < 0.99 else None,
                    }
                )
    for i in range(n_gc):
        cu = customers[rnd.randrange(n_customers)]
        day = start + timedelta(days=rnd.randrange(span))
        pid = f"PM{i:07d}"
        amount = rnd.randint(100, 20000)
        payments.append(
            {
                "payment_id": pid,
                "provider": "gocardless",
                "customer_id": cu["customer_id"] if rnd.random() < 0.99 else f"cus_missing_{i}",
                "invoice_id": None,
                "subscription_id": rnd.choice([None, f"sub_{rnd.randrange(5000)}"]),
                "amount": amount,
                "currency": "EUR",
                "status": rnd.choices(
                    ["paid_out", "succeeded", "failed", "charged_back", "refunded"],
                    [10, 75, 8, 2, 5],
                )[0],
                "created_at": at(day, 1),
                "paid_at": at(day, 9) if rnd.random() < 0.7 else None,
                "charge_date": day if rnd.random() < 0.9 else None,
            }
        )
        if rnd.random() < 0.05:
            rday = day + timedelta(days=rnd.randint(0, 60))
            refunds.append(
                {
                    "refund_id": f"RF{i:07d}",
                    "provider": "gocardless",
                    "payment_id": pid if rnd.random() < 0.97 else f"PMX{i}",
                    "amount": rnd.choice([amount, amount // 3 or 1, amount + 5]),
                    "currency": "EUR",
                    "status": "paid",
                    "created_at": at(rday, 7),
                }
            )
    rnd.shuffle(invoices)
    rnd.shuffle(payments)
    frames = {
        "invoices": invoices,
        "invoice_tax_lines": tlines,
        "payments": payments,
        "refunds": refunds,
        "customers": customers,
        "subscriptions": subs,
    }
    return Facts(
        **{
            k: pd.DataFrame([tuple(r[c] for c in COLUMNS[k]) for r in v], columns=list(COLUMNS[k]))
            for k, v in frames.items()
        }
    )


def fx(start: date = date(2024, 12, 1), end: date = date(2026, 11, 20)) -> list[FxRate]:
    out = []
    day = start
    n = 0
    while day <= end:
        if day.weekday() < 5:
            n += 1
            out.append(FxRate("USD", day, Decimal("1.1") + Decimal(n % 97) / 1000))
            out.append(FxRate("GBP", day, Decimal("0.85") + Decimal(n % 53) / 1000))
            out.append(FxRate("JPY", day, Decimal("160") + Decimal(n % 41) / 10))
        day += timedelta(days=1)
    return out


def deadlines(as_of: date) -> pd.DataFrame:
    """Every 2026 return unfiled (so they are all recomputed), 2025 ones filed."""
    rows = []
    for m in range(1, as_of.month + 1):
        rows.append({"regime": "FR_CA3", "period": f"2026-{m:02d}", "status": "open"})
    for q in range(1, (as_of.month - 1) // 3 + 2):
        rows.append({"regime": "OSS", "period": f"2026-Q{q}", "status": "open"})
    frame = pd.DataFrame(
        [{**dict.fromkeys(DEADLINE_COLUMNS), **r} for r in rows], columns=list(DEADLINE_COLUMNS)
    )
    return frame


def load(url: str, shop: Facts) -> None:
    """Write ``shop`` and :func:`fx` into the (migrated) warehouse at ``url``."""
    from sqlalchemy import insert

    from echeancier.run_cli import upgrade_database
    from warehouse import tables
    from warehouse.columns import PAYMENT_STATUSES
    from warehouse.engine import make_engine
    from warehouse.tax_tables import fx_rates
    from warehouse.upsert import upsert

    upgrade_database(url)
    engine = make_engine(url)
    extra: dict[str, dict[str, Any]] = {
        "customers": {"provider": "stripe"},
        "subscriptions": {
            "provider": "stripe",
            "customer_id": "cus_0",
            "status": "active",
            "tacit_renewal": False,
            "currency": "EUR",
        },
        "invoices": {"amount_paid": 0, "amount_remaining": 0},
        "invoice_tax_lines": {"provider": "stripe"},
        "payments": {"provider_status": "paid"},
        "refunds": {},
    }
    for name, add in extra.items():
        frame = getattr(shop, name)
        if name == "payments":
            known = frame["status"].isin(PAYMENT_STATUSES)
            frame = frame.assign(status=frame["status"].where(known, "succeeded"))
        if name == "refunds":
            frame = frame.assign(
                created_at=frame["created_at"].fillna(datetime(2026, 1, 1, tzinfo=UTC))
            )
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        for start in range(0, len(records), 5000):
            rows = [{**r, **add, "source_version": 1} for r in records[start : start + 5000]]
            with engine.begin() as conn:
                upsert(conn, tables.metadata.tables[name], rows)
        print(f"{name}: {len(records)} rows", flush=True)
    rates = [{"currency": r.currency, "day": r.day, "rate": r.rate, "source": "ECB"} for r in fx()]
    with engine.begin() as conn:
        conn.execute(insert(fx_rates), rates)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    engine.dispose()


def main() -> None:
    import argparse
    import pickle
    import tempfile
    import time
    from pathlib import Path

    from domain.tax import FxTable, build_ledger, load_tax_calendar, load_vat_rates, supply_lines
    from echeancier.settings import Settings
    from tasks.tax import write_tax_files

    parser = argparse.ArgumentParser()
    parser.add_argument("--files", action="store_true", help="time write_tax_files too")
    parser.add_argument("--load", default=None, help="write the facts into this warehouse")
    parser.add_argument("--scale", type=int, default=1, help="times the medium shop")
    args = parser.parse_args()
    if args.load:
        n = args.scale
        load(args.load, facts(150_000 * n, 40_000 * n, 50_000 * n))
        return
    as_of = date(2026, 11, 26)
    policies = Path(__file__).resolve().parents[1] / "policies"
    rates, calendar = load_vat_rates(policies), load_tax_calendar(policies)
    cache = Path("/tmp/tax_pieces_facts.pkl")
    shop = pickle.loads(cache.read_bytes()) if cache.exists() else facts()
    cache.write_bytes(pickle.dumps(shop))

    def timed(label: str, work: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        print(
            f"{label}: {time.perf_counter() - wall:.1f} s wall, "
            f"{time.process_time() - cpu:.1f} s CPU",
            flush=True,
        )
        return result

    supply, _ = timed(
        "supply_lines",
        lambda: supply_lines(
            shop, rates, seller_country=calendar.seller_country, timezone="Europe/Paris"
        ),
    )
    ledger = timed(
        "build_ledger",
        lambda: build_ledger(
            supply,
            as_of=as_of,
            calendar=calendar,
            fx=FxTable(fx()),
            deadlines=deadlines(as_of),
            filed_lines=supply.iloc[0:0],
        ),
    )
    if args.files:
        with tempfile.TemporaryDirectory() as folder:
            settings = Settings(ECHEANCIER_REPORTS=folder)  # type: ignore[call-arg]
            for night in (1, 2):
                timed(
                    f"write_tax_files night {night}", lambda: write_tax_files.fn(settings, ledger)
                )


if __name__ == "__main__":
    main()
