"""Deterministic provider ids.

Every id is a hash of ``(seed, scope, counter)``, never of ``hash()`` or the
wall clock, so the same shop always gets the same ids, and a customer's ids do
not depend on how many objects other customers produced. Example:
``Ids(7, "c42").stripe("ch")`` is always the same 24-character Stripe charge id
for seed 7, customer 42, first call.
"""

from __future__ import annotations

from hashlib import blake2b

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _table(alphabet: str) -> bytes:
    return bytes(ord(alphabet[b % len(alphabet)]) for b in range(256))


_T62 = _table(_B62)
_T36 = _table(_B36)
_TABLES = {_B62: _T62, _B36: _T36}


def _digits(key: str, alphabet: str, length: int) -> str:
    """``length`` characters of ``alphabet`` from a hash of ``key`` (one byte per character)."""
    digest = blake2b(key.encode(), digest_size=length).digest()
    table = _TABLES.get(alphabet) or _table(alphabet)
    return digest.translate(table).decode()


def stripe_id(prefix: str, key: str) -> str:
    """``ch_`` + 24 base62 characters, like Stripe's own ids."""
    return f"{prefix}_{_digits(key, _B62, 24)}"


def gocardless_id(prefix: str, key: str) -> str:
    """``PM`` + 12 uppercase alphanumerics, like GoCardless's ids."""
    return prefix + _digits(key, _B36, 12)


def hex_id(key: str) -> str:
    """32 lowercase hex digits (AfterShip tracking ids)."""
    return blake2b(key.encode(), digest_size=16).hexdigest()


def token(key: str, length: int, alphabet: str = _B36) -> str:
    """A short deterministic token (invoice prefixes, order numbers, card fingerprints)."""
    return _digits(key, alphabet, length)


class Ids:
    """The id factory of one scope (a customer, or the shop-wide objects)."""

    def __init__(self, seed: int, scope: str) -> None:
        self._base = f"{seed}/{scope}/"
        self._n = 0

    def _key(self) -> str:
        self._n += 1
        return f"{self._base}{self._n}"

    def stripe(self, prefix: str) -> str:
        return stripe_id(prefix, self._key())

    def gocardless(self, prefix: str) -> str:
        return gocardless_id(prefix, self._key())

    def hex(self) -> str:
        return hex_id(self._key())

    def token(self, length: int) -> str:
        return token(self._key(), length)
