"""B2B detection, reverse charge, and the customer's locale.

- **VAT id**: uppercase, no spaces, dots or dashes: ``"de 123.456.789"`` -> ``"DE123456789"``.
  Stripe puts it on invoices as ``customer_tax_ids[{type: "eu_vat", value}]``; other tax
  id types (``gb_vat``, ``ch_vat``…) count for B2B but are not EU VAT ids.
- **Business**: a customer with a VAT id, any tax id, a company name, or Stripe's
  ``tax_exempt: "reverse"`` is a business (late-payment penalties and the 40 € indemnity
  apply to them; consumers are never charged fees).
- **Reverse charge**: only with an EU VAT id that passes its checksum
  (``stdnum.eu.vat.is_valid``) of a member state other than the seller's. A French
  seller invoicing ``DE…`` with a valid id: reverse charge; invoicing ``FR…``: domestic
  B2B, French VAT; an invalid or missing id: VAT as for a consumer.
- **Locale**: ``fr`` or ``en``; the first of Stripe's ``preferred_locales`` (or
  GoCardless ``language``) that is one of them (``fr-BE`` -> ``fr``), else French for a
  French-speaking country, else English.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from stdnum.eu import vat as eu_vat

from domain.normalise.codes import EU_MEMBERS, FRENCH_SPEAKING, vat_country
from domain.normalise.fields import Malformed, check_text

SELLER_COUNTRY = "FR"
LOCALES = ("fr", "en")
_NOISE = re.compile(r"[\s.\-/]")


def clean_vat_id(value: str | None) -> str | None:
    """``" fr 40 303 265 045"`` -> ``"FR40303265045"``; empty -> ``None``."""
    if value is None:
        return None
    cleaned = _NOISE.sub("", value).upper()
    return cleaned or None


def vat_id_from_tax_ids(tax_ids: Any) -> tuple[str | None, bool]:
    """The EU VAT id among Stripe ``customer_tax_ids`` (else the first id), and whether any.

    ``[{"type": "eu_vat", "value": "DE 123456789"}]`` -> ``("DE123456789", True)``.
    """
    if tax_ids is None:
        return None, False
    if not isinstance(tax_ids, list):
        raise Malformed(f"customer_tax_ids is not a list: {tax_ids!r}"[:120])
    first: str | None = None
    for entry in tax_ids:
        if not isinstance(entry, dict):
            raise Malformed("customer_tax_ids has an entry that is not an object")
        value = clean_vat_id(check_text(entry.get("value"), "customer_tax_ids.value"))
        if value is None:
            continue
        if entry.get("type") == "eu_vat":
            return value, True
        first = first or value
    return first, first is not None


def is_business(
    vat_id: str | None,
    *,
    any_tax_id: bool = False,
    company: str | None = None,
    tax_exempt: str | None = None,
) -> bool:
    """A VAT id, another tax id, a company name or a reverse-charge exemption."""
    return bool(vat_id or any_tax_id or (company and company.strip()) or tax_exempt == "reverse")


def reverse_charge(vat_id: str | None, seller_country: str = SELLER_COUNTRY) -> bool:
    """A checksum-valid EU VAT id of another member state than the seller's."""
    if not vat_id or len(vat_id) < 3:
        return False
    prefix = vat_id[:2]
    if prefix not in EU_MEMBERS or vat_country(prefix) == seller_country:
        return False
    return bool(eu_vat.is_valid(vat_id))


def locale(preferred: Iterable[Any] | None, country: str | None) -> str:
    """``["de-DE", "en-GB"]`` -> ``"en"``; ``[]`` in BE -> ``"fr"``; ``[]`` in DE -> ``"en"``."""
    for value in preferred or ():
        if isinstance(value, str):
            language = value.strip().lower()[:2]
            if language in LOCALES:
                return language
    return "fr" if country in FRENCH_SPEAKING else "en"


def country_code(value: Any, field: str) -> str | None:
    """An ISO 3166 alpha-2 country, uppercased; anything else is malformed."""
    text = check_text(value, field)
    if text is None or text == "":
        return None
    code = text.strip().upper()
    if len(code) != 2 or not code.isalpha() or not code.isascii():
        raise Malformed(f"{field} {text!r} is not an ISO 3166 country")
    return code
