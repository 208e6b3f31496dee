"""The ``erase_customer`` flow: a customer's right to erasure (GDPR art. 17), on request.

Given a customer id, pseudonymise their name, e-mail, phone and addresses in every
warehouse table and raw provider payload, cancel the notices still waiting for them, and
keep the financial facts the law requires (amounts, dates, country, VAT number): the full
list of what is replaced and what is kept, and why, is ``domain/erasure.py``'s
docstring. It runs only when an operator starts its deployment (no schedule) with the
customer id; ``dry_run=True`` reports what would change and changes nothing. Running it
twice changes nothing the second time.

What it cannot reach: the providers' own copies (delete or redact the customer at Stripe
and GoCardless too; docs/deployments.md, "Erasing a customer") and backups.

Example: ``prefect deployment run erase_customer/erase_customer -p customer_id=cus_P…``
→ ``customers 1, raw_objects 14, notifications 2; 1 pending notice(s) cancelled``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from domain import erasure
from domain.erasure import ErasureReport
from echeancier.settings import load_settings
from flows.runs import recorded_run
from tasks.erase_customer import erase_customer_data


def utc_now() -> datetime:
    """The run's clock (the one read of the time; tests may point it elsewhere)."""
    return datetime.now(UTC)


@flow(name="erase_customer")
def erase_customer(
    customer_id: str, as_of: date | None = None, dry_run: bool = False
) -> ErasureReport:
    """Pseudonymise ``customer_id``'s personal data (``as_of``: the business date the
    erasure is recorded under, default today)."""
    settings = load_settings()
    started = utc_now()
    as_of = as_of or started.astimezone(ZoneInfo(settings.timezone)).date()
    with recorded_run(settings, "erase_customer", as_of, started, utc_now, dry_run=dry_run) as run:
        changed, cancelled = erase_customer_data(settings, customer_id, utc_now(), dry_run)
        report = ErasureReport(
            run.run_id, customer_id, erasure.pseudonym(customer_id), dry_run, changed, cancelled
        )
        create_markdown_artifact(key="erasure-summary", markdown=report.markdown())
        create_table_artifact(
            key="erasure-rows",
            table=[{"table": t, "rows": n} for t, n in changed.items()] or [{"table": "none"}],
            description=f"erase_customer {customer_id}" + (" (dry run)" if dry_run else ""),
        )
        run.done(counts=report.counts())
    get_run_logger().info("%s", report.text())
    return report
