"""A finished step's freed memory goes back to the operating system."""

from __future__ import annotations

import gc
import os

import pandas as pd

from echeancier.memory import give_back_memory


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
