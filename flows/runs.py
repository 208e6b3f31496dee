"""What every flow needs to know about its own run."""

from __future__ import annotations

import uuid


def current_run_id() -> str:
    """The Prefect flow run id (a fresh uuid outside a run), the key of ``pipeline_runs``."""
    from prefect.runtime import flow_run

    return str(flow_run.id or uuid.uuid4())
