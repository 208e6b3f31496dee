"""Turn a batch (DataFrame or dicts) into canonical rows ready to load: pure, no I/O.

What arrives from ``domain/`` is pandas-flavoured (``numpy.int64``, ``Timestamp``,
``NaN`` for a missing amount, ``NaT`` for a missing date); what the database and the
row hash need is one canonical Python value per cell. Canonical values make the hash
stable: ``4990`` and ``numpy.int64(4990)``, ``Decimal("5.5")`` and ``5.5`` in a
``NUMERIC(7, 4)``, 09:30 Paris and 08:30 UTC all hash the same, so an identical row
is recognised whichever way it was built.

Within a batch only the newest version of each key survives: two events for
``ch_1`` at versions 100 and 200 leave the one at 200 (on a tie, the later row).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal, Inexact, InvalidOperation, localcontext
from typing import Any

import pandas as pd
from sqlalchemy import Boolean, Column, Date, Integer, String, Table, Text

from warehouse.columns import BOOKKEEPING_COLUMNS
from warehouse.types import ExactDecimal, UTCDateTime, to_decimal, to_utc

Rows = pd.DataFrame | Sequence[Mapping[str, Any]]
Convert = Callable[[Any], Any]


@dataclass(frozen=True)
class Batch:
    """Canonical rows in the table's column order, one per key."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    superseded: int  # rows dropped because a newer version of their key was in the batch


@dataclass(frozen=True)
class Columns:
    """The same canonical cells kept column by column: ``values[i]`` is ``columns[i]``.

    What the upsert loads from: it picks the few columns it probes with and streams the
    rows (``zip(*values)``) to the database, so a batch of 10^5 rows is never held as
    10^5 tuples (building and garbage-collecting them was a tenth of a first load).
    """

    columns: tuple[str, ...]
    values: tuple[list[Any], ...]
    superseded: int
    # The backend whose driver already takes these cells as they are (``"sqlite"``: UTC
    # instants as text, decimals as floats, booleans as 0/1; ``warehouse.upsert.
    # to_storage``), or ``None``: canonical Python values, what ``prepare_columns`` makes.
    stored: str | None = None

    def __len__(self) -> int:
        return len(self.values[0]) if self.values else 0

    def column(self, name: str) -> list[Any]:
        return self.values[self.columns.index(name)]

    def take(self, positions: Sequence[int]) -> Columns:
        """The rows at ``positions`` (same columns, same form)."""
        return replace(self, values=tuple([cells[i] for i in positions] for cells in self.values))

    def with_column(self, name: str, cells: list[Any]) -> Columns:
        """The same rows with ``name``'s cells replaced."""
        at = self.columns.index(name)
        return replace(self, values=(*self.values[:at], cells, *self.values[at + 1 :]))


def prepare(
    table: Table, rows: Rows, *, synced_at: datetime | None = None, versioned: bool = True
) -> Batch:
    """Canonicalise ``rows`` for ``table``; with ``versioned``, hash and keep newest per key.

    A column missing from the batch takes its column default, else NULL: rows carry
    the full latest state of an object, never a patch. An unknown column is an error
    (a typo would otherwise silently drop data).
    """
    batch = prepare_columns(table, rows, synced_at=synced_at, versioned=versioned)
    tuples = list(zip(*batch.values, strict=True)) if len(batch) else []
    return Batch(batch.columns, tuples, batch.superseded)


def prepare_columns(
    table: Table, rows: Rows, *, synced_at: datetime | None = None, versioned: bool = True
) -> Columns:
    """:func:`prepare`, column by column (same cells, same hashes, same rows kept)."""
    names = [c.name for c in table.columns]
    given = _columns(rows)
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ValueError(f"{table.name}: unknown column(s) {', '.join(unknown)}")
    length = _length(rows)
    values: dict[str, list[Any]] = {}
    for column in table.columns:
        raw = given.get(column.name)
        if raw is None:
            values[column.name] = [_scalar_default(column)] * length
        else:
            values[column.name] = _convert_column(table, column, raw)
    if versioned:
        if synced_at is not None and all(v is None for v in values["synced_at"]):
            values["synced_at"] = [to_utc(synced_at)] * length
        if all(v is None for v in values["row_hash"]):
            values["row_hash"] = _hashes(table, values)
    _check_not_null(table, values)
    kept = _newest_positions(table, values) if versioned and length else None
    if kept is None:
        return Columns(tuple(names), tuple(values[n] for n in names), 0)
    return Columns(
        tuple(names), tuple([values[n][i] for i in kept] for n in names), length - len(kept)
    )


