"""The preparation half of a load: raw copies keep the very text they had before."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tasks.sync_prepare import payload_text

OBJECTS: list[dict[str, Any]] = [
    {"id": "ch_1", "amount": 4990, "paid": True, "refunds": {"data": [], "has_more": False}},
    {"id": "cus_1", "name": "Élodie Müller", "address": {"city": "Besançon"}},  # escaped
    {"id": "txr_1", "percentage": 20.0, "effective": 0.5, "tiny": 1e-05, "tinier": 1.5e-07},
    {"id": "x_1", "note": 'tab\there, DEL \x7f, quote " and \\ slash /', "none": None},
    {"id": "x_2", "huge": 2**70, "negative": -(2**63), "z": {"b": 1, "a": [3, {"d": 4, "c": 5}]}},
    {"id": "x_3", "one-off": "e-mail", "rate": 0.00005},
]


@pytest.mark.parametrize("obj", OBJECTS, ids=[o["id"] for o in OBJECTS])
def test_a_raw_copy_is_the_text_json_wrote_whichever_encoder_wrote_it(obj: dict[str, Any]) -> None:
    assert payload_text(obj) == json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
