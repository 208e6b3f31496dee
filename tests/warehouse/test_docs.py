"""docs/tables.md documents every table and every column the schema declares."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from warehouse.columns import BOOKKEEPING_COLUMNS
from warehouse.tables import metadata

DOC = Path(__file__).resolve().parents[2] / "docs" / "tables.md"


def _sections() -> dict[str, str]:
    text = DOC.read_text()
    parts = re.split(r"^### `(\w+)`$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _documented_columns(section: str) -> set[str]:
    return set(re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE))


@pytest.mark.parametrize("table", sorted(metadata.tables))
def test_every_column_of_the_table_is_documented(table: str) -> None:
    sections = _sections()
    assert table in sections, f"docs/tables.md has no '### `{table}`' section"
    declared = {c.name for c in metadata.tables[table].columns} - set(BOOKKEEPING_COLUMNS)

    documented = _documented_columns(sections[table])

    assert sorted(declared - documented) == [], "undocumented columns"
    assert sorted(documented - declared) == [], "documented columns that do not exist"


def test_the_bookkeeping_columns_are_documented_once() -> None:
    text = DOC.read_text()
    for column in BOOKKEEPING_COLUMNS:
        assert f"| `{column}` |" in text
