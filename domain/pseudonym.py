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


def customer_key(customer_id: str, secret: str | bytes) -> str:
    """HMAC-SHA256 of ``customer_id`` under ``secret``, as 64 hex digits."""
    raw = secret.encode() if isinstance(secret, str) else secret
    if not raw:
        raise ValueError("the pseudonym key is empty")
    return hmac.new(raw, customer_id.encode(), hashlib.sha256).hexdigest()
