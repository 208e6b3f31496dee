"""Dunning: who is reminded, retried or escalated tonight, and how much came back.

Pure functions over the warehouse's frames (no I/O besides reading the policy files,
no clock, no prefect). :func:`decide` turns the reconciled state of a night into a
:class:`DunningPlan` (actions, notices, cancellations, skipped items) following
``policies/dunning.yaml`` (:func:`load_policy`) and the dated French late-payment rates
of ``policies/late_payment.yaml`` (:func:`load_late_payment_rates`); :func:`recovery`
builds the ``dunning_recovery`` analytics. docs/dunning.md explains the policy to
finance.
"""

from domain.dunning.analytics import RECOVERY_COLUMNS, recovery
from domain.dunning.calendar import country_zone, send_after, send_window_utc
from domain.dunning.inputs import COLUMNS, DunningInputs
from domain.dunning.model import ACTIONS, MAIL_ACTIONS, PROVIDER_ACTIONS, DunningPolicy
from domain.dunning.planner import ACTION_COLUMNS, DunningPlan, decide
from domain.dunning.policy import PolicyError, load_policy, parse_policy
from domain.dunning.rates import (
    LatePaymentRates,
    MissingRate,
    load_late_payment_rates,
    parse_late_payment_rates,
)

__all__ = [
    "ACTIONS",
    "ACTION_COLUMNS",
    "COLUMNS",
    "MAIL_ACTIONS",
    "PROVIDER_ACTIONS",
    "RECOVERY_COLUMNS",
    "DunningInputs",
    "DunningPlan",
    "DunningPolicy",
    "LatePaymentRates",
    "MissingRate",
    "PolicyError",
    "country_zone",
    "decide",
    "load_late_payment_rates",
    "load_policy",
    "parse_late_payment_rates",
    "parse_policy",
    "recovery",
    "send_after",
    "send_window_utc",
]
