"""The half of loading a batch that needs no database lock: normalise, canonicalise, hash.

Loading a batch is two halves. This one turns provider objects into the rows each table
receives, canonical and hashed (``warehouse.rows.prepare``: one row per key, the newest
version), the raw copies as sorted JSON, and the rejected objects as quarantine rows;
the other (``tasks.sync_load.write_load``) merges them in the caller's transaction.
Why split: during a full listing this half is most of a batch's CPU and it is pure (the
lookups it needs are handed in), so several processes can prepare batches side by side
while the one database writer only writes.

Example: 1000 Stripe charges at version V -> one :class:`PreparedLoad` holding
``payments`` (1000 canonical rows, each with its ``row_hash``; ``carry`` names the
columns the writer fills from the stored row where a row has none), ``raw_objects``
(1000 rows) and the problems (bad charges, as ``quarantine`` rows). Given the backend
(``backend="sqlite"``), the cells are already in the form its driver stores
(``warehouse.upsert.to_storage``), so the writer only stages and merges them
(``warehouse.upsert.upsert_prepared``).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import pandas as pd

from domain.normalise.core import Normalised, object_id
from domain.sync_streams import Lines, Lookups, Stream
from warehouse import tables
from warehouse.rows import Columns, prepare_columns
from warehouse.upsert import to_storage


@dataclass(frozen=True)
class PreparedRows:
    """Rows of one table as ``warehouse.rows.prepare_columns`` makes them: canonical,
    hashed, one per key, column by column (fewer objects to pickle than row tuples),
    in a backend's storage form when the preparer knew it.

    ``synced_at`` is a placeholder here: the writer stamps it (the run's start for the
    facts, the moment of the write for ``raw_objects``, as before the split).
    """

    table: str
    batch: Columns
    received: int = 0  # objects normalised into this table (before one-per-key)
    received_amount: int = 0  # their amounts summed: the control total's provider side
    quarantined: int = 0
    carry: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.batch)


@dataclass(frozen=True)
class PreparedLoad:
    """What one call of ``load_objects`` or ``load_lines`` writes: its tables, its
    quarantine rows (one call of ``warehouse.upsert.quarantine``) and its raw copies."""

    provider: str
    outputs: tuple[PreparedRows, ...]
    problems: list[dict[str, str | None]]
    raw: PreparedRows


def prepare_objects(
    stream: Stream,
    objects: Sequence[Mapping[str, Any]],
    versions: Sequence[int],
    lookups: Lookups,
    *,
    seen_at: datetime,
    backend: str | None = None,
) -> PreparedLoad:
    """``objects`` of ``stream`` as the rows of each of its tables and of ``raw_objects``
    (in ``backend``'s storage form, when given)."""
    outputs: list[PreparedRows] = []
    problems: list[pd.DataFrame] = []
    for output in stream.outputs:
        done = output.normalise(objects, versions, lookups)
        outputs.append(
            prepared(
                output.table,
                done,
                output.amount,
                seen_at=seen_at,
                carry=output.carry,
                backend=backend,
            )
        )
        problems.append(done.problems)
    rows = raw_rows(stream.provider, stream.object_type, objects, versions)
    return PreparedLoad(
        stream.provider,
        tuple(outputs),
        quarantine_rows(pd.concat(problems, ignore_index=True)) if problems else [],
        prepared_raw(rows, seen_at=seen_at, backend=backend),
    )


def prepare_lines(
    provider: str,
    lines: Lines,
    groups: Mapping[str, Sequence[Mapping[str, Any]]],
    versions: Mapping[str, int],
    currencies: Mapping[str, str],
    *,
    seen_at: datetime,
    backend: str | None = None,
) -> PreparedLoad:
    """A batch of payouts' lines (``{payout id: [line, ...]}``) for ``payout_lines``."""
    done = lines.normalise(groups, versions, currencies)
    raw: list[dict[str, Any]] = []
    for payout, members in groups.items():
        for n, obj in enumerate(members):
            line_id = str(obj.get("id") or f"{payout}/{n}")
            raw.append(raw_row(provider, lines.object_type, line_id, obj, versions[payout]))
    return PreparedLoad(
        provider,
        (prepared(lines.table, done, lines.amount, seen_at=seen_at, backend=backend),),
        quarantine_rows(done.problems),
        prepared_raw(raw, seen_at=seen_at, backend=backend),
    )


def prepared(
    name: str,
    done: Normalised,
    amount: str | None,
    *,
    seen_at: datetime,
    carry: tuple[str, ...] = (),
    backend: str | None = None,
) -> PreparedRows:
    rows = done.rows
    received = len(rows.index)
    total = int(rows[amount].fillna(0).sum()) if amount and received else 0
    table = tables.metadata.tables[name]
    batch = prepare_columns(table, rows, synced_at=seen_at)
    return PreparedRows(
        name,
        batch if backend is None else to_storage(table, batch, backend),
        received=received,
        received_amount=total,
        quarantined=len(done.problems.index),
        carry=carry,
    )


def prepared_raw(
    rows: list[dict[str, Any]], *, seen_at: datetime, backend: str | None = None
) -> PreparedRows:
    batch = prepare_columns(tables.raw_objects, rows, synced_at=seen_at)
    if backend is not None:
        batch = to_storage(tables.raw_objects, batch, backend)
    return PreparedRows("raw_objects", batch)


def quarantine_rows(problems: pd.DataFrame) -> list[dict[str, str | None]]:
    """Problems as ``quarantine`` rows, the last one of each object kept."""
    if problems.empty:
        return []
    unique = problems.drop_duplicates(["provider", "object_type", "object_id"], keep="last")
    return [
        {str(k): (None if pd.isna(v) else str(v)) for k, v in row.items()}
        for row in unique.to_dict("records")
    ]


def raw_rows(
    provider: str, object_type: str, objects: Sequence[Mapping[str, Any]], versions: Sequence[int]
) -> list[dict[str, Any]]:
    # An object whose id is not clean text (a NUL, a lone surrogate, not a string) has no
    # raw copy: the quarantine keeps it under a stand-in id, with the reason.
    return [
        raw_row(provider, object_type, object_id(obj), obj, version)
        for obj, version in zip(objects, versions, strict=True)
        if obj.get("id") and not object_id(obj).startswith("no-id:")
    ]


def raw_row(
    provider: str, object_type: str, object_id: str, obj: Mapping[str, Any], version: int
) -> dict[str, Any]:
    return {
        "provider": provider,
        "object_type": object_type,
        "object_id": object_id,
        "payload": payload_text(obj),
        "source_version": version,
    }


def payload_text(obj: Mapping[str, Any]) -> str:
    """The object as sorted, compact JSON with non-ASCII escaped: ``json.dumps``'s text.

    Encoded by orjson (C, ~10x faster: the raw copy was 8 % of the writer's time on a
    full listing, and a quarter of a preparer's with ``json``), its non-ASCII characters
    then escaped as ``json`` escapes them (``\\u00e0``; a surrogate pair above U+FFFF),
    which only a string can hold in JSON text. Where the encoders differ otherwise it goes
    through ``json``: DEL (``json`` escapes it), floats under 1e-4 (``json`` writes
    ``1e-05``, orjson ``0.00001``), a value orjson refuses (a lone surrogate, an integer
    past 64 bits). So a stored payload, and its row hash, does not change with the
    encoder. (One difference is not looked for: a NaN or infinite float, which no JSON
    decoder of a provider's answer produces, would be written ``null``.)
    """
    try:
        text = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError: a value orjson has no form for
        text = b"\x7f"
    # Text that may mean orjson wrote what ``json`` writes otherwise (or only looks so,
    # as "one-off" does: then ``json`` encodes it, the same answer, slower).
    if b"e-" in text or b"0.0000" in text or b"\x7f" in text:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    if text.isascii():
        return text.decode()
    return text.decode().encode("ascii", _ESCAPE).decode()


_ESCAPE = "echeancier.json-ascii"


def _escape(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: each character past ASCII as ``json``'s ``\\uXXXX``."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    out = []
    for char in error.object[error.start : error.end]:
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out), error.end


codecs.register_error(_ESCAPE, _escape)
