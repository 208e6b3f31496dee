"""``echeancier dunning hold|lift|holds``: what finance records to stop the ladder.

A promise to pay ("I'll pay on the 15th"), an opt-out from reminders or a manual pause
is a row in ``dunning_holds``; the dunning decisions read it every night. Holding a
customer also withdraws the reminders already queued for them.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Annotated

import typer
from sqlalchemy import select, update

dunning_app = typer.Typer(help="Finance's holds on the dunning ladder (promise to pay, opt-out).")

KINDS = ("promise_to_pay", "opt_out", "pause")


def hold_id(kind: str, customer_id: str, invoice_id: str | None, until_on: date | None) -> str:
    """Stable id: recording the same hold twice is one hold."""
    raw = f"{kind}:{customer_id}:{invoice_id or '*'}:{until_on or '-'}"
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


@dunning_app.command("hold")
def hold(
    customer_id: Annotated[str, typer.Argument(help="The customer (cus_…, CU…).")],
    kind: Annotated[str, typer.Option(help="promise_to_pay, opt_out or pause.")] = "promise_to_pay",
    invoice: Annotated[
        str | None, typer.Option(help="Only this invoice (default: all of theirs).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Last day of the hold, YYYY-MM-DD (promise: required).")
    ] = None,
    by: Annotated[str, typer.Option(help="Who records it (a name, not an address).")] = "finance",
    note: Annotated[str | None, typer.Option(help="A note for the team.")] = None,
) -> None:
    """Record a hold; reminders already queued for what it covers are withdrawn."""
    from echeancier.run_cli import upgrade_database
    from echeancier.settings import load_settings
    from warehouse.engine import make_engine
    from warehouse.outbox import cancel_pending
    from warehouse.outbox_tables import dunning_holds

    if kind not in KINDS:
        raise typer.BadParameter(f"--kind takes one of {', '.join(KINDS)}")
    until_on = date.fromisoformat(until) if until else None
    if kind == "promise_to_pay" and until_on is None:
        raise typer.BadParameter("a promise to pay needs --until YYYY-MM-DD")
    settings = load_settings()
    upgrade_database(settings.database_url)
    now = datetime.now(UTC)
    row = {
        "hold_id": hold_id(kind, customer_id, invoice, until_on),
        "kind": kind,
        "customer_id": customer_id,
        "invoice_id": invoice,
        "until_on": until_on,
        "recorded_by": by,
        "note": note,
        "recorded_at": now,
        "lifted_at": None,
    }
    engine = make_engine(settings.database_url)
    with engine.begin() as conn:
        exists = conn.execute(
            select(dunning_holds.c.hold_id).where(dunning_holds.c.hold_id == row["hold_id"])
        ).first()
        if exists is None:
            conn.execute(dunning_holds.insert(), [row])
        scope = {"invoice_ids": [invoice]} if invoice else {"customer_ids": [customer_id]}
        withdrawn = cancel_pending(conn, reason=f"hold:{kind}", now=now, kinds=["dunning"], **scope)
    engine.dispose()
    typer.echo(f"hold {row['hold_id']} ({kind}) recorded; {withdrawn} queued reminder(s) withdrawn")


@dunning_app.command("lift")
def lift(hold: Annotated[str, typer.Argument(help="The hold id printed by `hold`.")]) -> None:
    """End a hold now: the ladder resumes at the next run."""
    from echeancier.settings import load_settings
    from warehouse.engine import make_engine
    from warehouse.outbox_tables import dunning_holds

    engine = make_engine(load_settings().database_url)
    with engine.begin() as conn:
        done = conn.execute(
            update(dunning_holds)
            .where(dunning_holds.c.hold_id == hold, dunning_holds.c.lifted_at.is_(None))
            .values(lifted_at=datetime.now(UTC))
        ).rowcount
    engine.dispose()
    if not done:
        typer.echo(f"no active hold {hold}", err=True)
        raise typer.Exit(1)
    typer.echo(f"hold {hold} lifted")


@dunning_app.command("holds")
def holds() -> None:
    """List the holds in force."""
    from echeancier.settings import load_settings
    from warehouse.engine import make_engine
    from warehouse.outbox_tables import dunning_holds

    engine = make_engine(load_settings().database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(dunning_holds)
            .where(dunning_holds.c.lifted_at.is_(None))
            .order_by(dunning_holds.c.recorded_at)
        ).mappings()
        for r in rows:
            scope = r["invoice_id"] or "all invoices"
            typer.echo(
                f"{r['hold_id']}  {r['kind']:<15} {r['customer_id']}  {scope}  "
                f"until {r['until_on'] or 'lifted'}  by {r['recorded_by']}"
            )
    engine.dispose()
