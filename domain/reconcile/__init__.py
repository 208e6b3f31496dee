"""Reconciliation: payments <-> invoices <-> payouts <-> shipments <-> refunds.

Pure functions over the warehouse's frames (no I/O, no clock, no prefect):
:func:`find_exceptions` runs every rule (:mod:`.orders`, :mod:`.amounts`,
:mod:`.settlement`) for one ``as_of``; :func:`update_register` merges tonight's
exceptions into the stored register (:mod:`.register`); :mod:`.totals` computes the
control totals. Thresholds come from ``policies/reconciliation.yaml`` (:mod:`.policy`).
docs/reconciliation.md explains every kind to finance.
"""

from domain.reconcile.found import FOUND_COLUMNS, exception_id
from domain.reconcile.policy import PolicyError, ReconPolicy, load_policy, parse_policy
from domain.reconcile.register import (
    REGISTER_COLUMNS,
    changed_rows,
    empty_register,
    update_register,
)
from domain.reconcile.report import ReconReport, build_report, markdown
from domain.reconcile.rules import COLUMNS, KINDS, RULES, Frames, find_exceptions
from domain.reconcile.totals import ageing, control_totals, exception_tallies

__all__ = [
    "COLUMNS",
    "FOUND_COLUMNS",
    "KINDS",
    "REGISTER_COLUMNS",
    "RULES",
    "Frames",
    "PolicyError",
    "ReconPolicy",
    "ReconReport",
    "ageing",
    "build_report",
    "changed_rows",
    "control_totals",
    "empty_register",
    "exception_id",
    "exception_tallies",
    "find_exceptions",
    "load_policy",
    "markdown",
    "parse_policy",
    "update_register",
]
