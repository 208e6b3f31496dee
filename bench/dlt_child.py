"""The peer in the sync benchmark: dlt's generic ``rest_api`` source on the same Stripe lists.

Run by bench/sync_vs_dlt.py with the interpreter of its own venv (``var/bench-venv-dlt``,
``pip install "dlt[postgres,sqlalchemy]"``), never the project's: this file imports
nothing of the project, so that ``make test`` never pays for dlt::

    var/bench-venv-dlt/bin/python bench/dlt_child.py STRIPE_BASE KEY DESTINATION_URL WORKDIR

The source is configured as a dlt user would for Stripe, endpoint for endpoint what our
sync lists: ``limit=100``, Stripe's ``starting_after`` cursor (the last object's id,
``has_more`` to stop), ``status=all`` for subscriptions, ``expand[]`` where we expand
(charges' balance transactions, subscriptions' payment methods), and each payout's
balance transactions as a child resource of ``payouts``. Resources are ``parallelized``
(dlt's best setting for several endpoints), written with ``merge`` on ``id`` (an upsert,
as ours), into the ``sqlalchemy`` destination (SQLite) or ``postgres``. dlt has no rate
limiter: it meets the sandbox's 429s and retries them after their ``Retry-After`` (its
default ``requests`` retry policy). Prints one JSON line: wall time per phase and rows.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any


def stripe_config(base: str, key: str) -> dict[str, Any]:
    paginator = {
        "type": "cursor",
        "cursor_path": "data[-1].id",
        "cursor_param": "starting_after",
        "has_more_path": "has_more",
    }

    def plain(name: str, **params: Any) -> dict[str, Any]:
        return {
            "name": name,
            "endpoint": {"path": f"v1/{name}", "params": {"limit": 100, **params}},
        }

    return {
        "client": {
            "base_url": base.rstrip("/") + "/",
            "auth": {"type": "bearer", "token": key},
            "paginator": paginator,
        },
        "resource_defaults": {
            "primary_key": "id",
            "write_disposition": "merge",
            "parallelized": True,
            "endpoint": {"data_selector": "data"},
        },
        "resources": [
            plain("tax_rates"),
            plain("customers"),
            plain("subscriptions", status="all", **{"expand[]": "data.default_payment_method"}),
            plain("invoices"),
            plain("invoice_payments"),
            plain("charges", **{"expand[]": "data.balance_transaction"}),
            plain("refunds"),
            plain("disputes"),
            plain("payouts"),
            {
                "name": "payout_balance_transactions",
                "endpoint": {
                    "path": "v1/balance_transactions",
                    "params": {
                        "limit": 100,
                        "expand[]": "data.source",
                        "payout": "{resources.payouts.id}",
                    },
                },
                "include_from_parent": ["id"],
            },
        ],
    }


def main() -> None:
    base, key, destination_url, workdir = sys.argv[1:5]
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    os.environ["DLT_DATA_DIR"] = os.path.join(workdir, "dlt-data")
    import dlt
    from dlt.sources.rest_api import rest_api_source

    if destination_url.startswith("sqlite"):
        # One loader: with dlt's default parallel load jobs SQLite answers "database is
        # locked" (dlt's own advice for SQLite).
        os.environ["LOAD__WORKERS"] = "1"
        destination = dlt.destinations.sqlalchemy(destination_url)
    else:
        destination = dlt.destinations.postgres(
            destination_url.replace("postgresql+psycopg://", "postgresql://")
        )
    pipeline = dlt.pipeline(
        pipeline_name="stripe_bench",
        destination=destination,
        dataset_name="stripe",
        pipelines_dir=os.path.join(workdir, "pipelines"),
    )
    source = rest_api_source(stripe_config(base, key))  # type: ignore[arg-type]
    started = time.perf_counter()
    pipeline.extract(source)
    extracted = time.perf_counter()
    normalize_info = pipeline.normalize()
    normalized = time.perf_counter()
    pipeline.load()
    loaded = time.perf_counter()
    counts = dict(normalize_info.row_counts)
    top = {name: n for name, n in counts.items() if "__" not in name and not name.startswith("_")}
    print(
        json.dumps(
            {
                "seconds": loaded - started,
                "extract_seconds": extracted - started,
                "normalize_seconds": normalized - extracted,
                "load_seconds": loaded - normalized,
                "objects": sum(top.values()),
                "tables": counts,
                "dlt": dlt.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
