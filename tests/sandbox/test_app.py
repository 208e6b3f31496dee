"""The sandbox's JSON answers: orjson's bytes where it can, ``json``'s where it cannot."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.app import dumps
from sandbox.providers.stripe_wire import render


def _reference(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize(
    "body",
    [
        {"object": "list", "data": [{"id": "ch_1", "amount": 500, "paid": True}], "url": None},
        {"name": "Zoé Müller-Ødegaård", "city": "Saint-Étienne", "note": "¿qué? 日本"},
        {"escapes": 'a "quoted" \\ back\nslash\ttab\u0001', "empty": {}, "list": []},
    ],
)
def test_answers_are_the_compact_json_the_providers_send(body: Any) -> None:
    assert dumps(body) == _reference(body)


def test_what_orjson_refuses_still_serialises() -> None:
    huge = {"amount": 2**70, 1: "non-string key"}
    assert json.loads(dumps(huge)) == {"amount": 2**70, "1": "non-string key"}


def test_a_fresh_render_gives_the_same_object_as_a_copying_one() -> None:
    sparse = {
        "id": "in_1",
        "object": "invoice",
        "created": 1700000000,
        "lines": {"object": "list", "data": [{"id": "il_1", "object": "line_item"}]},
        "metadata": {"order_id": "ORD-1"},
    }
    copied = render(json.loads(json.dumps(sparse)))
    assert render(json.loads(json.dumps(sparse)), fresh=True) == copied
    assert "amount_due" in copied  # laid over Stripe's own invoice
    assert copied["metadata"] == {"order_id": "ORD-1"}
