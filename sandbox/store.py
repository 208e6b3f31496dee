"""Compact, SQLite-backed state for the provider emulators.

The large shop holds millions of provider objects. Full Stripe objects weigh
kilobytes each, so the sandbox keeps each object *sparse* (only the fields that
carry information, as the provider's own field names) in one SQLite table per
resource, and renders the full wire object on the way out
(:mod:`sandbox.render`). A page of 100 is one indexed range scan.

Ordering follows the providers: every list is ordered by ``(created, seq)``,
``seq`` being the insertion order, which breaks ties between objects created in
the same second exactly as a provider's internal ordering would. Cursors are
object ids, resolved to their ``(created, seq)`` position.

Example::

    store = Store.open(tmp_path / "state.db")
    store.add("stripe", "charges", {"id": "ch_1", "object": "charge", "created": 1700000000,
                                    "customer": "cus_1"})
    page, has_more = store.list("stripe", "charges", where={"customer": "cus_1"}, limit=10)
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

MAX_KEYS = 5
_BULK_FLUSH = 20_000


def _dumps(obj: Mapping[str, Any]) -> str:
    """Compact JSON, as ``json.dumps(separators=(",", ":"), ensure_ascii=False)`` gives it;
    orjson (a dependency) writes it ~8x faster and reads it back (:func:`_loads`) ~3x."""
    return orjson.dumps(obj).decode()


_loads = orjson.loads


@dataclass(frozen=True)
class Index:
    """How one resource is stored: where its id, creation and update times are,
    and which fields can be filtered on (query name -> dotted path in the object).

    A key whose path is ``None`` is not in the wire object itself (e.g. the payout a
    Stripe balance transaction was paid out in); it is given as ``extra`` on insert.
    A callable key derives the value from the object. ``id=None`` is for objects
    without an id of their own (GoCardless payout items): ``extra["_id"]`` gives it,
    and ``extra["_created"]`` the time of an object that carries none.
    """

    created: str
    keys: Mapping[str, str | Callable[[Mapping[str, Any]], Any] | None] = field(
        default_factory=dict
    )
    updated: str | None = None
    id: str | None = "id"

    def __post_init__(self) -> None:
        if len(self.keys) > MAX_KEYS:
            raise ValueError(f"at most {MAX_KEYS} filter keys per resource")


# Each provider module registers its resources here: (provider, resource) -> Index.
REGISTRY: dict[tuple[str, str], Index] = {}


def register(provider: str, resource: str, index: Index) -> None:
    REGISTRY[(provider, resource)] = index


def make_row(
    provider: str, resource: str, obj: Mapping[str, Any], extra: Mapping[str, Any] | None
) -> tuple[Any, ...]:
    """The stored row of one object: ``(id, created, updated, k0..k4, body)``.

    A plain function so that generator worker processes can build rows in parallel
    and hand them to the one writer (:meth:`BulkWriter.add_rows`).
    """
    index = REGISTRY[(provider, resource)]
    keys = []
    for name, path in index.keys.items():
        value = extra.get(name) if extra and name in extra else None
        if value is None and callable(path):
            value = path(obj)
        elif value is None and path is not None:
            value = _pluck(obj, path)
        keys.append(_key_text(value))
    keys += [None] * (MAX_KEYS - len(keys))
    created = _epoch(_pluck(obj, index.created))
    if created is None and extra:
        created = _epoch(extra.get("_created"))
    if created is None:
        raise ValueError(f"{provider} {resource} object has no {index.created}")
    updated = _epoch(_pluck(obj, index.updated)) if index.updated else None
    body = _dumps(obj)
    obj_id = _pluck(obj, index.id) if index.id else (extra or {}).get("_id")
    if not obj_id:
        raise ValueError(f"{provider} {resource} object has no id")
    return (obj_id, created, updated, *keys, body)


class UnknownCursor(KeyError):
    """A pagination cursor names an object that does not exist."""


def _pluck(obj: Mapping[str, Any], path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        if type(value) is not dict and not isinstance(value, Mapping):  # dict: fast path
            return None
        value = value.get(part)
    return value


def _epoch(value: Any) -> int | None:
    """Stripe times are epoch seconds; GoCardless and AfterShip ISO 8601 strings."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("a boolean is not a time")
    if isinstance(value, int | float):
        return int(value)
    text = str(value).replace("Z", "+00:00")
    if len(text) == 10:  # a bare date
        text += "T00:00:00+00:00"
    return int(datetime.fromisoformat(text).timestamp())


