"""Who the shop's customers are: country, language, consumer or business, payer type.

Shares (per customer, drawn from the customer's own RNG): FR 40 %, DE 18 %,
IT 12 %, ES 12 %, BE 9 %, NL 9 %; French-speaking (``fr``) in FR and 60 % of
BE, ``en`` elsewhere; 15 % businesses, each with a VAT id that passes its
checksum; 70 % pay by card on Stripe, 30 % by SEPA direct debit on GoCardless.
Emails are on ``example.*`` domains, so nothing can ever reach a real person.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

from sandbox.generate.vat import vat_id

COUNTRIES = ("FR", "DE", "IT", "ES", "BE", "NL")
COUNTRY_WEIGHTS = (40, 18, 12, 12, 9, 9)
B2B_SHARE = 0.15
STRIPE_SHARE = 0.70

_FIRST = {
    "FR": ["Camille", "Léa", "Hugo", "Louis", "Chloé", "Manon", "Jules", "Inès", "Théo", "Zoé"],
    "DE": ["Lukas", "Anna", "Jonas", "Lea", "Felix", "Mia", "Paul", "Emma", "Jan", "Sophie"],
    "IT": ["Giulia", "Marco", "Sofia", "Luca", "Chiara", "Matteo", "Sara", "Andrea", "Elena"],
    "ES": ["Lucía", "Hugo", "Martina", "Pablo", "Sofía", "Daniel", "Carmen", "Javier", "Paula"],
    "BE": ["Lotte", "Arthur", "Louise", "Noah", "Elise", "Lucas", "Marie", "Victor", "Julie"],
    "NL": ["Daan", "Sanne", "Lars", "Fleur", "Bram", "Julia", "Sem", "Lieke", "Thijs", "Eva"],
}
_LAST = {
    "FR": ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"],
    "DE": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"],
    "IT": ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci"],
    "ES": ["García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez"],
    "BE": ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Dubois"],
    "NL": ["de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit"],
}
_CITIES = {
    "FR": [
        ("Paris", "75011"),
        ("Lyon", "69003"),
        ("Marseille", "13006"),
        ("Lille", "59000"),
        ("Nantes", "44000"),
        ("Bordeaux", "33000"),
        ("Toulouse", "31000"),
    ],
    "DE": [("Berlin", "10115"), ("München", "80331"), ("Hamburg", "20095"), ("Köln", "50667")],
    "IT": [("Milano", "20121"), ("Roma", "00184"), ("Torino", "10121"), ("Bologna", "40121")],
    "ES": [
        ("Madrid", "28013"),
        ("Barcelona", "08001"),
        ("Valencia", "46001"),
        ("Sevilla", "41001"),
    ],
    "BE": [("Bruxelles", "1000"), ("Liège", "4000"), ("Antwerpen", "2000"), ("Gent", "9000")],
    "NL": [("Amsterdam", "1012"), ("Rotterdam", "3011"), ("Utrecht", "3511"), ("Den Haag", "2511")],
}
_STREETS = {
    "FR": "rue de la République",
    "DE": "Hauptstraße",
    "IT": "Via Roma",
    "ES": "Calle Mayor",
    "BE": "Rue Neuve",
    "NL": "Kerkstraat",
}
_COMPANY = {
    "FR": "SAS",
    "DE": "GmbH",
    "IT": "S.r.l.",
    "ES": "S.L.",
    "BE": "SRL",
    "NL": "B.V.",
}
_TLD = {"FR": "fr", "DE": "de", "IT": "it", "ES": "es", "BE": "be", "NL": "nl"}


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


@dataclass(frozen=True)
class Person:
    index: int
    country: str
    locale: str
    given_name: str
    family_name: str
    company: str | None
    vat_id: str | None
    email: str
    line1: str
    city: str
    postal_code: str
    provider: str  # "stripe" | "gocardless"

    @property
    def is_business(self) -> bool:
        return self.company is not None

    @property
    def name(self) -> str:
        return self.company or f"{self.given_name} {self.family_name}"

    @property
    def reverse_charge(self) -> bool:
        """Intra-EU B2B with a VAT id outside France: no VAT charged."""
        return self.vat_id is not None and self.country != "FR"

    @property
    def address(self) -> dict[str, str]:
        return {
            "line1": self.line1,
            "city": self.city,
            "postal_code": self.postal_code,
            "country": self.country,
        }


def make_person(index: int, rng: random.Random, *, provider: str | None = None) -> Person:
    """Draw one customer; ``provider`` forces the payer type (anomaly customers)."""
    country = rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0]
    locale = "fr" if country == "FR" or (country == "BE" and rng.random() < 0.6) else "en"
    given = rng.choice(_FIRST[country])
    family = rng.choice(_LAST[country])
    business = rng.random() < B2B_SHARE
    company = (
        f"{family} {rng.choice(['Conseil', 'Atelier', 'Services', 'Studio'])} {_COMPANY[country]}"
        if business
        else None
    )
    vat = vat_id(country, rng) if business else None
    city, postal = rng.choice(_CITIES[country])
    payer = provider or ("stripe" if rng.random() < STRIPE_SHARE else "gocardless")
    email = f"{_ascii(given)}.{_ascii(family)}.{index}@example.{_TLD[country]}"
    return Person(
        index=index,
        country=country,
        locale=locale,
        given_name=given,
        family_name=family,
        company=company,
        vat_id=vat,
        email=email,
        line1=f"{rng.randint(1, 180)} {_STREETS[country]}",
        city=city,
        postal_code=postal,
        provider=payer,
    )
