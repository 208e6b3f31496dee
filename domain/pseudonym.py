"""The customer key of the analytics tables: a keyed hash, never the e-mail.

Analysts count and join customers across ``dunning_actions``, ``notice_exceptions`` and
``vat_lines`` by ``customer_key`` = HMAC-SHA256(secret, customer id), hex. Without the
secret (``ECHEANCIER_PSEUDONYM_KEY``) nobody can tell which customer a key stands for,
nor test a guessed id or address against it (a plain hash of an e-mail can be reversed
by trying a list of addresses; EDPB Guidelines 01/2025 recommend keyed MACs). The same
id and secret always give the same key, so keys join across tables and nights.

Example: ``customer_key("cus_1", "s3cret")`` →
``"5d2b…"`` (64 hex digits); another secret gives an unrelated key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable


def customer_key(customer_id: str, secret: str | bytes) -> str:
    """HMAC-SHA256 of ``customer_id`` under ``secret``, as 64 hex digits."""
    raw = secret.encode() if isinstance(secret, str) else secret
    if not raw:
        raise ValueError("the pseudonym key is empty")
    return hmac.new(raw, customer_id.encode(), hashlib.sha256).hexdigest()


def customer_keys(
    customer_ids: Iterable[str | None], secret: str | bytes | None
) -> list[str | None]:
    """``customer_key`` for each id, in order, for a writer filling a whole batch: ``None``
    for a missing id, and for every row when no secret is configured (the column then stays
    empty, as docs/privacy.md says). Each distinct id is hashed once."""
    if not secret:
        return [None for _ in customer_ids]
    known: dict[str, str] = {}
    out: list[str | None] = []
    for customer_id in customer_ids:
        if customer_id is None or customer_id != customer_id:  # None or NaN
            out.append(None)
            continue
        key = known.get(customer_id)
        if key is None:
            key = known[customer_id] = customer_key(customer_id, secret)
        out.append(key)
    return out
