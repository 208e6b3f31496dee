"""A Prefect event when a flow run ends, carrying what it counted.

Prefect already emits ``prefect.flow-run.Completed``; this event adds the business
counts (rows synced, exceptions opened, notices queued…) so an automation or a
dashboard can react to *what* a run did, not only that it ended. Example: after
``reconcile`` on 2026-06-30 the event is ``echeancier.flow.completed`` on the resource
``echeancier.flow.reconcile`` with ``{"as_of": "2026-06-30", "counts": {"new": 3, …}}``.

Call :func:`emit_run_event` with the :class:`PipelineRun` the flow just recorded.
Counts are business tallies: never a customer's e-mail or name.
"""

from __future__ import annotations

import json
from typing import Any

from prefect.events import emit_event
from prefect.runtime import flow_run

from warehouse.state import PipelineRun


def _plain(value: Any) -> Any:
    """JSON-safe (dates, Decimals and numpy integers become strings or numbers)."""
    return json.loads(json.dumps(value, default=str))


def emit_run_event(run: PipelineRun) -> None:
    """``echeancier.flow.<status>`` for ``run`` (``completed``, ``failed``…)."""
    related = []
    if flow_run.id:
        related.append(
            {
                "prefect.resource.id": f"prefect.flow-run.{flow_run.id}",
                "prefect.resource.role": "flow-run",
            }
        )
    emit_event(
        event=f"echeancier.flow.{run.status}",
        resource={
            "prefect.resource.id": f"echeancier.flow.{run.flow}",
            "prefect.resource.name": run.flow,
            "echeancier.as-of": run.as_of.isoformat(),
        },
        related=related,
        payload={
            "run_id": run.run_id,
            "as_of": run.as_of.isoformat(),
            "dry_run": run.dry_run,
            "status": run.status,
            "counts": _plain(dict(run.counts)),
            "control_totals": _plain(dict(run.control_totals)),
        },
    )
