"""GDPR erasure (art. 17) of one customer: what is pseudonymised, what is kept, and why.

**Replaced** wherever the warehouse holds it, by a pseudonym derived from the customer id
(``erased-3f9a0c1b7d2e``, ``erased-3f9a0c1b7d2e@erased.invalid``): the customer's name,
e-mail, phone, postal address (street, city, postal code, region), company name, and any
free text quoting them; links that open their documents (hosted invoice pages, ``pay_url``).
The same customer always gets the same pseudonym, so an erasure run twice writes nothing
the second time and the rows still join on ``customer_id``.

**Kept**, because the law requires it or it identifies no one by itself: ids (provider
ids are opaque), amounts, currencies, dates, statuses, the country and the VAT number
(invoices, VAT and OSS returns must be kept ten years — Code de commerce L123-22,
CGI/LPF L102 B, Reg. 282/2011 art. 63c — and show the customer's country and, for
reverse charge, their VAT number), payment method brand and last four digits.

Art. 17(3)(b) allows keeping what a legal obligation requires; the issued invoices
themselves (with the name and address the law requires on them) are kept by the
billing provider, which remains the system of record for them.

Worked example: customer ``cus_1`` "Jane Doe" <jane@example.com>, Lyon 69001 →
``customers`` row ``erased-…`` / ``erased-…@erased.invalid`` / postal code NULL,
country FR kept; her Stripe customer payload's ``address`` keeps only ``country``; a
dunning notice context ``{"customer_name": "Jane Doe", "amount": 4990}`` becomes
``{"customer_name": "erased-…", "amount": 4990}``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ERASED_DOMAIN = "erased.invalid"  # RFC 2606: never deliverable
ERASED_VERSION = 2**62
"""``source_version`` of an erased row: newest-wins upserts never let a provider's copy
of the same object (which still carries the personal data) overwrite it."""

# Keys whose value is personal data, wherever they appear in a JSON payload or context.
# A mapping under one of them (an address) keeps only its ``country``.
PERSONAL_KEYS = frozenset(
    {
        "name",
        "email",
        "phone",
        "address",
        "shipping",
        "billing_details",
        "receipt_email",
        "customer_name",
        "customer_email",
        "customer_phone",
        "customer_address",
        "customer_shipping",
        "given_name",
        "family_name",
        "company_name",
        "address_line1",
        "address_line2",
        "address_line3",
        "city",
        "region",
        "postal_code",
        "phone_number",
        "swedish_identity_number",
        "danish_identity_number",
        "emails",
        "smses",
        "customers",
        "destination_city",
        "destination_postal_code",
        "destination_state",
        "destination_raw_location",
        "hosted_invoice_url",
        "invoice_pdf",
        "pay_url",
    }
)
KEPT_INSIDE = frozenset({"country", "country_code"})
# Keys whose value must stay a lookup-able e-mail or name: they get the pseudonym.
EMAIL_KEYS = frozenset({"email", "receipt_email", "customer_email"})


def pseudonym(customer_id: str) -> str:
    """``erased-`` and 12 hex digits of a hash of the id (stable, reveals nothing new)."""
    return "erased-" + hashlib.blake2b(customer_id.encode(), digest_size=6).hexdigest()


def erased_email(customer_id: str) -> str:
    return f"{pseudonym(customer_id)}@{ERASED_DOMAIN}"


def is_erased_email(email: str | None) -> bool:
    """Senders skip these: there is no one at the other end."""
    return bool(email) and str(email).endswith("@" + ERASED_DOMAIN)


def personal_values(*sources: Mapping[str, Any]) -> list[str]:
    """Every personal string found under :data:`PERSONAL_KEYS` in ``sources`` (the
    customer's row and payloads), longest first, so free text quoting them can be
    scrubbed ("Jane Doe" before "Jane")."""
    found: set[str] = set()

    def walk(value: Any, personal: bool) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                if key in KEPT_INSIDE:
                    continue
                walk(inner, personal or key in PERSONAL_KEYS)
        elif isinstance(value, list):
            for inner in value:
                walk(inner, personal)
        elif personal and isinstance(value, str) and len(value.strip()) >= 3:
            found.add(value.strip())

    for source in sources:
        walk(source, False)
    return sorted(found, key=lambda v: (-len(v), v))


def scrub_text(text: str, values: Iterable[str], customer_id: str) -> str:
    """``text`` with each personal value replaced by the pseudonym (e-mails by the
    pseudonymous address)."""
    for value in values:
        if value in text:
            replacement = erased_email(customer_id) if "@" in value else pseudonym(customer_id)
            text = text.replace(value, replacement)
    return text


def redact(value: Any, values: Iterable[str], customer_id: str, personal: bool = False) -> Any:
    """A JSON value with its personal data replaced (see the module docstring)."""
    values = list(values)
    if isinstance(value, Mapping):
        out = {}
        for key, inner in value.items():
            if personal and key in KEPT_INSIDE:
                out[key] = inner
            elif key in EMAIL_KEYS and isinstance(inner, str):
                out[key] = erased_email(customer_id)
            elif key in ("name", "customer_name") and isinstance(inner, str):
                out[key] = pseudonym(customer_id)
            elif key in PERSONAL_KEYS:
                out[key] = redact(inner, values, customer_id, personal=True)
            else:
                out[key] = redact(inner, values, customer_id, personal)
        return out
    if isinstance(value, list):
        return [redact(inner, values, customer_id, personal) for inner in value]
    if isinstance(value, str):
        return None if personal else scrub_text(value, values, customer_id)
    return None if personal and value is not None and not isinstance(value, bool) else value


def redact_json_text(text: str | None, values: Iterable[str], customer_id: str) -> str | None:
    """A JSON document (payload, context) redacted; plain text scrubbed. ``None`` stays."""
    if text is None:
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return scrub_text(text, values, customer_id)
    if not isinstance(parsed, (dict, list)):
        return scrub_text(text, values, customer_id)
    redacted = redact(parsed, values, customer_id)
    if redacted == parsed:
        return text  # nothing personal: keep the bytes as they were
    return json.dumps(redacted, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class ErasureReport:
    """Rows changed per table (a second run of the same erasure reports none)."""

    run_id: str
    customer_id: str
    pseudonym: str
    dry_run: bool
    changed: dict[str, int] = field(default_factory=dict)
    cancelled_notices: int = 0

    def counts(self) -> dict[str, int]:
        return {**self.changed, "cancelled_notices": self.cancelled_notices}

    def text(self) -> str:
        rows = ", ".join(f"{t} {n}" for t, n in self.changed.items() if n) or "no row"
        verb = "would pseudonymise" if self.dry_run else "pseudonymised"
        return (
            f"erase_customer {self.customer_id} → {self.pseudonym}: {verb} {rows}; "
            f"{self.cancelled_notices} pending notice(s) cancelled"
        )

    def markdown(self) -> str:
        lines = [f"# Erasure of {self.customer_id}", "", self.text(), ""]
        lines += ["| table | rows changed |", "|---|---|"]
        lines += [f"| {t} | {n} |" for t, n in self.changed.items()]
        lines += ["", "Kept: ids, amounts, dates, statuses, country, VAT number (legal retention)."]
        return "\n".join(lines) + "\n"
