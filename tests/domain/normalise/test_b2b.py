"""B2B detection, reverse charge and locale rules."""

from __future__ import annotations

import pytest

from domain.normalise import b2b
from domain.normalise.fields import Malformed


def test_vat_id_is_uppercased_without_spaces() -> None:
    assert b2b.clean_vat_id(" fr 40 303.265-045 ") == "FR40303265045"
    assert b2b.clean_vat_id("  ") is None


def test_eu_vat_is_preferred_among_tax_ids() -> None:
    ids = [{"type": "gb_vat", "value": "GB123"}, {"type": "eu_vat", "value": "be0403019261"}]
    assert b2b.vat_id_from_tax_ids(ids) == ("BE0403019261", True)
    assert b2b.vat_id_from_tax_ids([{"type": "ch_vat", "value": "CHE-123"}]) == ("CHE123", True)
    assert b2b.vat_id_from_tax_ids([]) == (None, False)
    with pytest.raises(Malformed):
        b2b.vat_id_from_tax_ids("DE1")


@pytest.mark.parametrize(
    ("vat_id", "seller", "expected"),
    [
        ("DE136695976", "FR", True),  # valid, another member state
        ("FR40303265045", "FR", False),  # domestic B2B
        ("DE136695976", "DE", False),
        ("DE000000000", "FR", False),  # fails its checksum
        ("CHE123456789", "FR", False),  # not an EU member
        (None, "FR", False),
    ],
)
def test_reverse_charge(vat_id: str | None, seller: str, expected: bool) -> None:
    assert b2b.reverse_charge(vat_id, seller) is expected


def test_is_business() -> None:
    assert b2b.is_business("DE136695976")
    assert b2b.is_business(None, company="Atelier SAS")
    assert b2b.is_business(None, tax_exempt="reverse")
    assert not b2b.is_business(None, company="  ")


def test_locale() -> None:
    assert b2b.locale(["de-DE", "en-GB"], "DE") == "en"
    assert b2b.locale(["FR"], "DE") == "fr"
    assert b2b.locale([], "LU") == "fr"
    assert b2b.locale(None, None) == "en"
