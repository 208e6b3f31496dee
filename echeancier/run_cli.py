"""``echeancier db upgrade`` and ``echeancier run <flow>``: run a flow, print its summary,
exit 0 when the flow run completed and non-zero (reason on stderr) when it failed."""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable
from datetime import date
from typing import Any

# Flows that exist so far; the CLI offers nothing that is not built.
FLOWS: dict[str, str] = {
    "nightly": "flows.nightly:nightly",
    "sync": "flows.sync:sync",
    "reconcile": "flows.reconcile:reconcile",
    "dunning": "flows.dunning:dunning",
    "send-outbox": "flows.send_outbox:send_outbox",
    "tax-report": "flows.tax_report:tax_report",
    "kpis": "flows.kpis:kpis",
    "renewal-notices": "flows.renewal_notices:renewal_notices",
    "shipment-notices": "flows.shipment_notices:shipment_notices",
    "backfill": "flows.backfill:backfill",
    "erase-customer": "flows.erase_customer:erase_customer",
    "retention": "flows.retention:retention",
}


def _flow(name: str) -> Callable[..., Any]:
    module_name, attribute = FLOWS[name].split(":")
    module = __import__(module_name, fromlist=[attribute])
    return getattr(module, attribute)  # type: ignore[no-any-return]


def prefect_defaults() -> None:
    """Offline-friendly defaults: no telemetry; an operator's own settings still win."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # A busy 2-core machine can take longer than Prefect's default 20 s to start it.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    # Only a server this process starts reads this (the ephemeral one, when no
    # PREFECT_API_URL is set): it lives for one command, so nobody reads its event feed,
    # and its event persister, writing to the same SQLite file as the API, made the API
    # answer 503 ("database is locked") to a flow run's creation, which Prefect's client
    # retries only after 2 s (4 of 6 medium nights; docs/scaling.md). Flow runs, task
    # runs, their states, logs and artifacts are still recorded.
    os.environ.setdefault("PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED", "false")


def upgrade_database(database_url: str) -> None:
    from warehouse.migrate import upgrade

    upgrade(database_url)


def run_flow(
    name: str,
    *,
    as_of: date | None,
    dry_run: bool,
    date_from: date | None = None,
    date_to: date | None = None,
    extra: dict[str, Any] | None = None,
) -> int:
    """Run ``name`` in this process; print the summary; return the exit code.

    ``date_from``/``date_to`` (a backfill range) reach the flows that take them (``kpis``,
    ``backfill``); ``extra`` carries a flow's own parameters (``customer_id``).
    """
    from domain import summary
    from echeancier.settings import load_settings

    prefect_defaults()
    settings = load_settings()
    upgrade_database(settings.database_url)
    flow = _flow(name)
    parameters: dict[str, Any] = {"as_of": as_of}
    if "dry_run" in inspect.signature(flow.fn).parameters:
        parameters["dry_run"] = dry_run
    elif dry_run:
        print(f"# {name} sends and charges nothing: --dry-run changes nothing", file=sys.stderr)
    if "date_from" in inspect.signature(flow.fn).parameters:
        parameters.update(date_from=date_from, date_to=date_to)
    parameters.update(extra or {})
    from flows.chain import no_heartbeats_without_a_server

    with no_heartbeats_without_a_server():  # an ephemeral server: nobody watches them
        state = flow(**parameters, return_state=True)
    if not state.is_completed():
        reason = state.message or state.name
        try:
            state.result()
        except Exception as exc:  # the flow's own error says what went wrong
            reason = f"{type(exc).__name__}: {exc}"
        print(f"echeancier run {name}: {state.name}: {reason}", file=sys.stderr)
        return 1
    report = state.result()
    print(summary.describe(report))
    return 0
