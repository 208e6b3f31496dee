from __future__ import annotations

from pathlib import Path

import pytest

from domain.tax.policy import TaxCalendar, VatRates, load_tax_calendar, load_vat_rates

POLICIES = Path(__file__).resolve().parents[3] / "policies"


@pytest.fixture(scope="session")
def rates() -> VatRates:
    return load_vat_rates(POLICIES)


@pytest.fixture(scope="session")
def calendar() -> TaxCalendar:
    return load_tax_calendar(POLICIES)
