"""Reminders to finance before each tax deadline, as outbox notices.

For a return not yet filed, a reminder is due ``N`` days before its due date for each
``N`` of ``reminder_days`` (e.g. 10 and 3). Only the most urgent window reached is sent:
with the OSS 2026-Q3 return due on 2026-10-31, a run on 2026-10-21 queues the 10-day
reminder, one on 2026-10-28 the 3-day one, and a first run on 2026-10-29 only the
3-day one. Nothing is sent after the due date (the deadline is then ``overdue`` in the
report) nor for a filed return. The dedupe key
``tax_deadline:{regime}:{period}:{days_before}`` makes each reminder go once, whatever
the number of runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from domain.notice import Notice

REGIME_NAMES = {"OSS": "OSS", "FR_CA3": "CA3"}


@dataclass(frozen=True)
class Reminder:
    regime: str
    period: str
    days_before: int
    notice: Notice


def due_reminders(
    deadlines: Iterable[Mapping[str, Any]],
    *,
    as_of: date,
    reminder_days: tuple[int, ...],
    locale: str,
) -> list[Reminder]:
    """The reminders ``as_of`` calls for (module docstring)."""
    out = []
    for row in deadlines:
        if row["status"] == "filed":
            continue
        due_on: date = row["due_on"]
        if as_of > due_on:
            continue
        reached = [n for n in reminder_days if due_on - timedelta(days=n) <= as_of]
        if not reached:
            continue
        days = min(reached)
        regime, period = row["regime"], row["period"]
        context = {
            "regime": regime,
            "return_name": REGIME_NAMES.get(regime, regime),
            "period": period,
            "due_on": due_on.isoformat(),
            "days_before": days,
            "days_left": (due_on - as_of).days,
            "vat_due": int(row["vat_due"] or 0),
            "currency": row["currency"] or "EUR",
            "files": [f"{regime}_{period}.xlsx", f"{regime}_{period}.csv"],
        }
        notice = Notice(
            dedupe_key=f"tax_deadline:{regime}:{period}:{days}",
            kind="tax_deadline",
            template="tax_deadline",
            locale=locale,
            planned_for=due_on - timedelta(days=days),
            context=context,
            audience="finance",
            stage=f"{days}_days",
        )
        out.append(Reminder(regime, period, days, notice))
    return out
