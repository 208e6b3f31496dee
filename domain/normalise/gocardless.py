"""GoCardless customers, mandates and subscriptions -> unified rows.

GoCardless links a subscription to a mandate only; the mandate names the customer. So
:func:`normalise_subscriptions` takes the mandates (id -> mandate object) to fill
``customer_id`` and ``mandate_status``; a subscription whose mandate is unknown is a
problem (``customer_id`` is required), retried on the next run.

A customer is a business when it has a ``company_name`` (or a VAT id in
``metadata.vat_id``); its locale is its ``language`` when ``fr``/``en``, else the
default of its ``country_code``. Example: ``{company_name: "Müller GmbH",
country_code: "DE", language: "de"}`` -> business, country DE, locale ``en``.

GoCardless subscriptions have no period fields: the current period ends on the next
``upcoming_payments[0].charge_date`` (midnight in the business time zone) and started
one interval before. Example: monthly, next charge 2026-07-05 -> period
2026-06-05 .. 2026-07-05 (Paris midnights, in UTC).
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.normalise import b2b
from domain.normalise import fields as f
from domain.normalise.core import DEFAULT_TZ, Normalised, Versions, run
from domain.normalise.schema import CUSTOMERS, MANDATES, SUBSCRIPTIONS
from domain.normalise.terms import contract_terms

PROVIDER = "gocardless"
MANDATE_STATUSES = frozenset(
    {
        "pending_customer_approval",
        "pending_submission",
        "submitted",
        "active",
        "suspended_by_payer",
        "failed",
        "cancelled",
        "expired",
        "consumed",
        "blocked",
    }
)
SUBSCRIPTION_STATUSES = frozenset(
    {
        "pending_customer_approval",
        "customer_approval_denied",
        "active",
        "finished",
        "cancelled",
        "paused",
    }
)
INTERVAL_UNITS = {"weekly": "week", "monthly": "month", "yearly": "year"}
SCHEME_TYPES = {"sepa_core": "sepa_debit", "sepa_cor1": "sepa_debit", "bacs": "bacs_debit"}


def payment_method_type(scheme: str | None) -> str:
    """``sepa_core`` -> ``sepa_debit`` (Stripe's name for the same thing), else ``direct_debit``."""
    return SCHEME_TYPES.get(scheme or "", "direct_debit")


def customer_row(obj: f.Obj) -> tuple[Any, ...]:
    country = b2b.country_code(obj.get("country_code"), "country_code")
    company = f.text(obj, "company_name")
    vat_id = b2b.clean_vat_id(f.metadata(obj, "vat_id"))
    given, family = f.text(obj, "given_name"), f.text(obj, "family_name")
    person = " ".join(part for part in (given, family) if part) or None
    language = f.text(obj, "language")
    return (
        f.ident(obj),
        PROVIDER,
        f.text(obj, "email"),
        company or person,
        country,
        f.text(obj, "postal_code"),
        b2b.locale([language] if language else [], country),
        None,
        vat_id,
        b2b.is_business(vat_id, company=company),
        None,
        None,
        f.instant(obj, "created_at"),
        None,
    )


def normalise_customers(objects: Sequence[Any], source_version: Versions) -> Normalised:
    """GoCardless customers -> ``customers`` rows."""
    return run(
        objects, source_version, CUSTOMERS, customer_row, provider=PROVIDER, object_type="customer"
    )


def mandate_row(obj: f.Obj) -> tuple[Any, ...]:
    customer = f.ref(obj, "links.customer")
    if customer is None:
        raise f.Malformed("missing links.customer")
    return (
        f.ident(obj),
        PROVIDER,
        customer,
        f.status(obj, MANDATE_STATUSES),
        f.text(obj, "scheme"),
        f.day(obj, "next_possible_charge_date"),
        f.instant(obj, "created_at"),
    )


def normalise_mandates(objects: Sequence[Any], source_version: Versions) -> Normalised:
    """GoCardless mandates -> a ``mandates`` frame (who pays, and can we still charge)."""
    return run(
        objects, source_version, MANDATES, mandate_row, provider=PROVIDER, object_type="mandate"
    )


def add_interval(day: date, unit: str, count: int) -> date:
    """``day`` moved by ``count`` weeks, months or years; 31 Jan + 1 month = 28 Feb."""
    if unit == "week":
        return day + timedelta(weeks=count)
    months = count * (12 if unit == "year" else 1)
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _midnight(day: date | None, tz: ZoneInfo) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), tz).astimezone(UTC)


def subscription_row(obj: f.Obj, mandates: Mapping[str, Any], tz: ZoneInfo) -> tuple[Any, ...]:
    subscription_id = f.ident(obj)
    status = f.status(obj, SUBSCRIPTION_STATUSES)
    mandate_id = f.ref(obj, "links.mandate")
    mandate = mandates.get(mandate_id) if mandate_id else None
    if not isinstance(mandate, Mapping):
        raise f.Malformed(f"mandate {mandate_id} is unknown: cannot tell the customer")
    customer = f.ref(mandate, "links.customer")
    if customer is None:
        raise f.Malformed(f"mandate {mandate_id} has no links.customer")
    raw_unit = f.text(obj, "interval_unit")
    unit = INTERVAL_UNITS.get(raw_unit or "")
    if raw_unit is not None and unit is None:
        raise f.Malformed(f"unknown interval_unit {raw_unit!r}")
    every = f.count(obj, "interval", default=1) or 1
    upcoming = f.items(obj, "upcoming_payments")
    next_charge = f.day(upcoming[0], "charge_date") if upcoming and status == "active" else None
    start = add_interval(next_charge, unit, -every) if next_charge and unit else None
    tacit = f.metadata(obj, "tacit_renewal")
    return (
        subscription_id,
        PROVIDER,
        customer,
        status,
        None,
        None,
        f.text(obj, "name"),
        f.money(obj, "amount"),
        f.currency(obj),
        unit,
        every,
        _midnight(f.day(obj, "start_date"), tz),
        _midnight(start, tz),
        _midnight(next_charge, tz),
        None,
        None,
        False,
        _midnight(f.day(obj, "end_date"), tz),
        None,
        None,
        (tacit or "").strip().lower() == "true",
        "charge_automatically",
        payment_method_type(f.text(mandate, "scheme")),
        None,
        mandate_id,
        f.status(mandate, MANDATE_STATUSES) if mandate.get("status") else None,
        None,
        None,
        None,
        None,
        f.instant(obj, "created_at"),
        *contract_terms(obj),
    )


def normalise_subscriptions(
    objects: Sequence[Any],
    source_version: Versions,
    *,
    mandates: Mapping[str, Any],
    tz: str = DEFAULT_TZ,
) -> Normalised:
    """GoCardless subscriptions -> ``subscriptions``; ``mandates``: id -> mandate object."""
    zone = ZoneInfo(tz)
    return run(
        objects,
        source_version,
        SUBSCRIPTIONS,
        lambda obj: subscription_row(obj, mandates, zone),
        provider=PROVIDER,
        object_type="subscription",
        tz=tz,
    )
