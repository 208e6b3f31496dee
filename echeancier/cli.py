"""``echeancier``: a thin command line over the flows and the sandbox (DESIGN §3.3).

Only what has been built is offered: the sandbox, the demo, ``db upgrade`` and
the flows built so far (``run nightly``, ``run sync``, ``run reconcile``).
"""

from __future__ import annotations

import sys
import warnings
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from echeancier.dunning_cli import dunning_app
from echeancier.sandbox_cli import SIZES, open_scenario, open_state, parse_clock, today_in
from echeancier.tax_cli import tax_app

# The AfterShip SDK trips a deprecation warning inside httpx on every call; users can't act on it.
warnings.filterwarnings("ignore", message="URL.raw is deprecated", category=UserWarning)

app = typer.Typer(
    help="Échéancier: an online shop's payment calendar, run every night on Prefect 3.",
    no_args_is_help=True,
    add_completion=False,
)
sandbox_app = typer.Typer(help="Local emulators of Stripe, GoCardless, AfterShip and SendGrid.")
app.add_typer(sandbox_app, name="sandbox")
db_app = typer.Typer(help="The warehouse database (DATABASE_URL).")
app.add_typer(db_app, name="db")
run_app = typer.Typer(help="Run a flow now, in this process, for a business date.")
app.add_typer(run_app, name="run")
app.add_typer(dunning_app, name="dunning")
app.add_typer(tax_app, name="tax")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the warehouse tables (safe to run at any time)."""
    from echeancier.run_cli import upgrade_database
    from echeancier.settings import load_settings

    upgrade_database(load_settings().database_url)
    print("warehouse schema is up to date")


def _run(flow: str, as_of: str | None, dry_run: bool) -> None:
    from echeancier.run_cli import run_flow

    raise typer.Exit(run_flow(flow, as_of=_parse_day(as_of), dry_run=dry_run))


AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="Business date YYYY-MM-DD (default: today in ECHEANCIER_TIMEZONE)."
    ),
]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Compute and record decisions; send and charge nothing.")
]


@run_app.command("nightly")
def run_nightly(as_of: AsOf = None, dry_run: DryRun = False) -> None:
    """The nightly chain: sync, then (as they are built) the checks and the flows that act."""
    _run("nightly", as_of, dry_run)


@run_app.command("reconcile")
def run_reconcile(as_of: AsOf = None, dry_run: DryRun = False) -> None:
    """Match payments, invoices, payouts, parcels and refunds; update the exception register."""
    _run("reconcile", as_of, dry_run)


@run_app.command("dunning")
def run_dunning(as_of: AsOf = None, dry_run: DryRun = False) -> None:
    """Reminders, payment retries and escalation for overdue invoices and failed payments."""
    _run("dunning", as_of, dry_run)


@run_app.command("tax-report")
def run_tax_report(as_of: AsOf = None, dry_run: DryRun = False) -> None:
    """VAT lines, the OSS and CA3 returns and their files, deadlines and reminders."""
    _run("tax-report", as_of, dry_run)


@run_app.command("renewal-notices")
def run_renewal_notices(as_of: AsOf = None, dry_run: DryRun = False) -> None:
    """Tacit-renewal (L215-1), upcoming-renewal, trial, expiring-card and mandate notices."""
    _run("renewal-notices", as_of, dry_run)


@run_app.command("shipment-notices")
def run_shipment_notices(as_of: AsOf = None, dry_run: DryRun = False) -> None:
    """Late and troubled parcels, withdrawal-window reminders, overdue refunds (finance)."""
    _run("shipment-notices", as_of, dry_run)


From = Annotated[
    str | None,
    typer.Option("--from", help="kpis: first business date of a backfill (YYYY-MM-DD)."),
]
To = Annotated[
    str | None,
    typer.Option("--to", help="kpis: last business date of a backfill (default: --as-of)."),
]


@run_app.command("kpis")
def run_kpis(
    as_of: AsOf = None, date_from: From = None, date_to: To = None, dry_run: DryRun = False
) -> None:
    """KPIs, the cash-flow forecast and the finance report; --from/--to: every day of a range."""
    from echeancier.run_cli import run_flow

    raise typer.Exit(
        run_flow(
            "kpis",
            as_of=_parse_day(as_of),
            dry_run=dry_run,
            date_from=_parse_day(date_from),
            date_to=_parse_day(date_to),
        )
    )


@run_app.command("backfill")
def run_backfill(date_from: From = None, date_to: To = None, as_of: AsOf = None) -> None:
    """Re-run the day-based report flows (KPIs, tax report) for a range of past dates."""
    from echeancier.run_cli import run_flow

    if date_from is None or date_to is None:
        raise typer.BadParameter("a backfill needs --from and --to")
    raise typer.Exit(
        run_flow(
            "backfill",
            as_of=_parse_day(as_of),
            dry_run=False,
            date_from=_parse_day(date_from),
            date_to=_parse_day(date_to),
        )
    )


@run_app.command("erase-customer")
def run_erase_customer(
    customer_id: Annotated[str, typer.Argument(help="The customer to erase (cus_…, CU…).")],
    dry_run: DryRun = False,
) -> None:
    """GDPR erasure: pseudonymise one customer's personal data, keep the financial facts."""
    from echeancier.run_cli import run_flow

    raise typer.Exit(
        run_flow("erase-customer", as_of=None, dry_run=dry_run, extra={"customer_id": customer_id})
    )


