"""Every deployment of Échéancier, as one table: the single source of ``prefect.yaml``,
of ``make deploy``, of ``flows.chain`` (which flow a name launches) and of ``backfill``
(which flows may be re-run for past days, and how).

A row names a flow module that may not exist yet (the acting flows land one by one):
``prefect.yaml`` lists them all, and ``make deploy`` applies only the rows whose module
imports (:func:`available`), so the file and the command are right at every commit.
Example: before ``flows/dunning.py`` exists, ``make deploy`` applies nightly, sync,
reconcile, backfill and erase_customer and says it skipped the others.

Plain data, no prefect import: the catalogue is read by tests and tools that never start
an orchestrator.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Literal

POOL = "echeancier"
"""The process work pool every deployment runs on (``make worker`` polls it)."""
TIMEZONE = "Europe/Paris"
"""Schedules are in the business time zone (``Settings.timezone``'s default)."""
TAGS = ("echeancier",)
"""On every deployment: the failure automation matches this tag."""

Backfill = Literal["daily", "range"]


@dataclass(frozen=True)
class Deployment:
    """One flow deployed on the pool.

    ``backfill`` says how ``flows/backfill.py`` may re-run the flow for past business
    dates: ``daily`` (one run per date, ``as_of=date``), ``range`` (one run with
    ``date_from``/``date_to``) or ``None`` (never: it acts on customers for *today*, or
    its state is not per day). Parameters and their schema come from the flow's own
    signature at deploy time; ``parameters`` only overrides a default for the deployment.
    """

    name: str
    description: str
    tags: tuple[str, ...] = ()
    cron: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    concurrency: int = 1
    collision: Literal["ENQUEUE", "CANCEL_NEW"] = "ENQUEUE"
    launched_by_nightly: bool = False
    backfill: Backfill | None = None
    flow: str = ""

    @property
    def flow_name(self) -> str:
        """The ``@flow(name=…)`` (some flows spell it with hyphens: ``tax-report``)."""
        return self.flow or self.name

    @property
    def deployment_name(self) -> str:
        """The deployment is named after its flow, as Prefect shows both side by side."""
        return self.flow_name

    @property
    def module(self) -> str:
        return f"flows.{self.name}"

    @property
    def entrypoint(self) -> str:
        """Prefect's ``path.py:function`` (one module per flow, named after it)."""
        return f"flows/{self.name}.py:{self.name}"

    @property
    def full_name(self) -> str:
        """``flow/deployment``, as ``run_deployment`` and ``prefect deployment run`` want."""
        return f"{self.flow_name}/{self.deployment_name}"


DEPLOYMENTS: tuple[Deployment, ...] = (
    Deployment(
        "nightly",
        "The whole calendar for one business date: sync, quality gate, reconcile, then "
        "launch dunning, notices, tax report and KPIs.",
        tags=("nightly", "scheduled"),
        cron="0 2 * * *",
    ),
    Deployment(
        "sync",
        "Copy what changed at Stripe, GoCardless and AfterShip into the warehouse.",
        tags=("manual",),
    ),
    Deployment(
        "reconcile",
        "Match payments, invoices, payouts, parcels and refunds; keep the exception "
        "register. Run for a date to age the register on that date.",
        tags=("manual",),
    ),
    Deployment(
        "dunning",
        "Reminders, payment retries and escalation for overdue invoices (launched by nightly).",
        tags=("downstream", "acts"),
        launched_by_nightly=True,
    ),
    Deployment(
        "renewal_notices",
        "Tacit-renewal, trial-ending and card-expiry notices (launched by nightly).",
        flow="renewal-notices",
        tags=("downstream", "acts"),
        launched_by_nightly=True,
    ),
    Deployment(
        "shipment_notices",
        "Late-parcel, return-window and overdue-refund notices (launched by nightly).",
        flow="shipment-notices",
        tags=("downstream", "acts"),
        launched_by_nightly=True,
    ),
    Deployment(
        "tax_report",
        "VAT by country and rate, OSS and French returns, deadlines (launched by nightly).",
        flow="tax-report",
        tags=("downstream", "reports"),
        launched_by_nightly=True,
        backfill="daily",
    ),
    Deployment(
        "kpis",
        "KPIs and the cash-flow forecast (launched by nightly; date_from/date_to backfill).",
        tags=("downstream", "reports"),
        launched_by_nightly=True,
        backfill="range",
    ),
    Deployment(
        "send_outbox",
        "Send the queued notices whose send window has opened (every 15 minutes, "
        "09:00-19:00); a run still sending makes the next one skip.",
        flow="send-outbox",
        tags=("scheduled", "acts"),
        cron="*/15 9-18 * * *",
        collision="CANCEL_NEW",
    ),
    Deployment(
        "backfill",
        "Re-run the day-based report flows for a range of past business dates; never "
        "writes to a customer.",
        tags=("manual", "backfill"),
    ),
    Deployment(
        "erase_customer",
        "GDPR erasure: pseudonymise one customer's personal data across the warehouse, "
        "keeping the financial facts the law requires.",
        tags=("manual", "gdpr"),
    ),
    Deployment(
        "retention",
        "Keep personal data no longer than policies/retention.yaml says: pseudonymise old "
        "raw payloads, notices and inactive customers; delete old runs (every night at 03:30, "
        "after the nightly chain).",
        tags=("scheduled", "gdpr"),
        cron="30 3 * * *",
    ),
)

BY_NAME: dict[str, Deployment] = {d.name: d for d in DEPLOYMENTS}


def get(name: str) -> Deployment:
    """The row of ``name`` (``tax_report`` or its flow name ``tax-report``); a clear error
    naming the known flows otherwise."""
    try:
        return BY_NAME[name.replace("-", "_")]
    except KeyError:
        raise KeyError(f"no deployment {name!r}; known: {', '.join(BY_NAME)}") from None


def importable(deployment: Deployment) -> bool:
    """Whether the flow's module exists in this checkout (imports it: a module that
    exists but fails to import is an error, not a flow "not built yet")."""
    try:
        importlib.import_module(deployment.module)
    except ModuleNotFoundError as exc:
        if exc.name == deployment.module:
            return False
        raise
    return True


def available() -> list[Deployment]:
    """The rows whose module exists in this checkout, in catalogue order."""
    return [d for d in DEPLOYMENTS if importable(d)]


def load_flow(deployment: Deployment) -> Any:
    """The ``@flow`` object of a row (imports its module)."""
    module = importlib.import_module(deployment.module)
    return getattr(module, deployment.name)