def row_hash(table: Table, row: Mapping[str, Any]) -> str:
    """The ``row_hash`` the upsert would compute for one row (for tests and audits)."""
    batch = prepare(
        table, [dict(row, source_version=0)], synced_at=datetime.min.replace(tzinfo=UTC)
    )
    return str(batch.rows[0][list(batch.columns).index("row_hash")])


def _newest_positions(table: Table, values: Mapping[str, list[Any]]) -> list[int] | None:
    """Positions of the newest row of each key (ties: the last), in the order the keys
    first appear; ``None`` when every key appears once (the usual batch: all kept)."""
    key_columns = [values[c.name] for c in table.primary_key.columns]
    keys: list[Any] = key_columns[0]
    if len(key_columns) > 1:
        keys = list(zip(*key_columns, strict=True))
    if len(set(keys)) == len(keys):
        return None
    versions = values["source_version"]
    best: dict[Any, int] = {}
    for position, key in enumerate(keys):
        current = best.get(key)
        if current is None or versions[position] >= versions[current]:
            best[key] = position
    return list(best.values())


# -- columns -----------------------------------------------------------------------


def _columns(rows: Rows) -> dict[str, list[Any]]:
    if isinstance(rows, pd.DataFrame):
        if rows.columns.duplicated().any():
            raise ValueError("duplicate column names in the batch")
        return {str(name): _column_values(rows[name]) for name in rows.columns}
    names: set[str] = set().union(*rows) if rows else set()
    return {name: [row.get(name) for row in rows] for name in names}


