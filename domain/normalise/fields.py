"""Strict readers for wire fields: each returns a clean value or raises :class:`Malformed`.

A normaliser reads every field through these, so a bad object stops with a precise
reason (``amount is not an integer: '12.5'``) instead of a half-built row; the
driver in :mod:`domain.normalise.core` turns the exception into a problem row and
goes on with the next object. Missing optional fields are ``None``; ``null`` on the
wire is the same as absent.

Examples: ``money({"amount": 4990}, "amount") == 4990``;
``money({"amount": "12.5"}, "amount")`` raises ``amount is not an integer: '12.5'``;
``currency({"currency": "eur"}) == "EUR"``; ``currency({"currency": "EURO"})`` raises
``currency 'EURO' is not ISO 4217``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.normalise.codes import ISO_4217, minor_exponent

# 10^11 minor units is a billion euros: anything larger is a corrupted amount.
MAX_MINOR = 10**11
# Stripe epoch seconds from 2000 to 2100; outside that a timestamp is garbage.
MIN_EPOCH, MAX_EPOCH = 946_684_800, 4_102_444_800


class Malformed(Exception):
    """An object that cannot be normalised; ``reason`` says why, for the quarantine."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Obj = Mapping[str, Any]


_PATHS: dict[str, tuple[str, ...]] = {}