def _key_text(value: Any) -> str | None:
    if value is None or type(value) is str:  # the common cases first: this runs per row
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):  # an expanded object: index its id
        return value.get("id")
    return str(value)


def _table(provider: str, resource: str) -> str:
    name = f"{provider}__{resource}"
    if not name.replace("_", "").isalnum():
        raise ValueError(f"bad resource name {name!r}")
    return name


class Store:
    """Thread-safe store: one SQLite connection per thread, one writer at a time."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._known: set[str] = set()
        with self._write_lock:
            conn = self._conn()
            conn.execute("PRAGMA journal_mode=WAL")

    @classmethod
    def open(cls, path: Path | str) -> Store:
        return cls(Path(path))

    # -- connections ---------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute("PRAGMA cache_size=-65536")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- schema --------------------------------------------------------------------

    def _ensure_table(self, provider: str, resource: str, *, indexes: bool = True) -> str:
        table = _table(provider, resource)
        if table in self._known:
            return table
        conn = self._conn()
        cols = ", ".join(f"k{i} TEXT" for i in range(MAX_KEYS))
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (seq INTEGER PRIMARY KEY, id TEXT NOT NULL,"
            f" created INTEGER NOT NULL, updated INTEGER, {cols}, body TEXT NOT NULL)"
        )
        if indexes:
            self._create_indexes(provider, resource)
            self._known.add(table)
        return table

    def _create_indexes(self, provider: str, resource: str) -> None:
        table = _table(provider, resource)
        conn = self._conn()
        conn.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {table}__id ON {table}(id)")
        conn.execute(f"CREATE INDEX IF NOT EXISTS {table}__created ON {table}(created, seq)")
        index = REGISTRY.get((provider, resource))
        if index is not None and index.updated:
            conn.execute(f"CREATE INDEX IF NOT EXISTS {table}__updated ON {table}(updated, seq)")
        for i, _ in enumerate(index.keys if index else ()):
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS {table}__k{i} ON {table}(k{i}, created, seq)"
                f" WHERE k{i} IS NOT NULL"
            )

    def tables(self) -> list[tuple[str, str]]:
        rows = self._conn().execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE '%\\_\\_%' ESCAPE '\\'"
        )
        return sorted(tuple(name.split("__", 1)) for (name,) in rows)  # type: ignore[misc]

    # -- writes --------------------------------------------------------------------

    def _row(
        self, provider: str, resource: str, obj: Mapping[str, Any], extra: Mapping[str, Any] | None
    ) -> tuple[Any, ...]:
        return make_row(provider, resource, obj, extra)

    def add(
        self,
        provider: str,
        resource: str,
        obj: Mapping[str, Any],
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Insert a new object, or replace an existing one keeping its list position."""
        row = self._row(provider, resource, obj, extra)
        with self._write_lock:
            table = self._ensure_table(provider, resource)
            conn = self._conn()
            placeholders = ", ".join("?" * len(row))
            cols = "id, created, updated, " + ", ".join(f"k{i}" for i in range(MAX_KEYS))
            conn.execute(
                f"INSERT INTO {table} ({cols}, body) VALUES ({placeholders})"
                f" ON CONFLICT(id) DO UPDATE SET updated=excluded.updated, "
                + ", ".join(f"k{i}=excluded.k{i}" for i in range(MAX_KEYS))
                + ", body=excluded.body",
                row,
            )

    def replace(
        self,
        provider: str,
        resource: str,
        obj: Mapping[str, Any],
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Store a changed object (same id); its creation time and list position stay."""
        if self.get(provider, resource, str(obj["id"])) is None:
            raise KeyError(obj["id"])
        merged_extra = dict(self.extra(provider, resource, str(obj["id"])))
        merged_extra.update(extra or {})
        self.add(provider, resource, obj, extra=merged_extra)

    @contextmanager
    def bulk(self, *, fresh: bool = False) -> Iterator[BulkWriter]:
        """One transaction for a whole scenario; indexes are built once at the end.

        ``fresh``: the store is being filled from scratch (a generated shop), so the pages
        go straight into the file instead of through the WAL (which would write the
        whole shop twice); WAL mode is back once the load is done.
        """
        with self._write_lock:
            writer = BulkWriter(self)
            conn = self._conn()
            if fresh:
                conn.execute("PRAGMA journal_mode=DELETE")
            conn.execute("BEGIN")
            try:
                yield writer
                writer.flush()
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            for provider, resource in writer.touched:
                self._create_indexes(provider, resource)
                self._known.add(_table(provider, resource))
            conn.execute("PRAGMA analysis_limit=1000")  # sampled statistics: fast on millions
            conn.execute("ANALYZE")
            if fresh:
                conn.execute("PRAGMA journal_mode=WAL")

    # -- reads ---------------------------------------------------------------------

    def get(self, provider: str, resource: str, obj_id: str) -> dict[str, Any] | None:
        table = self._ensure_table(provider, resource)
        row = self._conn().execute(f"SELECT body FROM {table} WHERE id = ?", (obj_id,)).fetchone()
        return _loads(row[0]) if row else None

    def extra(self, provider: str, resource: str, obj_id: str) -> dict[str, Any]:
        """The keys stored beside an object that its wire form does not carry."""
        index = REGISTRY[(provider, resource)]
        table = self._ensure_table(provider, resource)
        cols = [f"k{i}" for i, (_, path) in enumerate(index.keys.items()) if path is None]
        if not cols:
            return {}
        names = [name for name, path in index.keys.items() if path is None]
        row = (
            self._conn()
            .execute(f"SELECT {', '.join(cols)} FROM {table} WHERE id = ?", (obj_id,))
            .fetchone()
        )
        return dict(zip(names, row, strict=True)) if row else {}

    def count(self, provider: str, resource: str) -> int:
        table = self._ensure_table(provider, resource)
        return int(self._conn().execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def count_where(
        self,
        provider: str,
        resource: str,
        *,
        where: Mapping[str, str | Sequence[str] | None] | None = None,
        created: Mapping[str, int] | None = None,
        updated: Mapping[str, int] | None = None,
    ) -> int:
        """How many objects a ``list`` with these filters walks through (AfterShip's ``total``)."""
        table = self._ensure_table(provider, resource)
        clauses, params = _filter_sql(REGISTRY[(provider, resource)], where, created, updated)
        sql = f"SELECT count(*) FROM {table}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        return int(self._conn().execute(sql, params).fetchone()[0])

    def iter_all(self, provider: str, resource: str) -> Iterator[dict[str, Any]]:
        """Every object in creation order (used to write a scenario out)."""
        table = self._ensure_table(provider, resource)
        conn = sqlite3.connect(self.path)
        try:
            for (body,) in conn.execute(f"SELECT body FROM {table} ORDER BY created, seq"):
                yield _loads(body)
        finally:
            conn.close()

    def iter_grouped(
        self, provider: str, resource: str, key: str
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(key value, object)`` for every object whose filter key ``key`` is set, grouped
        by key value (in text order) and in creation order within a group. Used to write
        the side files that carry links the wire objects lack (payout -> transactions)."""
        names = list(REGISTRY[(provider, resource)].keys)
        col = f"k{names.index(key)}"
        table = self._ensure_table(provider, resource)
        conn = sqlite3.connect(self.path)
        try:
            rows = conn.execute(
                f"SELECT {col}, body FROM {table} WHERE {col} IS NOT NULL"
                f" ORDER BY {col}, created, seq"
            )
            for value, body in rows:
                yield value, _loads(body)
        finally:
            conn.close()

    def list(
        self,
        provider: str,
        resource: str,
        *,
        where: Mapping[str, str | Sequence[str] | None] | None = None,
        created: Mapping[str, int] | None = None,
        updated: Mapping[str, int] | None = None,
        descending: bool = True,
        after: str | None = None,
        before: str | None = None,
        limit: int = 10,
        time_column: str = "created",
        id_key: str | None = None,
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page in list order, and whether more items exist past it.

        ``after``: items that follow that id in list order. ``before``: the ``limit``
        items that precede it (nearest first in position, returned in list order);
        the flag then says whether more exist further back. ``created``/``updated``
        take ``gt``/``gte``/``lt``/``lte`` bounds in epoch seconds. ``id_key``: put each
        object's stored id under that key (for objects without an id of their own).
        """
        index = REGISTRY[(provider, resource)]
        table = self._ensure_table(provider, resource)
        order_col = "updated" if time_column == "updated" else "created"
        clauses, params = _filter_sql(index, where, created, updated)
        cursor_id = after or before
        backwards = before is not None and after is None
        if cursor_id is not None:
            pos = (
                self._conn()
                .execute(f"SELECT {order_col}, seq FROM {table} WHERE id = ?", (cursor_id,))
                .fetchone()
            )
            if pos is None:
                raise UnknownCursor(cursor_id)
            # In list order, "after" is further along: older when descending.
            further = descending != backwards
            cmp = "<" if further else ">"
            clauses.append(f"({order_col} {cmp} ? OR ({order_col} = ? AND seq {cmp} ?))")
            params += [pos[0], pos[0], pos[1]]
        scan_desc = descending != backwards
        direction = "DESC" if scan_desc else "ASC"
        sql = f"SELECT id, body FROM {table}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY {order_col} {direction}, seq {direction} LIMIT ?"
        rows = self._conn().execute(sql, [*params, limit + 1]).fetchall()
        has_more = len(rows) > limit
        items = [_loads(body) for (_, body) in rows[:limit]]
        if id_key is not None:
            for item, (row_id, _) in zip(items, rows, strict=False):
                item[id_key] = row_id
        if backwards:
            items.reverse()
        return items, has_more


def _filter_sql(
    index: Index,
    where: Mapping[str, str | Sequence[str] | None] | None,
    created: Mapping[str, int] | None,
    updated: Mapping[str, int] | None,
) -> tuple[list[str], list[Any]]:
    """SQL conditions for key filters (``*`` wildcards, lists) and time bounds."""
    clauses: list[str] = []
    params: list[Any] = []
    names = list(index.keys)
    for name, value in (where or {}).items():
        col = f"k{names.index(name)}"
        if value is None:
            clauses.append(f"{col} IS NULL")
        elif isinstance(value, str) and "*" in value:
            clauses.append(f"{col} LIKE ? ESCAPE '\\'")
            escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.append(escaped.replace("*", "%"))
        elif isinstance(value, str):
            clauses.append(f"{col} = ?")
            params.append(value)
        else:
            values = list(value)
            clauses.append(f"{col} IN ({', '.join('?' * len(values))})")
            params.extend(values)
    ops = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
    for column, bounds in (("created", created), ("updated", updated)):
        for op, bound in (bounds or {}).items():
            clauses.append(f"{column} {ops[op]} ?")
            params.append(int(bound))
    return clauses, params


class BulkWriter:
    """Buffers rows per table and writes them with ``executemany``."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._buffers: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
        self.touched: set[tuple[str, str]] = set()
        self._pending = 0

    def add(
        self,
        provider: str,
        resource: str,
        obj: Mapping[str, Any],
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        key = (provider, resource)
        if key not in self.touched:
            self._store._ensure_table(provider, resource, indexes=False)
            self.touched.add(key)
        self._buffers.setdefault(key, []).append(self._store._row(provider, resource, obj, extra))
        self._pending += 1
        if self._pending >= _BULK_FLUSH:
            self.flush()

    def add_rows(self, provider: str, resource: str, rows: list[tuple[Any, ...]]) -> None:
        """Add rows already built by :func:`make_row` (e.g. in another process)."""
        key = (provider, resource)
        if key not in self.touched:
            self._store._ensure_table(provider, resource, indexes=False)
            self.touched.add(key)
        self._buffers.setdefault(key, []).extend(rows)
        self._pending += len(rows)
        if self._pending >= _BULK_FLUSH:
            self.flush()

    def flush(self) -> None:
        conn = self._store._conn()
        cols = "id, created, updated, " + ", ".join(f"k{i}" for i in range(MAX_KEYS)) + ", body"
        marks = ", ".join("?" * (MAX_KEYS + 4))
        for (provider, resource), rows in self._buffers.items():
            if rows:
                table = _table(provider, resource)
                conn.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
                rows.clear()
        self._pending = 0
