"""A finished step's freed memory goes back to the operating system, and the collection
between steps leaves the objects alive since start-up alone."""

from __future__ import annotations

import gc
import os
import weakref

import pandas as pd

from echeancier.memory import give_back_memory, set_aside_startup_objects


def _resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_the_frames_of_a_finished_step_stop_counting_against_the_night() -> None:
    give_back_memory()
    start = _resident_mb()
    step = pd.DataFrame(
        {
            "payment_id": [f"ch_{i:024d}" for i in range(600_000)],
            "customer_id": [f"cus_{i % 9000:014d}" for i in range(600_000)],
        }
    )
    step["key"] = step["payment_id"] + "|" + step["customer_id"]
    assert _resident_mb() > start + 100
    del step
    gc.collect()
    held = _resident_mb()

    give_back_memory()

    assert _resident_mb() < held - 50
    assert _resident_mb() < start + 50


def test_the_startup_objects_are_set_aside_once_and_a_later_cycle_is_still_collected() -> None:
    class Node:
        def __init__(self) -> None:
            self.other: Node | None = None

    before = Node()  # alive at the night's start: set aside with the libraries
    assert set_aside_startup_objects() > 0
    # Once per process (another test's night may have been first): objects made since
    # are not set aside by a second call. The count may only fall meanwhile (a frozen
    # object freed by its reference count leaves the frozen set).
    frozen = gc.get_freeze_count()
    made_since = [Node() for _ in range(1000)]
    set_aside_startup_objects()
    assert gc.get_freeze_count() < frozen + len(made_since)

    a, b = Node(), Node()  # the night's own objects: a cycle that dies with its step
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    assert gone() is not None  # only the cycle collector can free it
    give_back_memory()
    assert gone() is None
    assert before.other is None
