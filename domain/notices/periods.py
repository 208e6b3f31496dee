"""A subscription's next charge, read from its synced row, and the "days ahead" stages.

The next renewal is the first boundary after ``as_of`` of the series that starts at the
current period's end (``calendar.next_boundary``): a period end the sync has not yet seen
roll over is projected, so a late sync never makes a notice skip a year. Example: period
end 2026-07-16 (monthly), as_of 2026-07-20 -> next charge 2026-08-16.

Stages: with ``days_ahead = (30, 7)`` a renewal 23 days away is in stage 30, 5 days away
in stage 7, 40 days away in none. Each stage is one notice; a night missed inside a stage
is caught up the next night, and a notice first seen inside stage 7 never also sends the
stage-30 one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from domain.notices.calendar import local_day, next_boundary
from domain.notices.common import RENEWING, present


def will_renew(sub: Any) -> bool:
    """Active (or trialing, or being dunned) and not set to end."""
    return (
        str(sub.status) in RENEWING
        and not (present(sub.cancel_at_period_end) and bool(sub.cancel_at_period_end))
        and not present(sub.cancel_at)
        and not present(sub.ended_at)
    )


def renewal_on(sub: Any, as_of: date, timezone: str) -> date | None:
    """The next renewal (charge) day after ``as_of``; None without a period or interval."""
    anchor = local_day(sub.current_period_end, timezone)
    if anchor is None or not present(sub.interval):
        return None
    count = int(sub.interval_count) if present(sub.interval_count) else 1
    return next_boundary(anchor, as_of, str(sub.interval), count)


def stage(days_left: int, days_ahead: Sequence[int], minimum: int = 1) -> int | None:
    """The tightest stage ``days_left`` falls in (see the module docstring)."""
    if days_left < minimum:
        return None
    inside = [d for d in days_ahead if days_left <= d]
    return min(inside) if inside else None
