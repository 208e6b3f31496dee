"""A test-only parent flow, deployed by test_server.py: it launches ``reconcile`` through
``flows.chain.launch`` as nightly does, then fails on its first attempt only, so that an
operator's Retry shows what launch does under a deployment."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.runtime import flow_run

from flows import chain


@flow(name="chained")
def chained(as_of: date) -> str:
    report = chain.launch("reconcile", {"as_of": as_of}, business_date=as_of)
    if flow_run.run_count == 1:
        raise RuntimeError("a later step failed on the first attempt")
    return str(report.as_of)
