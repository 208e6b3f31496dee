"""``replace_rows``: a scope of a table made exactly a frame's rows, on both databases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, and_, select

from warehouse.replace import replace_rows
from warehouse.tax_tables import vat_lines

Q3 = and_(vat_lines.c.regime == "OSS", vat_lines.c.period == "2026-Q3")


def line(n: int, **changes: Any) -> dict[str, Any]:
    row = {
        "vat_line_id": f"{n:032x}",
        "regime": "OSS",
        "period": "2026-Q3",
        "section": "supplies",
        "treatment": "oss",
        "corrected_period": None,
        "line_key": f"invoice:in_{n}:txi_{n}",
        "source": "invoice",
        "source_id": f"in_{n}",
        "invoice_id": f"in_{n}",
        "payment_id": None,
        "provider": "stripe",
        "customer_id": f"cus_{n}",
        "customer_country": "DE",
        "customer_vat_id": None,
        "is_business": False,
        "tax_point_on": date(2026, 8, n % 28 + 1),
        "supply_period": "2026-Q3",
        "country": "DE",
        "rate": Decimal("19.0000"),
        "rate_source": "invoice",
        "rate_category": None,
        "taxable_base": 10_000 + n,
        "vat": 1_900 + n,
        "currency": "EUR",
        "fx_rate": None,
        "fx_on": None,
        "taxable_base_eur": 10_000 + n,
        "vat_eur": 1_900 + n,
        "return_currency": "EUR",
    }
    return {**row, **changes}


def stored(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(vat_lines)).mappings()
        return {row["vat_line_id"]: dict(row) for row in rows}


def replace(engine: Engine, rows: list[dict[str, Any]], scope: Any = Q3) -> int:
    with engine.begin() as conn:
        frame = pd.DataFrame(rows) if rows else pd.DataFrame(columns=list(line(0)))
        return replace_rows(conn, vat_lines, scope, frame)


def test_a_second_run_with_the_same_rows_changes_nothing(engine: Engine) -> None:
    rows = [line(n) for n in range(50)]
    assert replace(engine, rows) == 50
    first = stored(engine)
    assert replace(engine, rows) == 0
    assert stored(engine) == first
    assert first[line(7)["vat_line_id"]] == {**line(7), "customer_key": None}


def test_gone_changed_and_new_rows_are_counted_and_written(engine: Engine) -> None:
    replace(engine, [line(n) for n in range(5)])
    wanted = [
        line(0),
        line(1, vat=0, vat_eur=0),  # changed
        line(2, customer_vat_id="DE136695976", is_business=True),  # NULL -> value
        line(3, fx_rate=Decimal("1.084500"), fx_on=date(2026, 9, 30), currency="USD"),
        line(9),  # new; line 4 is gone
    ]
    assert replace(engine, wanted) == 5
    assert stored(engine) == {r["vat_line_id"]: {**r, "customer_key": None} for r in wanted}
    back = [line(0), line(1), line(2), line(3, fx_rate=Decimal("1.084500")), line(9)]
    assert replace(engine, back) == 3  # 1 and 2 back; 3's fx_on to NULL, currency back


def test_rows_outside_the_scope_are_left_alone(engine: Engine) -> None:
    q2 = line(100, period="2026-Q2", supply_period="2026-Q2")
    replace(engine, [q2], and_(vat_lines.c.regime == "OSS", vat_lines.c.period == "2026-Q2"))
    assert replace(engine, [line(1)]) == 1
    assert replace(engine, []) == 1  # Q3 emptied
    assert list(stored(engine)) == [q2["vat_line_id"]]


def test_a_column_the_frame_lacks_keeps_its_stored_value(engine: Engine) -> None:
    keyed = [{**line(n), "customer_key": f"key{n}"} for n in range(3)]
    replace(engine, keyed)
    assert replace(engine, [line(n) for n in range(3)]) == 0
    assert {r["customer_key"] for r in stored(engine).values()} == {"key0", "key1", "key2"}


def test_awkward_text_and_numbers_survive_the_copy(engine: Engine) -> None:
    rows = [
        line(1, line_key='invoice:in_1:a,"b"\nc', customer_vat_id=""),
        line(2, rate=Decimal("5.5000"), taxable_base=-(2**53 + 1), vat=-1),
        line(3, rate=Decimal("0.0000"), is_business=True, rate_category="ebook"),
    ]
    replace(engine, rows)
    assert stored(engine) == {r["vat_line_id"]: {**r, "customer_key": None} for r in rows}
    assert replace(engine, rows) == 0


def test_a_key_given_twice_keeps_its_last_row(engine: Engine) -> None:
    assert replace(engine, [line(1), line(1, vat=5)]) == 1
    assert stored(engine)[line(1)["vat_line_id"]]["vat"] == 5


def test_a_frame_that_does_not_fit_the_table_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="nope"):
        replace(engine, [{**line(1), "nope": 1}])
    without_key = pd.DataFrame([line(1)]).drop(columns=["vat_line_id"])
    with engine.begin() as conn, pytest.raises(ValueError, match="vat_line_id"):
        replace_rows(conn, vat_lines, Q3, without_key)
