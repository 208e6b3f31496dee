"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no time zones and no decimals: a plain ``DateTime(timezone=True)`` comes
back naive there, and a plain ``Numeric`` warns and hands floats around. These two
decorators emit the same DDL as the plain types (so Alembic and analysts see
``TIMESTAMP WITH TIME ZONE`` and ``NUMERIC(p, s)``) but make every read return what
was written: an aware UTC datetime, and a ``Decimal`` at the column's scale.

Example: ``datetime(2026, 3, 1, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))`` is stored
as ``2026-03-01 08:30:00`` UTC and read back as ``datetime(2026, 3, 1, 8, 30,
tzinfo=UTC)`` on both databases; ``Decimal("5.5")`` in a ``Numeric(7, 4)`` rate is
read back as ``Decimal("5.5000")``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """An instant in UTC; refuses naive datetimes, whose time zone would be a guess."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return to_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite keeps the UTC wall time without its zone
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """A ``NUMERIC(precision, scale)`` that reads back as a ``Decimal`` on SQLite too."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            # Floats in and out, quantised below: no "Decimal not supported" warning.
            return dialect.type_descriptor(
                Numeric(self.impl.precision, self.scale, asdecimal=False)  # type: ignore[attr-defined]
            )
        return dialect.type_descriptor(self.impl)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = to_decimal(value)
        return float(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(repr(value) if isinstance(value, float) else value).quantize(self._quantum)


def to_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; a naive datetime is an error, not an assumption."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"naive datetime {value.isoformat()}: give a time zone (UTC)")
    return value.astimezone(UTC)


def to_decimal(value: Any) -> Decimal:
    """Return ``value`` as a ``Decimal``; a float goes through its shortest repr (0.2, not
    0.2000000000000000111), which is what whoever wrote it meant."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, int | str):
        return Decimal(value)
    return Decimal(str(value))
