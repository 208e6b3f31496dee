"""What the CLI does with the sandbox: open a scenario, and the demo's tour of it.

The demo talks to the sandbox only through the official SDKs, as the pipeline
will, so what it prints is what a connector would see.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sandbox.clock import Clock
from sandbox.store import Store

SIZES = ("small", "medium", "large")
BUSINESS_TZ = ZoneInfo("Europe/Paris")


def today_in(tz: ZoneInfo = BUSINESS_TZ, *, now: datetime | None = None) -> date:
    """The business date: today in the business time zone."""
    return (now or datetime.now(UTC)).astimezone(tz).date()


@dataclass
class Scenario:
    store: Store
    clock: Clock
    description: str
    workdir: Path


def open_scenario(
    *,
    data: Path | None,
    size: str | None,
    seed: int,
    as_of: date,
    write: Path | None = None,
) -> Scenario:
    """A fresh store holding the scenario (a private copy: serving changes it)."""
    from sandbox.generate import generate_cached
    from sandbox.scenario import load_dir, write_dir

    workdir = Path(tempfile.mkdtemp(prefix="echeancier-sandbox-"))
    if data is not None:
        store = Store.open(workdir / "state.db")
        load_dir(store, data)
        clock = Clock()
        description = f"scenario {data}"
    else:
        assert size is not None
        cached, summary = generate_cached(size=size, seed=seed, as_of=as_of)
        shutil.copyfile(cached, workdir / "state.db")
        store = Store.open(workdir / "state.db")
        clock = Clock(summary.clock_start)
        description = f"{size} shop, seed {seed}, history to {as_of}"
    if write is not None:
        write_dir(store, write)
    return Scenario(store=store, clock=clock, description=description, workdir=workdir)


def _tour(url: str, keys: dict[str, str]) -> list[tuple[str, str, int]]:
    """Count what each provider serves, paging through it with its official SDK."""
    import gocardless_pro
    import stripe
    import tracking

    rows: list[tuple[str, str, int]] = []
    client = stripe.StripeClient(keys["STRIPE_API_KEY"], base_addresses={"api": url})
    v1 = client.v1
    stripe_lists = {
        "customers": v1.customers,
        "subscriptions": v1.subscriptions,
        "invoices": v1.invoices,
        "charges": v1.charges,
        "refunds": v1.refunds,
        "disputes": v1.disputes,
        "payouts": v1.payouts,
        "events": v1.events,
    }
    for name, service in stripe_lists.items():
        params: dict[str, object] = {"limit": 100}
        if name == "subscriptions":
            params["status"] = "all"
        count = sum(1 for _ in service.list(params=params).auto_paging_iter())  # type: ignore[attr-defined]
        rows.append(("Stripe", name, count))

    gc = gocardless_pro.Client(access_token=keys["GOCARDLESS_ACCESS_TOKEN"], base_url=url)
    for name in ("customers", "mandates", "subscriptions", "payments", "payouts", "events"):
        service = getattr(gc, name)
        rows.append(("GoCardless", name, sum(1 for _ in service.all(params={"limit": 500}))))

    aftership = tracking.Client(
        tracking.Configuration(api_key=keys["AFTERSHIP_API_KEY"], domain=url, max_retry=0)
    )
    count, cursor = 0, None
    while True:
        extra = {"cursor": cursor} if cursor else {}
        data = aftership.tracking.get_trackings(limit=200, **extra).data
        count += len(data.trackings or [])
        if not data.pagination or not data.pagination.has_next_page:
            break
        cursor = data.pagination.next_cursor
    rows.append(("AfterShip", "trackings", count))
    return rows


def demo_summary(*, seed: int, as_of: date) -> None:
    """Generate the small shop, serve it on a free port and print what it serves."""
    from sandbox.server import start

    scenario = open_scenario(data=None, size="small", seed=seed, as_of=as_of)
    try:
        with start(scenario.store, clock=scenario.clock, seed=seed) as running:
            rows = _tour(running.url, running.env())
    finally:
        scenario.store.close()
        shutil.rmtree(scenario.workdir, ignore_errors=True)
    print(f"Échéancier sandbox — {scenario.description}\n")
    print(f"{'provider':<12}{'resource':<16}{'objects':>9}")
    for provider, resource, count in rows:
        print(f"{provider:<12}{resource:<16}{count:>9}")
    print(
        "\nEvery row above was paged through with the provider's official SDK over HTTP."
        "\nThe nightly pipeline arrives with the next issues. To keep the sandbox running:"
        f"\n  .venv/bin/echeancier sandbox serve --generate small --seed {seed}"
        "\nthen point the SDKs at it with the export lines it prints (see README)."
    )