@run_app.command("retention")
def run_retention(as_of: AsOf = None, dry_run: DryRun = False) -> None:
    """Apply policies/retention.yaml: pseudonymise or delete personal data past its period."""
    _run("retention", as_of, dry_run)


@run_app.command("send-outbox")
def run_send_outbox(as_of: AsOf = None) -> None:
    """Send the queued notices whose send window has opened (every 15 min by day)."""
    _run("send-outbox", as_of, False)


@run_app.command("sync")
def run_sync(as_of: AsOf = None, dry_run: DryRun = False) -> None:
    """Copy what changed at Stripe, GoCardless and AfterShip into the warehouse."""
    _run("sync", as_of, dry_run)


def _parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"expected YYYY-MM-DD, got {value!r}") from exc


@sandbox_app.command("serve")
def sandbox_serve(
    data: Annotated[
        Path | None, typer.Option(help="Load a scenario folder in the providers' wire format.")
    ] = None,
    generate: Annotated[
        str | None, typer.Option(help="Generate a shop: small, medium or large.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated shop.")] = 42,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Last day of the generated history (YYYY-MM-DD).")
    ] = None,
    write: Annotated[
        Path | None, typer.Option(help="Also write the scenario out as a --data folder.")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free port).")] = 12111,
    state: Annotated[
        Path | None,
        typer.Option(help="Serve this store file in place (its changes persist across runs)."),
    ] = None,
    clock: Annotated[
        str | None,
        typer.Option(help="Start the sandbox clock at this ISO 8601 moment (naive: UTC)."),
    ] = None,
) -> None:
    """Serve the four providers' APIs on one port until interrupted."""
    from sandbox.server import serve

    if sum(x is not None for x in (data, generate, state)) != 1:
        raise typer.BadParameter("give exactly one of --data DIR, --generate SIZE or --state FILE")
    if generate is not None and generate not in SIZES:
        raise typer.BadParameter(f"--generate takes one of {', '.join(SIZES)}")
    try:
        start_at = parse_clock(clock) if clock is not None else None
    except ValueError as exc:
        raise typer.BadParameter(f"--clock expects an ISO 8601 moment, got {clock!r}") from exc
    if state is not None:
        if write is not None:
            raise typer.BadParameter("--write takes a --data or --generate scenario")
        try:
            scenario = open_state(state, clock=start_at)
        except FileNotFoundError as exc:
            raise typer.BadParameter(str(exc)) from exc
    else:
        scenario = open_scenario(
            data=data, size=generate, seed=seed, as_of=_parse_day(as_of) or today_in(), write=write
        )
        if start_at is not None:
            scenario.clock.set(start_at)
    running = serve(scenario.store, host=host, port=port, clock=scenario.clock, seed=seed)
    for name, value in running.env().items():
        print(f"export {name}={value}", flush=True)
    print(
        f"# sandbox: {scenario.description}; clock at {scenario.clock.now():%Y-%m-%d %H:%M} UTC;"
        f" inspect {running.url}/__sandbox/requests ; Ctrl-C to stop",
        file=sys.stderr,
        flush=True,
    )
    try:
        running.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        running.server.server_close()


@app.command("demo")
def demo(
    seed: Annotated[int, typer.Option(help="Seed of the generated shop.")] = 42,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Business date.")] = None,
) -> None:
    """Generate a small shop, serve it, run the nightly chain on it and print the summary."""
    from echeancier.demo import run_demo

    raise typer.Exit(run_demo(seed=seed, as_of=_parse_day(as_of) or today_in()))


if __name__ == "__main__":  # pragma: no cover
    app()
