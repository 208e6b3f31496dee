"""Generated shops, cached on disk: a medium shop takes ~30 s to generate, a copy ~1 s.

The cache key is everything the output depends on: ``<size>-<seed>-<as_of>-<generator
version>.db`` under ``var/sandbox-cache/`` (bump ``GENERATOR_VERSION`` whenever the
generator's output changes). Beside each database, ``.json`` holds its
:class:`Summary`. The cached file is a single self-contained SQLite file (no WAL)
that callers copy before serving it, so a server's state changes never reach it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import date
from pathlib import Path

from sandbox.generate.shop import GENERATOR_VERSION, Size, Summary, generate
from sandbox.store import Store

DEFAULT_CACHE = Path("var/sandbox-cache")


def cache_name(size: str, seed: int, as_of: date) -> str:
    return f"{size}-{seed}-{as_of.isoformat()}-{GENERATOR_VERSION}"


def generate_cached(
    *, size: str, seed: int, as_of: date, cache_dir: Path | str = DEFAULT_CACHE
) -> tuple[Path, Summary]:
    """The cached database of this shop (generated first if needed) and its summary.

    Do not serve the returned file: copy it (``shutil.copyfile``) and open the copy.
    """
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    name = cache_name(size, seed, as_of)
    cached, meta = cache / f"{name}.db", cache / f"{name}.json"
    if not (cached.exists() and meta.exists()):
        tmp = cache / f".{name}.{os.getpid()}.tmp"
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)
        store = Store.open(tmp)
        size_: Size = size  # type: ignore[assignment]
        summary = generate(store, size_, seed, as_of)
        store.close()
        conn = sqlite3.connect(tmp)  # fold the WAL in: one file that copies whole
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.close()
        meta_tmp = cache / f".{name}.{os.getpid()}.json.tmp"
        meta_tmp.write_text(json.dumps(summary.to_json(), indent=1, ensure_ascii=False))
        os.replace(tmp, cached)  # atomic: concurrent callers never see a partial file
        os.replace(meta_tmp, meta)
    return cached, Summary.from_json(json.loads(meta.read_text()))
