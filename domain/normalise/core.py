"""The normalisation driver: objects in, ``Normalised(rows, problems)`` out, never a raise.

Each normaliser is a plain function from one wire object to its row tuple(s), reading
fields through :mod:`domain.normalise.fields`. :func:`run` calls it on every object of
the batch in one pass, appends the object's ``source_version``, collects the tuples,
and builds the frame column by column (one typed array per column, no per-row frame
operations). An object that raises goes to ``problems`` with its reason and its JSON;
the others are unaffected.

Example: a batch of three charges where the second has ``"amount": "12.5"`` gives
two payment rows and one problem ``("stripe", "charge", "ch_2", "amount is not an
integer: '12.5'", "{...}")``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from domain.normalise.fields import Malformed
from domain.normalise.schema import Spec

PROBLEM_COLUMNS = ("provider", "object_type", "object_id", "reason", "payload")
DEFAULT_TZ = "Europe/Paris"

Versions = int | Sequence[int]
Row = tuple[Any, ...]
RowFn = Callable[..., Row | list[Row]]


@dataclass(frozen=True)
class Normalised:
    """Rows in the warehouse table's shape, and the objects that could not become rows."""

    rows: pd.DataFrame
    problems: pd.DataFrame


def versions_for(source_version: Versions, count: int) -> Sequence[int]:
    """One version per object: a single int for the batch, or one per object."""
    if isinstance(source_version, int) and not isinstance(source_version, bool):
        return [source_version] * count
    versions = list(source_version)
    if len(versions) != count:
        raise ValueError(f"{len(versions)} source versions for {count} objects")
    return versions


