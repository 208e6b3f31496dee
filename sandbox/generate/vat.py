"""VAT for the generated shop: rates per country, Stripe tax rates, VAT ids.

The shop is French and sells across the EU above the OSS threshold, so a
consumer pays the VAT of the country the goods go to (FR 20 %, DE 19 %…). A
business outside France with a valid VAT id pays none: reverse charge, shown
on the invoice as a zero tax line with ``taxability_reason: "reverse_charge"``.
French businesses pay French VAT.

Consumer prices are VAT-inclusive (a 19.00 EUR plan in Germany carries
3.03 EUR of VAT: 1900 × 19 / 119 = 303.36 → 303), business prices exclusive
(a 490.00 EUR contract in France carries 98.00 EUR on top). Rounding is half-up
on ``Decimal``, once per invoice and rate.
"""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from stdnum.eu import vat as eu_vat
from stdnum.fr import siren as fr_siren

from sandbox.generate.ids import stripe_id

RATES: dict[str, Decimal] = {
    "FR": Decimal("20"),
    "DE": Decimal("19"),
    "IT": Decimal("22"),
    "ES": Decimal("21"),
    "BE": Decimal("21"),
    "NL": Decimal("21"),
}
HOME = "FR"


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def tax_of(amount: int, rate: Decimal, *, inclusive: bool) -> int:
    """VAT in cents on ``amount`` cents: extracted when inclusive, added when exclusive."""
    if inclusive:
        return _round(Decimal(amount) * rate / (Decimal(100) + rate))
    return _round(Decimal(amount) * rate / Decimal(100))


def tax_rate_id(seed: int, country: str, kind: str) -> str:
    """``kind``: ``inclusive``, ``exclusive`` or ``reverse`` (0 %, reverse charge)."""
    return stripe_id("txr", f"{seed}/txr/{country}/{kind}")


def tax_rates(seed: int, created: int) -> list[dict[str, Any]]:
    """Every Stripe tax rate the shop uses (sparse objects)."""
    out = []
    for country, rate in RATES.items():
        for kind in ("inclusive", "exclusive", "reverse"):
            pct = 0 if kind == "reverse" else int(rate)
            desc = f"VAT {country} {pct}%" if kind != "reverse" else f"Reverse charge {country}"
            out.append(
                {
                    "id": tax_rate_id(seed, country, kind),
                    "object": "tax_rate",
                    "active": True,
                    "country": country,
                    "created": created,
                    "description": desc,
                    "display_name": "VAT",
                    "effective_percentage": pct,
                    "inclusive": kind == "inclusive",
                    "jurisdiction": country,
                    "percentage": pct,
                    "rate_type": "percentage",
                    "tax_type": "vat",
                    "metadata": {"kind": kind},
                }
            )
    return out


def _first_valid(prefix: str, body: str, suffix: str = "", width: int = 1) -> str:
    """Append the check digits that make ``prefix+body`` a valid VAT id (per stdnum)."""
    for n in range(10**width):
        candidate = f"{prefix}{body}{n:0{width}d}{suffix}"
        if eu_vat.is_valid(candidate):
            return candidate
    raise ValueError(f"no check digits for {prefix}{body}")


def vat_id(country: str, rng: random.Random) -> str:
    """A VAT id of the country's format that passes its checksum."""
    for _ in range(50):
        digits = "".join(rng.choice("0123456789") for _ in range(10))
        try:
            if country == "FR":
                siren = next(
                    f"3{digits[:7]}{n}" for n in range(10) if fr_siren.is_valid(f"3{digits[:7]}{n}")
                )
                key = (12 + 3 * (int(siren) % 97)) % 97
                candidate = f"FR{key:02d}{siren}"
                if eu_vat.is_valid(candidate):
                    return candidate
            elif country == "DE":
                return _first_valid("DE", "1" + digits[:7])
            elif country == "IT":
                return _first_valid("IT", digits[:7] + "001")
            elif country == "ES":
                return _first_valid("ESB", digits[:7])
            elif country == "BE":
                return _first_valid("BE0", str(4 + int(digits[0]) % 6) + digits[1:7], width=2)
            elif country == "NL":
                return _first_valid("NL", "0" + digits[:7], suffix="B01")
        except ValueError:
            continue
    raise ValueError(f"cannot make a VAT id for {country}")
