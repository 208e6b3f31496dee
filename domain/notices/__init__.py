"""Renewal, trial, card, mandate, parcel and return notices: one pure decision per kind.

========================  ==========================  =====================================
kind                      module                      legal basis
========================  ==========================  =====================================
``tacit_renewal``         :mod:`.renewals`            C. conso L215-1, L215-1-1, L215-3
``upcoming_renewal``      :mod:`.renewals`            (good practice)
``trial_ending``          :mod:`.trials`              (good practice)
``card_expiring``         :mod:`.cards`               (good practice)
``mandate_problem``       :mod:`.mandates`            (good practice)
``shipment_delay``        :mod:`.shipments`           (good practice)
``shipment_exception``    :mod:`.shipments`           (good practice)
``return_window``         :mod:`.returns`             C. conso L221-18 (the window itself)
``refund_overdue``        :mod:`.returns`             C. conso L221-24 (finance only)
========================  ==========================  =====================================

Time is injected (``as_of``); the timings are data (``policies/notices.yaml``,
:mod:`.policy`); :mod:`.plan` composes the kinds of each flow. docs/notices.md explains
each rule to the people who run it.
"""

from domain.notices.plan import (
    RENEWAL_KINDS,
    SHIPMENT_KINDS,
    NoticePlan,
    RenewalFrames,
    ShipmentFrames,
    Withdrawal,
    plan_renewal_notices,
    plan_shipment_notices,
)
from domain.notices.policy import NoticePolicy, PolicyError, load_policy, parse_policy
from domain.notices.report import NoticeReport, build_report, markdown

__all__ = [
    "RENEWAL_KINDS",
    "SHIPMENT_KINDS",
    "NoticePlan",
    "NoticePolicy",
    "NoticeReport",
    "PolicyError",
    "RenewalFrames",
    "ShipmentFrames",
    "Withdrawal",
    "build_report",
    "load_policy",
    "markdown",
    "parse_policy",
    "plan_renewal_notices",
    "plan_shipment_notices",
]