def _column_values(series: pd.Series) -> list[Any]:
    """A column's cells as Python objects; aware timestamps converted to UTC in one go."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC").dt.to_pydatetime().tolist()  # type: ignore[no-any-return]
    return series.tolist()


def _length(rows: Rows) -> int:
    return len(rows.index) if isinstance(rows, pd.DataFrame) else len(rows)


def _convert_column(table: Table, column: Column[Any], raw: list[Any]) -> list[Any]:
    convert = _converter(column)
    default = _scalar_default(column)

    def slow(position: int, value: Any) -> Any:
        if _missing(value):
            return default
        try:
            return convert(value)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise ValueError(f"{table.name}.{column.name}, row {position}: {exc}") from exc

    # Values already canonical pass untouched: most cells of most batches.
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return [
            v if type(v) is datetime and v.tzinfo is UTC else default if v is None else slow(i, v)
            for i, v in enumerate(raw)
        ]
    exact = next((t for k, t in _CANONICAL_TYPE.items() if isinstance(kind, k)), type(None))
    return [
        v if type(v) is exact else default if v is None else slow(i, v) for i, v in enumerate(raw)
    ]


_CANONICAL_TYPE: dict[type, type] = {String: str, Integer: int, Boolean: bool, Date: date}


def _scalar_default(column: Column[Any]) -> Any:
    default = column.default
    return getattr(default, "arg", None) if getattr(default, "is_scalar", False) else None


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _converter(column: Column[Any]) -> Convert:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return _to_instant
    if isinstance(kind, ExactDecimal):
        return _decimal_at_scale(kind.scale, kind.impl.precision)  # type: ignore[attr-defined]
    if isinstance(kind, Boolean):
        return _to_bool
    if isinstance(kind, Integer):  # BigInteger included
        return _to_int
    if isinstance(kind, Date):
        return _to_date
    if isinstance(kind, String | Text):
        return _to_text
    raise TypeError(f"no converter for {column.table.name}.{column.name} ({kind!r})")


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError(f"boolean {value!r} where an integer is expected")
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float | Decimal) and value == int(value):
        if isinstance(value, float) and abs(value) > 2**53:
            raise ValueError(f"{value!r} is beyond exact float range: pass an int")
        return int(value)
    if hasattr(value, "__index__"):  # numpy integers
        return int(value.__index__())
    raise TypeError(f"{value!r} is not an integer (money is in minor units)")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise TypeError(f"{value!r} is not a boolean")


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"{value!r} is not text")


def _to_instant(value: Any) -> datetime:
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime(warn=False)
    elif isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"{value!r} is not a datetime")
    return to_utc(value)


def _to_date(value: Any) -> date:
    if isinstance(value, str):
        return date.fromisoformat(value)
    if isinstance(value, datetime):  # incl. Timestamp: only a bare calendar day is a date
        if value.tzinfo is not None or value.time() != datetime.min.time():
            raise TypeError(f"{value!r} is an instant, not a business date")
        return value.date()
    if isinstance(value, date):
        return value
    raise TypeError(f"{value!r} is not a date")


def _decimal_at_scale(scale: int, precision: int) -> Convert:
    quantum = Decimal(1).scaleb(-scale)
    limit = Decimal(10) ** (precision - scale)

    def convert(value: Any) -> Decimal:
        number = to_decimal(value)
        with localcontext() as context:
            context.traps[Inexact] = True
            try:
                number = number.quantize(quantum)
            except (Inexact, InvalidOperation) as exc:
                raise ValueError(f"{value!r} has more than {scale} decimal places") from exc
        if abs(number) >= limit:
            raise ValueError(f"{value!r} does not fit NUMERIC({precision}, {scale})")
        return number

    return convert


# -- hashing and checks ------------------------------------------------------------


def _hashes(table: Table, values: dict[str, list[Any]]) -> list[str]:
    """Hash the ``repr`` of each row's business cells.

    Cells are canonical by now and their column types fixed, so ``repr`` is a faithful,
    unambiguous encoding (strings are quoted and escaped, ``None`` is not ``"None"``),
    computed in C. The text hashed is exactly ``repr(tuple_of_cells)``, hashes stored by
    earlier versions included; only the way it is built is faster: a column that holds
    one value in the whole batch (a NULL column, the provider, often the currency) has
    its ``repr`` written once into a ``%``-format, and the rows format only the cells
    that vary. Example: ``("ch_1", "stripe", None)`` and ``("ch_2", "stripe", None)``
    format ``'(%r, \'stripe\', None)'`` with ``("ch_1",)`` then ``("ch_2",)``.
    """
    business = [values[c.name] for c in table.columns if c.name not in BOOKKEEPING_COLUMNS]
    digest = hashlib.blake2b
    length = len(business[0]) if business else 0
    parts: list[str] = []
    varying: list[list[Any]] = []
    for cells in business:
        if len(business) > 1 and _one_value(cells):
            parts.append(repr(cells[0]).replace("%", "%%"))
        else:
            parts.append("%r")
            varying.append(cells)
    if len(varying) == len(business):  # nothing shared: the plain way is as fast
        texts: Iterable[str] = map(repr, zip(*business, strict=True))
    elif varying:
        texts = map(("(" + ", ".join(parts) + ")").__mod__, zip(*varying, strict=True))
    else:  # every row of the batch is the same row
        texts = [("(" + ", ".join(parts) + ")") % ()] * length
    return [digest(text.encode(), digest_size=16).hexdigest() for text in texts]


_SAME_VALUE_SAME_REPR = (str, int, bool, date, type(None))  # not Decimal (-0), datetime (fold)


def _one_value(cells: list[Any]) -> bool:
    """Whether every cell is the first one, of a type whose equal values print alike."""
    first = cells[0] if cells else None
    return (
        bool(cells)
        and type(first) in _SAME_VALUE_SAME_REPR
        and cells[-1] == first
        and cells.count(first) == len(cells)
    )


def _check_not_null(table: Table, values: dict[str, list[Any]]) -> None:
    for column in table.columns:
        if not column.nullable and None in values[column.name]:
            position = values[column.name].index(None)
            raise ValueError(
                f"{table.name}.{column.name}, row {position}: NULL in a NOT NULL column"
            )
