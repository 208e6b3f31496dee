"""Days and hours: which nights may retry a direct debit, and when mail may leave.

A retry on a weekend or a bank holiday is presented on the next business day anyway,
and a debit presented in the last days of the month, before most salaries arrive,
fails more often; so the policy lists the holidays (``12-25``, ``easter+1`` for Easter
Monday, or a dated ``2026-05-14``) and the days of the month to avoid, and a provider
marked ``business_days_only`` only retries on the other days. Example with the default
policy: Monday 6 April 2026 is Easter Monday, so a GoCardless retry due that night
waits for Tuesday 7 April.

Mail leaves inside the send window in the customer's own time zone, taken from their
country (``time_zones`` in the policy for countries with several zones, else the
country's zone as Babel knows it when all its zones keep the same time, else the
policy's ``timezone``): with a 09:00 window, a French
customer's notice for 26 November 2026 may leave from 08:00 UTC, a New York one's
from 14:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.core import get_global

from domain.dunning.model import DunningPolicy, RetryCalendar


def easter(year: int) -> date:
    """Easter Sunday (Gregorian; the anonymous algorithm of Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


def holidays(calendar: RetryCalendar, year: int) -> frozenset[date]:
    """The policy's holidays that fall in ``year``."""
    days: set[date] = set()
    for entry in calendar.holidays:
        if entry.startswith("easter"):
            days.add(easter(year) + timedelta(days=int(entry[len("easter") :])))
        elif len(entry) == 5:
            month, day = int(entry[:2]), int(entry[3:])
            days.add(date(year, month, day))
        else:
            dated = date.fromisoformat(entry)
            if dated.year == year:
                days.add(dated)
    return frozenset(days)


def retry_day_problem(calendar: RetryCalendar, day: date) -> str | None:
    """Why ``day`` is not a sensible day to present a debit, or ``None`` if it is."""
    if day.weekday() >= 5:
        return "weekend"
    if day in holidays(calendar, day.year):
        return "holiday"
    if day.day in calendar.avoid_days_of_month:
        return "end_of_month"
    return None


def country_zone(policy: DunningPolicy, country: str | None) -> str:
    """The customer's time zone from their country (see the module docstring)."""
    return _country_zone(policy.timezone, tuple(policy.time_zones.items()), country or "")


@lru_cache(maxsize=512)
def _country_zone(default: str, overrides: tuple[tuple[str, str], ...], country: str) -> str:
    code = country.upper()
    chosen = dict(overrides).get(code)
    if chosen:
        return chosen
    zones = get_global("territory_zones").get(code, ())
    if zones and len({_offsets(zone) for zone in zones}) == 1:
        return str(zones[0])  # one clock for the whole country (DE: Berlin, Busingen)
    return default


def _offsets(zone: str) -> tuple[timedelta | None, ...]:
    """A zone's UTC offsets in winter and summer (zones with equal ones keep one time)."""
    tz = ZoneInfo(zone)
    return tuple(datetime(2026, month, 15, 12, tzinfo=tz).utcoffset() for month in (1, 7))


def send_after(policy: DunningPolicy, country: str | None, day: date) -> datetime:
    """The start of the send window on ``day`` in the customer's zone, as aware UTC."""
    zone = ZoneInfo(country_zone(policy, country))
    local = datetime.combine(day, policy.send_window.start, tzinfo=zone)
    return local.astimezone(UTC)


def send_window_utc(
    policy: DunningPolicy, country: str | None, day: date
) -> tuple[datetime, datetime]:
    """Start and end of the send window on ``day`` for a customer of ``country``, in UTC
    (for the sender: a notice not sent by the end waits for the next day's start)."""
    zone = ZoneInfo(country_zone(policy, country))
    start = datetime.combine(day, policy.send_window.start, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day, policy.send_window.end, tzinfo=zone).astimezone(UTC)
    return start, end
