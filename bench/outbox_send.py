"""How long one outbox pass takes to send N queued notices, one at a time or a few at once.

    .venv/bin/python bench/outbox_send.py                       # 500 notices, 100 ms, 1 and 8
    .venv/bin/python bench/outbox_send.py --notices 200 --workers 1 4 8 --latency-ms 100
    .venv/bin/python bench/outbox_send.py --notices 1011 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test  # a scratch DB there

Each run: an emptied warehouse (SQLite in a temp folder, or a scratch PostgreSQL database
created next to the one named and dropped after) with one customer and N ``renewal``
notices queued for it, a fresh sandbox (in this process, on its own threads) answering
SendGrid's mail/send after ``--latency-ms``, and ``tasks.outbox.deliver(workers=W)`` timed
from its call to its return (claim, lookups, render, the requests, one commit per mail).
Every run is made twice: with the SendGrid bucket the connector uses in production
(``connectors.ratelimit.SENDGRID_RATE``, 10 req/s) and with that bucket lifted (as
bench/whole_night.py lifts it for its setup), to tell the pool's effect from the
bucket's. Prints one markdown table and the machine's load averages before and after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import requests
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from connectors.ratelimit import SENDGRID_RATE, RateLimiter
from connectors.sendgrid import SendGridConnector
from domain.notice import Notice
from echeancier.settings import Settings
from sandbox.server import start
from sandbox.store import Store
from tasks.outbox import deliver
from warehouse.engine import make_engine, normalise_url
from warehouse.migrate import upgrade
from warehouse.outbox import enqueue
from warehouse.outbox_tables import notifications
from warehouse.tables import customers

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
LIFTED_RATE = 100_000.0


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def one_run(
    url: str, folder: Path, notices: int, latency_ms: int, workers: int, rate: float
) -> tuple[float, dict[str, int]]:
    """Seconds ``deliver`` took, and its outcome counts."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(notifications.delete())
        conn.execute(customers.delete())
        conn.execute(
            customers.insert(),
            [
                {
                    "customer_id": "cus_bench",
                    "provider": "stripe",
                    "email": "client@example.fr",
                    "name": "Client Banc",
                    "country": "FR",
                    "locale": "fr",
                    "is_business": False,
                    "source_version": 1,
                    "row_hash": "x",
                    "synced_at": NOW,
                }
            ],
        )
        queued = [
            Notice(
                dedupe_key=f"renewal:sub_{i:05d}:7",
                kind="renewal",
                template="upcoming_renewal",  # rendered with our Jinja templates, as shipped
                locale="fr",
                planned_for=date(2026, 11, 26),
                context={
                    "plan": "Pro",
                    "renewal_on": "2026-12-03",
                    "amount": 4990,
                    "currency": "EUR",
                    "interval": "month",
                    "manage_url": "https://shop.example.com/account",
                },
                customer_id="cus_bench",
            )
            for i in range(notices)
        ]
        enqueue(conn, queued, as_of=date(2026, 11, 26), now=NOW)
    engine.dispose()
    with start(Store.open(folder / f"sandbox-{workers}-{int(rate)}.db")) as sandbox:
        requests.post(
            sandbox.url + "/__sandbox/faults",
            json={"provider": "sendgrid", "latency_ms": latency_ms},
            timeout=5,
        ).raise_for_status()
        env = sandbox.env()
        settings = Settings(
            DATABASE_URL=url,
            SENDGRID_API_KEY=env["SENDGRID_API_KEY"],
            SENDGRID_HOST=sandbox.url,
            ECHEANCIER_POLICIES=str(Path("policies").resolve()),
        )
        sender = SendGridConnector(
            env["SENDGRID_API_KEY"], sandbox.url, limiter=RateLimiter(rate=rate)
        )
        started = time.perf_counter()
        delivery = deliver(settings, NOW, sender=sender, workers=workers)
        elapsed = time.perf_counter() - started
        sent = len(requests.get(sandbox.url + "/__sandbox/sendgrid/messages", timeout=30).json())
    counts = delivery.as_dict()
    if counts.get("sent") != notices or sent != notices:
        raise SystemExit(f"expected {notices} sent, got {counts} and {sent} at the sandbox")
    return elapsed, counts


def measure(url: str, folder: Path, args: argparse.Namespace) -> None:
    print(f"load before: {_load()}")
    print(
        f"\n{args.notices} notices, SendGrid +{args.latency_ms} ms a request, {url.split(':')[0]}\n"
    )
    print("| bucket | workers | deliver() s | mails/s |")
    print("|---|---:|---:|---:|")
    for label, rate in (
        (f"{SENDGRID_RATE:g} req/s (production)", SENDGRID_RATE),
        ("lifted", LIFTED_RATE),
    ):
        for workers in args.workers:
            elapsed, _ = one_run(url, folder, args.notices, args.latency_ms, workers, rate)
            print(f"| {label} | {workers} | {elapsed:.1f} | {args.notices / elapsed:.1f} |")
    print(f"\nload after: {_load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=500)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="outbox-send-"))
    try:
        if args.database_url is None or args.database_url.startswith("sqlite"):
            url = f"sqlite:///{folder / 'warehouse.db'}"
            upgrade(url)
            measure(url, folder, args)
            return
        server = make_engine(args.database_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        name = f"echeancier_bench_{uuid.uuid4().hex[:8]}"
        with server.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            scratch = normalise_url(args.database_url).set(database=name)
            url = scratch.render_as_string(hide_password=False)
            upgrade(url)
            measure(url, folder, args)
        finally:
            with server.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
