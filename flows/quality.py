"""The ``quality`` flow: the data quality gate on its own, for an operator's re-check.

Nightly runs the same task between sync and reconciliation; this flow lets an operator
re-run the gate after fixing data by hand (``echeancier run quality`` once the CLI knows
it). It fails, with the failing table and expectation in its message, when the gate does.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow

from domain.quality import GateResult
from echeancier.settings import load_settings
from tasks.quality import check_data_quality


def utc_now() -> datetime:
    """The run's clock (the one read of the time; tests point it elsewhere)."""
    return datetime.now(UTC)


@flow(name="quality")
def quality() -> GateResult:
    """Check every unified table; quarantine bad rows; fail on a table-level failure."""
    from prefect.runtime import flow_run

    settings = load_settings()
    run_id = str(flow_run.id) if flow_run.id else None
    return check_data_quality(settings, utc_now(), run_id)
