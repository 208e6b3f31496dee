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


def merge_walks(
    walks: Iterable[Callable[[], Iterator[T]]], *, max_workers: int, ahead: int | None = None
) -> Iterator[T]:
    """Run each walk (a callable returning a page iterator) in a pool; yield their pages.

    ``ahead``: how many pages may wait for the consumer (default two per worker).
    """
    walk_list = list(walks)
    if not walk_list:
        return
    size = ahead if ahead is not None else max(2, 2 * max_workers)
    results: queue.Queue[object] = queue.Queue(maxsize=max(1, size))
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


def read_ahead(walk: Callable[[], Iterator[T]], pages: int) -> Iterator[T]:
    """One walk's pages in their order, the next ``pages`` fetched while the consumer
    works on the last one.

    Why: a cursor walk (Stripe's events) cannot ask for a page before it has the one
    before; but it need not wait for the consumer to load that page either. On the large
    shop's night the event walk and the loading of its objects took turns (~40 s and
    ~15 s); with the walk in a thread they overlap.
    """
    return merge_walks([walk], max_workers=1, ahead=pages)
