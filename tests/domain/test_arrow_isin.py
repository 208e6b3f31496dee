"""The fast ``isin`` of pyarrow-backed text gives pandas' own answers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import domain  # noqa: F401  (installs it)
from domain.arrow_isin import _ORIGINAL

TEXT = pd.Series(["in_1", "in_2", None, "in_3", "in_1"], dtype="str")


def test_it_is_installed_for_every_text_column() -> None:
    assert type(TEXT.array).isin is not _ORIGINAL


@pytest.mark.parametrize(
    "values",
    [
        ["in_1", "in_3"],
        {"in_2"},
        frozenset({"in_3", "x"}),
        ("in_1",),
        [None],
        ["in_2", np.nan],
        ["in_1", 1],  # mixed: pandas ignores what is not text
        [1, 2],
        [1, None],
        np.array(["in_2"], dtype=object),
        pd.Index(["in_3"]),
        pd.Series(["in_1", None], dtype="str"),
        pd.Series(["in_1"], dtype="string"),
        pd.Series([], dtype="str"),
    ],
)
def test_the_answer_is_pandas_own(values: Any) -> None:
    expected = _ORIGINAL(TEXT.array, values) if len(values) else np.zeros(len(TEXT), bool)
    assert TEXT.isin(values).tolist() == expected.tolist()


@given(
    st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "é"])), max_size=20),
    st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "d", "é"])), max_size=8),
)
def test_any_text_against_any_text(column: list[str | None], values: list[str | None]) -> None:
    text = pd.Series(column, dtype="str")
    expected = _ORIGINAL(text.array, values) if values else np.zeros(len(text), bool)
    assert text.isin(values).tolist() == expected.tolist()
    assert text.isin(pd.Series(values, dtype="str")).tolist() == expected.tolist()
