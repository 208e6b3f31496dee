"""Several page walks at once, yielding pages as they arrive.

A first full sync of a large Stripe account is otherwise one serial cursor
walk: at 100 ms a request and 100 objects a page, 1000 objects a second at best,
whatever the rate limit allows. Cutting ``created`` into disjoint slices and
walking them in threads fills the rate limit instead (the shared token bucket
keeps the total under it).

Example: ``merge_walks([walk(0, 10), walk(10, 20)], max_workers=2)`` yields the
pages of both walks, interleaved in arrival order, each exactly once. An error
in any walk stops the others and is raised to the consumer; a consumer that
stops early (closes the generator) stops the walks after their current page.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
_DONE = object()
_POLL_S = 0.05


def merge_walks(walks: Iterable[Callable[[], Iterator[T]]], *, max_workers: int) -> Iterator[T]:
    """Run each walk (a callable returning a page iterator) in a pool; yield their pages."""
    walk_list = list(walks)
    if not walk_list:
        return
    results: queue.Queue[object] = queue.Queue(maxsize=max(2, 2 * max_workers))
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                results.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def run(walk: Callable[[], Iterator[T]]) -> None:
        try:
            for page in walk():
                if stop.is_set() or not put(("page", page)):
                    return
            put(("done", None))
        except BaseException as exc:  # handed to the consumer, raised there
            put(("error", exc))

    pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="connector-walk")
    try:
        for walk in walk_list:
            pool.submit(run, walk)
        pending = len(walk_list)
        while pending:
            kind, value = results.get()  # type: ignore[misc]
            if kind == "page":
                yield value
            elif kind == "done":
                pending -= 1
            else:
                raise value
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