def dig(obj: Obj | None, path: str) -> Any:
    """``dig(o, "parent.subscription_details.subscription")``: ``None`` if a level is absent."""
    keys = _PATHS.get(path)
    if keys is None:
        keys = _PATHS[path] = tuple(path.split("."))
    node: Any = obj
    for depth, key in enumerate(keys):
        if node is None:
            return None
        if type(node) is not dict and not isinstance(node, Mapping):
            raise Malformed(f"{'.'.join(keys[:depth])} is not an object: {_show(node)}")
        node = node.get(key)
    return node


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_text(value: Any, field: str) -> str | None:
    """A string that encodes as UTF-8 (a lone surrogate from ``"\\ud800"`` does not) and
    holds no NUL character (PostgreSQL refuses one in a text column: the whole load would
    fail for one bad name)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Malformed(f"{field} is not text: {_show(value)}")
    if "\x00" in value:
        raise Malformed(f"{field} contains a NUL character: {_show(value)}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Malformed(f"{field} is not decodable text: {_show(value)}") from None
    return value


def text(obj: Obj | None, path: str) -> str | None:
    return check_text(dig(obj, path), path)


def ident(obj: Obj, path: str = "id") -> str:
    """A required provider id: a non-empty string."""
    value = dig(obj, path)
    if value is None or value == "":
        raise Malformed(f"missing {path}")
    return str(check_text(value, path))


def ref(obj: Obj | None, path: str) -> str | None:
    """A reference that may be expanded: ``"ch_1"`` or ``{"id": "ch_1", ...}`` -> ``"ch_1"``."""
    value = dig(obj, path)
    if type(value) is dict or isinstance(value, Mapping):
        value = value.get("id")
    if value == "":
        return None
    return check_text(value, path)


def integer(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if type(value) is not int:  # bool and float are not integers here
        raise Malformed(f"{field} is not an integer: {_show(value)}")
    return value


def money(
    obj: Obj | None, path: str, *, signed: bool = False, required: bool = False
) -> int | None:
    """An amount in minor units: an int, not absurd, non-negative unless ``signed``."""
    value = integer(dig(obj, path), path)
    if value is None:
        if required:
            raise Malformed(f"missing {path}")
        return None
    if abs(value) > MAX_MINOR:
        raise Malformed(f"{path} is absurd: {value}")
    if value < 0 and not signed:
        raise Malformed(f"{path} is negative: {value}")
    return value


def amount(obj: Obj | None, path: str, *, signed: bool = False) -> int:
    """A required amount in minor units (see :func:`money`)."""
    value = money(obj, path, signed=signed, required=True)
    if value is None:  # pragma: no cover - money() raised already
        raise Malformed(f"missing {path}")
    return value


def count(obj: Obj | None, path: str, default: int | None = None) -> int | None:
    value = integer(dig(obj, path), path)
    if value is None:
        return default
    if value < 0:
        raise Malformed(f"{path} is negative: {value}")
    return value


def flag(obj: Obj | None, path: str, default: bool | None = None) -> bool | None:
    value = dig(obj, path)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise Malformed(f"{path} is not a boolean: {_show(value)}")
    return value


def currency(obj: Obj | None, path: str = "currency", *, required: bool = True) -> str | None:
    """An ISO 4217 code, uppercased: ``"eur"`` -> ``"EUR"``."""
    value = dig(obj, path)
    if value is None:
        if required:
            raise Malformed(f"missing {path}")
        return None
    if not isinstance(value, str) or value.upper() not in ISO_4217:
        raise Malformed(f"{path} {_show(value)} is not ISO 4217")
    return value.upper()


def status(obj: Obj, allowed: Iterable[str], path: str = "status") -> str:
    value = dig(obj, path)
    if value is None:
        raise Malformed(f"missing {path}")
    if not isinstance(value, str) or value not in allowed:
        raise Malformed(f"unknown {path} {_show(value)}")
    return value


def epoch(obj: Obj | None, path: str, *, required: bool = False) -> int | None:
    """A Stripe time: integer epoch seconds between 2000 and 2100."""
    value = integer(dig(obj, path), path)
    if value is None:
        if required:
            raise Malformed(f"missing {path}")
        return None
    if not MIN_EPOCH <= value <= MAX_EPOCH:
        raise Malformed(f"{path} is not a plausible time: {value}")
    return value


def utc_day(obj: Obj | None, path: str) -> date | None:
    """A Stripe date sent as midnight UTC (``arrival_date``) -> that calendar day."""
    value = epoch(obj, path)
    return None if value is None else datetime.fromtimestamp(value, UTC).date()


def instant(obj: Obj | None, path: str, *, required: bool = False) -> datetime | None:
    """An ISO 8601 time with a zone (``2026-05-01T10:00:00.000Z``) -> aware UTC."""
    value = dig(obj, path)
    if value is None:
        if required:
            raise Malformed(f"missing {path}")
        return None
    if not isinstance(value, str):
        raise Malformed(f"{path} is not an ISO time: {_show(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Malformed(f"{path} is not an ISO time: {_show(value)}") from None
    if parsed.tzinfo is None:
        raise Malformed(f"{path} has no time zone: {_show(value)}")
    return parsed.astimezone(UTC)


def day(obj: Obj | None, path: str) -> date | None:
    """An ISO calendar date (``2026-05-01``); a full datetime keeps its own date."""
    value = dig(obj, path)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Malformed(f"{path} is not an ISO date: {_show(value)}")
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise Malformed(f"{path} is not an ISO date: {_show(value)}") from None


def decimal_minor(value: Any, field: str, currency_code: str) -> int:
    """A decimal string of major units -> exact minor units: ``"-1.25"`` EUR -> ``-125``.

    Goes through ``Decimal`` (never float); more decimals than the currency has is an
    error, not a rounding: ``"1.005"`` EUR is rejected.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Malformed(f"{field} is not a decimal string: {_show(value)}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise Malformed(f"{field} is not a decimal string: {_show(value)}") from None
    if not number.is_finite():
        raise Malformed(f"{field} is not a decimal string: {_show(value)}")
    minor = number.scaleb(minor_exponent(currency_code))
    if minor != minor.to_integral_value():
        raise Malformed(f"{field} has more decimals than {currency_code} allows: {_show(value)}")
    if abs(minor) > MAX_MINOR:
        raise Malformed(f"{field} is absurd: {value}")
    return int(minor)


def rate(value: Any, field: str) -> Decimal | None:
    """A percentage as sent (``19``, ``5.5``, ``"5.5"``) -> ``Decimal("5.5")``, exactly."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Malformed(f"{field} is not a number: {_show(value)}")
    try:
        number = Decimal(repr(value) if isinstance(value, float) else value)
    except InvalidOperation:
        raise Malformed(f"{field} is not a number: {_show(value)}") from None
    if not number.is_finite() or not 0 <= number <= 100:
        raise Malformed(f"{field} is not a percentage: {_show(value)}")
    return number


def metadata(obj: Obj, key: str) -> str | None:
    """A metadata value (Stripe and GoCardless metadata are string maps)."""
    meta = obj.get("metadata")
    if meta is None:
        return None
    if not isinstance(meta, Mapping):
        raise Malformed(f"metadata is not an object: {_show(meta)}")
    return check_text(meta.get(key), f"metadata.{key}")


def items(obj: Obj | None, path: str) -> list[Any]:
    """A list field (or the ``data`` of a Stripe list object); absent -> ``[]``."""
    value = dig(obj, path)
    if isinstance(value, Mapping) and value.get("object") == "list":
        value = value.get("data")
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"{path} is not a list: {_show(value)}")
    return value
