"""Give the memory a finished step freed back to the operating system.

A night runs its steps one after the other in one process. Each step's frames are freed
when it ends, but the allocators keep the pages for later: pyarrow's pool (mimalloc)
holds on to the buffers of the text columns, glibc to the heap numpy and Python used. On
the large shop's night the steps after the reconciliation started from ~2.3 GB that
nothing used any more, and the KPIs' own 2.6 GB came on top of it. Measured on the
reconciliation's frames: 1,419 MB resident after ``del`` and a collection, 444 MB once
pyarrow's pool released its unused memory, 261 MB after ``malloc_trim``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
from collections.abc import Callable
from functools import cache
from typing import Any

import pyarrow


@cache
def set_aside_startup_objects() -> int:
    """Put every object alive now out of the cycle collector's reach, once per process;
    returns how many it set aside.

    Called when a night starts, after the imports: the libraries' modules, classes and
    tables (pandas, SQLAlchemy, Great Expectations, Prefect: ~0.5–0.8 M objects) live as
    long as the process, yet every full collection walked them all again, so each
    :func:`give_back_memory` between steps cost 0.3–0.4 s on the medium night (eight a
    night; issue 10's orchestration profile). Frozen (``gc.freeze``), they are skipped;
    what the night itself makes is collected as before. Once per process: freezing again
    later would also set aside the night's own objects, and with them any cycle they
    form when they die.
    """
    gc.freeze()
    return gc.get_freeze_count()


def give_back_memory() -> tuple[int, int]:
    """Collect garbage, then ask pyarrow's pool and the C allocator to return free pages;
    returns the process's resident MB before and after (0 where unknown).

    Cheap (tens of milliseconds), safe at any time, a no-op where an allocator has no
    such call (``malloc_trim`` is glibc's).
    """
    before = resident_mb()
    gc.collect()
    pyarrow.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    return before, resident_mb()


@cache
def _malloc_trim() -> Callable[[int], Any] | None:
    """glibc's ``malloc_trim``, looked up once (None on a C library without it)."""
    libc = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(libc), "malloc_trim", None) if libc else None


def resident_mb() -> int:
    """The process's resident memory in MB (Linux's ``/proc``; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE") // 2**20
