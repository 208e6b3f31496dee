"""Stripe's test cards: which last four digits decline, how, and what it costs.

4242 succeeds; 0002 is a generic decline, 9995 insufficient funds, 0119 a
processing error (soft declines); 9987 lost, 9979 stolen, 0019 fraudulent
(blocked by Radar), 0069 expired and 0127 a wrong CVC (hard declines).

A hard decline fails every attempt. A soft one fails the first attempt and
succeeds on a later one with a 40 % chance drawn from ``sha256(seed, invoice
id, attempt number)``: the same shop, seed and calls give the same outcomes.
Example: with seed 7, ``decide("9995", 7, "in_A", 1)`` is always the
``insufficient_funds`` decline; attempt 2 succeeds iff ``draw(7, "in_A", 2) < 0.4``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

SOFT_RECOVERY_CHANCE = 0.4
_EEA_CODES = (
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IS IT LI LT LU LV MT NL NO PL PT RO SE SI SK"
)
EEA = frozenset(_EEA_CODES.split())


@dataclass(frozen=True)
class Decline:
    code: str
    decline_code: str
    message: str
    hard: bool
    outcome_type: str = "issuer_declined"


_DECLINED = "Your card was declined."
DECLINES: dict[str, Decline] = {
    "0002": Decline("card_declined", "generic_decline", _DECLINED, hard=False),
    "9995": Decline(
        "card_declined", "insufficient_funds", "Your card has insufficient funds.", hard=False
    ),
    "0119": Decline(
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
        hard=False,
    ),
    "9987": Decline("card_declined", "lost_card", _DECLINED, hard=True),
    "9979": Decline("card_declined", "stolen_card", _DECLINED, hard=True),
    "0019": Decline("card_declined", "fraudulent", _DECLINED, hard=True, outcome_type="blocked"),
    "0069": Decline("expired_card", "expired_card", "Your card has expired.", hard=True),
    "0127": Decline(
        "incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.", hard=True
    ),
}


def draw(seed: int, invoice_id: str, attempt: int) -> float:
    """A deterministic number in [0, 1) for one payment attempt."""
    digest = hashlib.sha256(f"{seed}:{invoice_id}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def decide(last4: str, seed: int, invoice_id: str, attempt: int) -> Decline | None:
    """The decline this attempt meets, or ``None`` when it succeeds."""
    decline = DECLINES.get(last4)
    if decline is None or decline.hard or attempt <= 1:
        return decline
    return None if draw(seed, invoice_id, attempt) < SOFT_RECOVERY_CHANCE else decline


def card_fee(amount: int, country: str | None) -> int:
    """Stripe's standard card pricing: 1.5 % + 25 for EEA cards, 3.25 % + 25 otherwise."""
    rate = 0.015 if (country or "").upper() in EEA else 0.0325
    return round(amount * rate) + 25


def outcome(decline: Decline | None) -> dict[str, Any]:
    if decline is None:
        return {
            "network_status": "approved_by_network",
            "seller_message": "Payment complete.",
            "type": "authorized",
        }
    if decline.outcome_type == "blocked":
        return {
            "network_status": "not_sent_to_network",
            "reason": "highest_risk_level",
            "seller_message": "Stripe blocked this payment as too risky.",
            "type": "blocked",
        }
    return {
        "network_status": "declined_by_network",
        "reason": decline.decline_code,
        "seller_message": f"The bank returned the decline code `{decline.decline_code}`.",
        "type": "issuer_declined",
    }