def payload(obj: Any) -> str:
    """The object as JSON text for the quarantine (non-JSON values shown by ``repr``)."""
    try:
        return json.dumps(obj, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        return json.dumps(repr(obj))


def object_id(obj: Any, key: str = "id") -> str:
    """The object's id, or a stable stand-in (quarantine rows need a key)."""
    value = obj.get(key) if isinstance(obj, Mapping) else None
    if isinstance(value, str) and value and "\x00" not in value:  # (PostgreSQL refuses NUL)
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            pass
    digest = hashlib.blake2b(payload(obj).encode("utf-8", "backslashreplace"), digest_size=8)
    return f"no-id:{digest.hexdigest()}"


def run(
    objects: Sequence[Any],
    source_version: Versions,
    spec: Spec,
    row: RowFn,
    *,
    provider: str,
    object_type: str,
    tz: str = DEFAULT_TZ,
    id_key: str = "id",
    context: Sequence[Any] | None = None,
    problem_ids: Sequence[str] | None = None,
) -> Normalised:
    """Apply ``row`` to every object; good rows become ``spec``'s frame, bad ones problems.

    With ``context`` (one value per object, e.g. the payout a line belongs to), ``row``
    is called as ``row(obj, context_value)``. ``problem_ids`` name objects that have no
    id of their own (GoCardless payout items) in the problems.
    """
    versions = versions_for(source_version, len(objects))
    contexts = context if context is not None else [None] * len(objects)
    # Columns added to a table after its first migration sit after ``source_version``.
    at = spec.names.index("source_version")
    rows: list[Row] = []
    problems: list[Row] = []
    for n, (obj, version, extra) in enumerate(zip(objects, versions, contexts, strict=True)):
        try:
            if not isinstance(obj, Mapping):
                raise Malformed(f"not an object: {type(obj).__name__}")
            made = row(obj) if context is None else row(obj, extra)  # type: ignore[call-arg]
        except Malformed as exc:
            name = problem_ids[n] if problem_ids is not None else object_id(obj, id_key)
            problems.append((provider, object_type, name, exc.reason, payload(obj)))
            continue
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
            name = problem_ids[n] if problem_ids is not None else object_id(obj, id_key)
            reason = f"unexpected shape: {type(exc).__name__}: {exc}"
            problems.append((provider, object_type, name, reason, payload(obj)))
            continue
        if isinstance(made, list):
            rows.extend((*r[:at], version, *r[at:]) for r in made)
        else:
            rows.append((*made[:at], version, *made[at:]))
    return Normalised(frame(spec, rows, tz=tz), problem_frame(problems))


def problem_frame(problems: Sequence[Row]) -> pd.DataFrame:
    columns = list(zip(*problems, strict=True)) if problems else [()] * len(PROBLEM_COLUMNS)
    return pd.DataFrame(
        {
            name: pd.array(list(values), dtype="string")
            for name, values in zip(PROBLEM_COLUMNS, columns, strict=True)
        }
    )


def flatten_groups(
    groups: Mapping[str, Sequence[Any]], source_version: int | Mapping[str, int]
) -> tuple[list[Any], list[int], list[str]]:
    """``{payout: [item, …]}`` -> parallel lists of items, versions and group keys."""
    objects: list[Any] = []
    versions: list[int] = []
    keys: list[str] = []
    for key, members in groups.items():
        version = source_version[key] if isinstance(source_version, Mapping) else source_version
        members = list(members)
        objects.extend(members)
        versions.extend([version] * len(members))
        keys.extend([key] * len(members))
    return objects, versions, keys


def concat(parts: Sequence[Normalised]) -> Normalised:
    """Several batches of the same table as one."""
    return Normalised(
        pd.concat([p.rows for p in parts], ignore_index=True),
        pd.concat([p.problems for p in parts], ignore_index=True),
    )


def frame(spec: Spec, rows: Sequence[Row], *, tz: str = DEFAULT_TZ) -> pd.DataFrame:
    """Build ``spec``'s frame from row tuples, one typed array per column."""
    width = len(spec.columns)
    columns = list(zip(*rows, strict=True)) if rows else [()] * width
    if len(columns) != width:
        raise ValueError(f"{spec.table}: rows have {len(columns)} cells, spec has {width}")
    data = {
        name: _array(list(values), kind, tz)
        for (name, kind), values in zip(spec.columns, columns, strict=True)
    }
    return pd.DataFrame(data, index=pd.RangeIndex(len(rows)))


def _array(values: list[Any], kind: str, tz: str) -> Any:
    if kind == "str":
        return pd.array(values, dtype="string")
    if kind in ("money", "int"):
        return pd.array(values, dtype="Int64")
    if kind == "bool":
        return np.array(values, dtype=bool)
    if kind == "bool?":
        return pd.array(values, dtype="boolean")
    if kind == "version":
        return np.array(values, dtype=np.int64)
    if kind == "time":
        return _times(values)
    if kind == "local_day":
        return _local_days(values, tz)
    if kind in ("date", "decimal"):
        return np.array(values, dtype=object) if values else np.array([], dtype=object)
    raise ValueError(f"unknown column kind {kind!r}")


def _times(values: list[Any]) -> pd.DatetimeIndex:
    """Epoch seconds (Stripe) in one vectorised conversion; aware datetimes as they are."""
    if all(v is None or type(v) is int for v in values):
        seconds = pd.array(values, dtype="Int64")
        return pd.DatetimeIndex(pd.to_datetime(seconds, unit="s", utc=True)).as_unit("us")
    instants = [pd.Timestamp(v, unit="s", tz="UTC") if type(v) is int else v for v in values]
    return pd.DatetimeIndex(pd.to_datetime(instants, utc=True)).as_unit("us")


def _local_days(values: list[Any], tz: str) -> np.ndarray:
    """Epoch seconds -> the calendar day they fall on in ``tz`` (``None`` stays ``None``)."""
    instants = _times(values).tz_convert(tz)
    days = np.empty(len(values), dtype=object)
    present = ~instants.isna()
    days[:] = None
    if present.any():
        local = instants[present]
        days[present] = [
            date(y, m, d) for y, m, d in zip(local.year, local.month, local.day, strict=True)
        ]
    return days
