"""Reference codes the normalisers check against: ISO 4217, EU member states, ISO 3166.

- A currency is accepted only if it is an active ISO 4217 code (``eur`` -> ``EUR``;
  ``EURO`` or ``XYZ`` are rejected), and its minor-unit exponent says how a decimal
  string becomes minor units (``"45.10"`` EUR -> 4510; JPY has no minor unit).
- ``EU_MEMBERS`` are the VAT prefixes of the 27 member states (Greece is ``EL`` in
  VAT ids, ``GR`` in addresses; Northern Ireland trades goods as ``XI``).
- AfterShip reports countries as ISO 3166 alpha-3 (``FRA``); the table wants alpha-2.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


ISO_4217 = _words(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD
    BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB
    EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK
    JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA
    MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK
    PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN
    SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV
    WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
    """
)

# Minor-unit exponents other than 2.
_EXPONENTS = {
    **dict.fromkeys(
        _words("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"), 0
    ),
    **dict.fromkeys(_words("BHD IQD JOD KWD LYD OMR TND"), 3),
}


def minor_exponent(currency: str) -> int:
    """Digits after the decimal point in ``currency``: EUR 2, JPY 0, KWD 3."""
    return _EXPONENTS.get(currency, 2)


EU_MEMBERS = _words(
    "AT BE BG CY CZ DE DK EE EL ES FI FR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK"
)


def vat_country(prefix: str) -> str:
    """The ISO 3166 country of a VAT prefix: ``EL`` -> ``GR``, ``XI`` -> ``GB``."""
    return {"EL": "GR", "XI": "GB"}.get(prefix, prefix)


ALPHA3_TO_ALPHA2 = {
    "AUT": "AT",
    "BEL": "BE",
    "BGR": "BG",
    "CYP": "CY",
    "CZE": "CZ",
    "DEU": "DE",
    "DNK": "DK",
    "EST": "EE",
    "GRC": "GR",
    "ESP": "ES",
    "FIN": "FI",
    "FRA": "FR",
    "HRV": "HR",
    "HUN": "HU",
    "IRL": "IE",
    "ITA": "IT",
    "LTU": "LT",
    "LUX": "LU",
    "LVA": "LV",
    "MLT": "MT",
    "NLD": "NL",
    "POL": "PL",
    "PRT": "PT",
    "ROU": "RO",
    "SWE": "SE",
    "SVN": "SI",
    "SVK": "SK",
    "GBR": "GB",
    "CHE": "CH",
    "NOR": "NO",
    "ISL": "IS",
    "LIE": "LI",
    "MCO": "MC",
    "AND": "AD",
    "USA": "US",
    "CAN": "CA",
    "AUS": "AU",
    "NZL": "NZ",
    "JPN": "JP",
    "CHN": "CN",
    "MAR": "MA",
    "TUN": "TN",
    "DZA": "DZ",
    "TUR": "TR",
    "UKR": "UA",
    "SRB": "RS",
}

# Where French is the default language of a customer who has not said otherwise.
FRENCH_SPEAKING = frozenset({"FR", "BE", "LU", "MC", "CH", "RE", "GP", "MQ", "GF", "YT", "NC"})
