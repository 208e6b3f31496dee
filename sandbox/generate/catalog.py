"""The shop's plans and goods.

Consumers buy VAT-inclusive plans (Essentiel 19.00/month or 190.00/year,
Plus 39.00/month or 390.00/year); businesses VAT-exclusive ones (Pro
49.00/month or 490.00/year) and the annual maintenance contract (1,200.00/year)
that renews tacitly and so needs the Loi Chatel notice. One-off orders are
physical goods that get shipped and tracked.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.generate.ids import stripe_id


@dataclass(frozen=True)
class Plan:
    key: str
    name: str
    amount: int  # cents
    interval: str  # "month" | "year"
    business: bool
    tacit_renewal: bool = False

    @property
    def inclusive(self) -> bool:
        return not self.business

    def price_id(self, seed: int) -> str:
        return stripe_id("price", f"{seed}/price/{self.key}")

    def product_id(self, seed: int) -> str:
        return stripe_id("prod", f"{seed}/prod/{self.key.split('-')[0]}")


CONSUMER_PLANS = (
    Plan("essentiel-month", "Essentiel", 1900, "month", False),
    Plan("plus-month", "Plus", 3900, "month", False),
    Plan("essentiel-year", "Essentiel annuel", 19000, "year", False, tacit_renewal=True),
    Plan("plus-year", "Plus annuel", 39000, "year", False, tacit_renewal=True),
)
CONSUMER_WEIGHTS = (45, 25, 18, 12)
BUSINESS_PLANS = (
    Plan("pro-month", "Pro", 4900, "month", True),
    Plan("pro-year", "Pro annuel", 49000, "year", True),
    Plan("maintenance-year", "Contrat de maintenance", 120000, "year", True, tacit_renewal=True),
)
BUSINESS_WEIGHTS = (50, 25, 25)

GOODS = (
    ("Coffret découverte", 2900),
    ("Kit de démarrage", 5900),
    ("Lampe d'atelier", 8900),
    ("Station de charge", 14900),
    ("Pack accessoires", 3900),
    ("Caisse à outils", 24900),
)
