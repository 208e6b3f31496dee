"""The hand-computed shop of the tax tests (seller in France, 2026).

Every VAT figure below was worked out by hand, not by the code under test:

- in_fr1 2026-07-10, French consumer, FR 20 %: base 100.00, VAT 20.00.
- in_fr2 2026-07-20, French consumer, two rates: FR 20 % 50.00 / 10.00 and FR 5.5 %
  20.00 / 1.10.
- pm_be1 2026-07-15, GoCardless, Belgian consumer, 49.00 gross, no breakdown:
  BE 21 %: VAT 4900 × 21 / 121 = 850.41 → 8.50, base 40.50.
- in_de2 2026-06-10, German consumer, DE 19 %: 100.00 / 19.00, refunded in full
  (re_de2, 119.00) on 2026-07-05: a refund crossing the quarter.
- in_de1 2026-08-05, German consumer, DE 19 % (19.00 VAT-inclusive): 15.97 / 3.03.
- in_deb 2026-08-15, German business with a valid VAT id: reverse charge, 490.00, no VAT.
- in_nl 2026-08-20, Dutch consumer billed in USD, NL 21 %: 100.00 / 21.00 USD.
  OSS Q3 at the ECB rate of 2026-09-30 (1.1700): 10000 / 1.17 = 8547.0 → 85.47,
  2100 / 1.17 = 1794.87 → 17.95. CA3 2026-08 at the rate of 2026-08-31 (1.1600):
  10000 / 1.16 = 8620.69 → 86.21, 2100 / 1.16 = 1810.34 → 18.10.
- in_frb 2026-09-01, French business: FR 20 % on top, 490.00 / 98.00.
- in_it1 2026-09-12, Italian consumer, IT 22 % (100.00 VAT-inclusive): 81.97 / 18.03;
  half refunded (re_it1, 50.00) on 2026-09-20: VAT 1803 × 5000 / 10000 = 901.5 → 9.02,
  base 50.00 − 9.02 = 40.98; what remains: 40.99 / 9.01.
"""

from __future__ import annotations

from pathlib import Path

from domain.tax.fx import FxTable, parse_ecb_csv
from domain.tax.lines import Facts
from tests.domain.tax.shop import DE_VAT, FR_VAT, ShopBuilder

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "tax"


def shop() -> ShopBuilder:
    b = ShopBuilder()
    for cid, country in [("c_fr", "FR"), ("c_de", "DE"), ("c_it", "IT"), ("c_be", "BE")]:
        b.customer(cid, country)
    b.customer("c_nl", "NL")
    b.customer("c_deb", "DE", vat_id=DE_VAT, business=True)
    b.customer("c_frb", "FR", vat_id=FR_VAT, business=True)
    b.invoice("in_de2", "c_de", "2026-06-10", [("DE", "19", 10000, 1900)], payment="ch_de2")
    b.invoice("in_fr1", "c_fr", "2026-07-10", [("FR", "20", 10000, 2000)])
    b.invoice("in_fr2", "c_fr", "2026-07-20", [("FR", "20", 5000, 1000), ("FR", "5.5", 2000, 110)])
    b.payment("pm_be1", "c_be", "2026-07-15", 4900)
    b.refund("re_de2", "ch_de2", "2026-07-05", 11900)
    b.invoice("in_de1", "c_de", "2026-08-05", [("DE", "19", 1597, 303)])
    b.invoice("in_deb", "c_deb", "2026-08-15", [("DE", "0", 49000, 0)], reverse=True)
    b.invoice("in_nl", "c_nl", "2026-08-20", [("NL", "21", 10000, 2100)], currency="USD")
    b.invoice("in_frb", "c_frb", "2026-09-01", [("FR", "20", 49000, 9800)])
    b.invoice("in_it1", "c_it", "2026-09-12", [("IT", "22", 8197, 1803)], payment="ch_it1")
    b.refund("re_it1", "ch_it1", "2026-09-20", 5000)
    return b


def facts() -> Facts:
    return shop().facts()


def ecb() -> FxTable:
    return FxTable(parse_ecb_csv((FIXTURES / "eurofxref-hist.csv").read_text()))
