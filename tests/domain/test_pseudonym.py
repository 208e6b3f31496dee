"""The analytics customer key: stable under one secret, unrelated under another, and
nothing in it gives the customer away."""

from __future__ import annotations

import re

import pytest

from domain.pseudonym import customer_key, customer_keys


def test_the_same_customer_and_secret_give_the_same_key() -> None:
    assert customer_key("cus_1", "s3cret") == customer_key("cus_1", b"s3cret")
    assert re.fullmatch(r"[0-9a-f]{64}", customer_key("cus_1", "s3cret"))


def test_another_secret_or_customer_gives_an_unrelated_key() -> None:
    keys = {customer_key(c, s) for c in ("cus_1", "cus_2") for s in ("s3cret", "other")}
    assert len(keys) == 4
    assert "cus_1" not in customer_key("cus_1", "s3cret")


def test_it_is_a_keyed_mac_not_a_plain_hash() -> None:
    import hashlib

    plain = hashlib.sha256(b"cus_1").hexdigest()
    assert customer_key("cus_1", "s3cret") != plain
    # RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?")
    assert customer_key("what do ya want for nothing?", "Jefe") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        customer_key("cus_1", "")


def test_a_batch_gets_each_rows_key_and_none_where_there_is_no_customer() -> None:
    keys = customer_keys(["cus_1", None, "cus_2", "cus_1", float("nan")], "s3cret")  # type: ignore[list-item]
    assert keys == [
        customer_key("cus_1", "s3cret"),
        None,
        customer_key("cus_2", "s3cret"),
        customer_key("cus_1", "s3cret"),
        None,
    ]


@pytest.mark.parametrize("secret", [None, ""])
def test_without_a_secret_a_batch_stays_unkeyed(secret: str | None) -> None:
    assert customer_keys(["cus_1", "cus_2"], secret) == [None, None]
