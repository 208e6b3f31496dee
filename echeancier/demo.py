"""``make demo``: a generated shop, served by the sandbox, run through the nightly chain.

Everything goes through the same doors as production: the sandbox speaks the providers'
wire formats, the connectors use the official SDKs over HTTP, the warehouse is the
embedded SQLite database, and the flow runs on Prefect (an ephemeral local server when
no ``PREFECT_API_URL`` is set, whose runs ``prefect server start`` then shows).
"""

from __future__ import annotations

import os
import shutil
from datetime import date

from sqlalchemy import func, select

from echeancier.run_cli import run_flow, upgrade_database
from echeancier.sandbox_cli import open_scenario

# What the demo prints about the warehouse: table -> the amount column summed beside the count.
TOTALS = {
    "customers": None,
    "subscriptions": None,
    "invoices": "total",
    "payments": "amount",
    "refunds": "amount",
    "disputes": "amount",
    "payouts": "amount",
    "shipments": None,
}


def demo_database_url(seed: int, as_of: date) -> str:
    """One SQLite file per demo shop, so a second demo of the same shop is a second night."""
    return f"sqlite:///var/demo-{seed}-{as_of.isoformat()}.db"


def warehouse_totals(database_url: str) -> list[tuple[str, int, int | None]]:
    from warehouse.engine import make_engine
    from warehouse.tables import metadata

    engine = make_engine(database_url)
    rows = []
    with engine.connect() as conn:
        for name, amount in TOTALS.items():
            table = metadata.tables[name]
            columns = [func.count()]
            if amount:
                columns.append(func.coalesce(func.sum(table.c[amount]), 0))
            found = conn.execute(select(*columns).select_from(table)).one()
            rows.append((name, int(found[0]), int(found[1]) if amount else None))
    engine.dispose()
    return rows


def run_demo(*, seed: int, as_of: date) -> int:
    from sandbox.server import start

    scenario = open_scenario(data=None, size="small", seed=seed, as_of=as_of)
    database_url = os.environ.get("DATABASE_URL") or demo_database_url(seed, as_of)
    print(f"Échéancier demo — {scenario.description}")
    print(f"warehouse: {database_url}\n")
    try:
        with start(scenario.store, clock=scenario.clock, seed=seed) as running:
            os.environ.update(running.env())
            os.environ["DATABASE_URL"] = database_url
            upgrade_database(database_url)
            code = run_flow("nightly", as_of=as_of, dry_run=False)
    finally:
        scenario.store.close()
        shutil.rmtree(scenario.workdir, ignore_errors=True)
    if code != 0:
        return code
    print("\nIn the warehouse now (amounts in euros):")
    for name, count, amount in warehouse_totals(database_url):
        money = "" if amount is None else f"{amount / 100:>16,.2f}"
        print(f"  {name:<14}{count:>8,} rows{money}")
    db_file = database_url.removeprefix("sqlite:///")
    print(
        "\nNext:"
        "\n  query the tables:  sqlite3 "
        f"{db_file} 'select status, count(*), sum(amount) from payments group by status'"
        "\n  see the runs:      .venv/bin/prefect server start   then open http://127.0.0.1:4200"
        "\n  run it again:      make demo   (same shop: a second night that changes nothing)"
        "\n  data dictionary:   docs/tables.md"
    )
    return 0
