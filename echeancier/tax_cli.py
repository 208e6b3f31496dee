"""``echeancier tax load-fx|filed|deadlines``: what finance feeds the tax reports.

- ``load-fx FILE``: the ECB euro reference rates (``eurofxref-hist.csv`` or the daily
  ``eurofxref.csv``) into ``fx_rates``; loading the same file twice changes nothing.
- ``filed REGIME PERIOD``: finance filed that return (``OSS 2026-Q3``, ``FR_CA3
  2026-10``). From then on it is never recomputed; a later change of its facts goes
  into the next open return as a correction. Its pending reminders are withdrawn.
- ``deadlines``: the returns, their due dates and status.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import select, update

tax_app = typer.Typer(help="Tax returns: ECB rates, filed returns, deadlines.")


@tax_app.command("load-fx")
def load_fx(
    file: Annotated[Path, typer.Argument(help="An ECB reference-rate CSV (eurofxref-hist.csv).")],
) -> None:
    """Load ECB euro reference rates into fx_rates (new days added, changed ones fixed)."""
    from domain.tax.fx import FxError, parse_ecb_csv
    from echeancier.run_cli import upgrade_database
    from echeancier.settings import load_settings
    from warehouse.engine import make_engine
    from warehouse.tax_tables import fx_rates

    try:
        rates = parse_ecb_csv(file.read_text(encoding="utf-8"), source=str(file))
    except (OSError, FxError) as exc:
        typer.echo(f"echeancier tax load-fx: {exc}", err=True)
        raise typer.Exit(1) from None
    settings = load_settings()
    upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    added = changed = 0
    with engine.begin() as conn:
        stored = {(r.currency, r.day): r.rate for r in conn.execute(select(fx_rates))}
        fresh = []
        for rate in rates:
            old = stored.get((rate.currency, rate.day))
            row = {"currency": rate.currency, "day": rate.day, "rate": rate.rate, "source": "ECB"}
            if old is None:
                fresh.append(row)
                stored[(rate.currency, rate.day)] = rate.rate
            elif old != rate.rate:
                conn.execute(
                    update(fx_rates)
                    .where(fx_rates.c.currency == rate.currency, fx_rates.c.day == rate.day)
                    .values(rate=rate.rate)
                )
                changed += 1
        for start in range(0, len(fresh), 1000):
            conn.execute(fx_rates.insert(), fresh[start : start + 1000])
        added = len(fresh)
    engine.dispose()
    days = {r.day for r in rates}
    span = f" from {min(days)} to {max(days)}" if days else ""
    typer.echo(f"{len(rates)} rates read{span}: {added} added, {changed} changed")


@tax_app.command("filed")
def filed(
    regime: Annotated[str, typer.Argument(help="OSS or FR_CA3.")],
    period: Annotated[str, typer.Argument(help="2026-Q3 (OSS) or 2026-10 (CA3).")],
    on: Annotated[
        str | None, typer.Option(help="Day it was filed, YYYY-MM-DD (default: today).")
    ] = None,
    by: Annotated[str, typer.Option(help="Who filed it (a name, not an address).")] = "finance",
    reference: Annotated[
        str | None, typer.Option(help="The tax office's acknowledgement number.")
    ] = None,
) -> None:
    """Record that a return was filed: it is frozen as computed, reminders are withdrawn."""
    from domain.tax.periods import bounds
    from domain.tax.policy import load_tax_calendar
    from echeancier.run_cli import upgrade_database
    from echeancier.settings import load_settings
    from warehouse.engine import make_engine
    from warehouse.outbox import cancel_pending
    from warehouse.tax_tables import tax_deadlines

    settings = load_settings()
    today = datetime.now(UTC).astimezone(ZoneInfo(settings.timezone)).date()
    try:
        filed_on = date.fromisoformat(on) if on else today
        last_day = bounds(period)[1]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if filed_on <= last_day:
        raise typer.BadParameter(f"{regime} {period} is not over before {last_day}")
    calendar = load_tax_calendar(settings.policies)
    upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    key = (tax_deadlines.c.regime == regime, tax_deadlines.c.period == period)
    with engine.begin() as conn:
        row = conn.execute(select(tax_deadlines).where(*key).with_for_update()).first()
        if row is None:
            engine.dispose()
            typer.echo(
                f"echeancier tax filed: no computed return {regime} {period}: "
                "run `echeancier run tax-report` first",
                err=True,
            )
            raise typer.Exit(1)
        if row.status == "filed":
            engine.dispose()
            typer.echo(f"{regime} {period} was already recorded as filed on {row.filed_on}")
            return
        conn.execute(
            update(tax_deadlines)
            .where(*key)
            .values(status="filed", filed_on=filed_on, filed_by=by, reference=reference)
        )
        withdrawn = cancel_pending(
            conn,
            reason="filed",
            now=datetime.now(UTC),
            dedupe_keys=[f"tax_deadline:{regime}:{period}:{n}" for n in calendar.reminder_days],
        )
    engine.dispose()
    typer.echo(
        f"{regime} {period} recorded as filed on {filed_on} "
        f"(as computed on {row.computed_on}); {withdrawn} pending reminder(s) withdrawn"
    )


@tax_app.command("deadlines")
def deadlines() -> None:
    """List the returns: due date, status, VAT due, last reminder."""
    from domain.tax.amounts import major
    from echeancier.run_cli import upgrade_database
    from echeancier.settings import load_settings
    from warehouse.engine import make_engine
    from warehouse.tax_tables import tax_deadlines

    settings = load_settings()
    upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    t = tax_deadlines
    with engine.connect() as conn:
        rows = conn.execute(select(t).order_by(t.c.due_on, t.c.regime)).all()
    engine.dispose()
    if not rows:
        typer.echo("no tax deadlines yet: run `echeancier run tax-report`")
        return
    for r in rows:
        due = "" if r.vat_due is None else f"{major(r.vat_due):>12,} EUR"
        reminded = f"  reminded {r.reminded_on} ({r.reminder_days} days)" if r.reminded_on else ""
        typer.echo(f"{r.regime:<7} {r.period:<8} due {r.due_on}  {r.status:<8} {due}{reminded}")
