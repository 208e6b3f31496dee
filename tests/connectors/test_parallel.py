"""Page walks in threads: the read-ahead of one cursor walk, and walks run at once but
yielded in order (Stripe's events)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from connectors.parallel import ordered_walks, read_ahead


def test_read_ahead_yields_every_page_once_in_the_walks_order() -> None:
    assert list(read_ahead(lambda: iter(range(25)), pages=3)) == list(range(25))


def test_the_next_pages_are_fetched_while_the_consumer_works_on_one() -> None:
    fetched: list[int] = []
    three_more = threading.Event()

    def walk() -> Iterator[int]:
        for n in range(10):
            fetched.append(n)
            if len(fetched) == 4:
                three_more.set()
            yield n

    pages = read_ahead(walk, pages=3)
    assert next(pages) == 0
    # Still holding page 0: the walk went on to pages 1-3 (three waiting), then stopped.
    assert three_more.wait(timeout=30)
    assert fetched[:4] == [0, 1, 2, 3]
    assert list(pages) == list(range(1, 10))


def test_an_error_in_the_walk_reaches_the_consumer_after_the_pages_before_it() -> None:
    def walk() -> Iterator[int]:
        yield 1
        yield 2
        raise LookupError("cursor expired")

    pages = read_ahead(walk, pages=10)
    assert [next(pages), next(pages)] == [1, 2]
    with pytest.raises(LookupError, match="cursor expired"):
        next(pages)


def test_a_consumer_that_stops_early_stops_the_walk() -> None:
    fetched: list[int] = []

    def walk() -> Iterator[int]:
        for n in range(1000):
            fetched.append(n)
            yield n

    pages = read_ahead(walk, pages=2)
    assert next(pages) == 0
    pages.close()  # joins the walk's thread
    assert len(fetched) <= 5  # page 0, two waiting, at most one more in hand


def test_ordered_walks_yield_walk_after_walk_whichever_finishes_first() -> None:
    first_may_finish = threading.Event()
    later_done = threading.Event()

    def slow() -> Iterator[str]:
        yield "a1"
        assert first_may_finish.wait(timeout=30)
        yield "a2"

    def fast(name: str) -> Callable[[], Iterator[str]]:
        def walk() -> Iterator[str]:
            yield f"{name}1"
            yield f"{name}2"
            if name == "c":
                later_done.set()

        return walk

    pages = ordered_walks([slow, fast("b"), fast("c")])
    assert next(pages) == "a1"
    assert later_done.wait(timeout=30)  # the later walks fetched while the first waits
    first_may_finish.set()
    assert list(pages) == ["a2", "b1", "b2", "c1", "c2"]


def test_an_error_in_a_later_walk_comes_after_the_pages_before_it() -> None:
    def broken() -> Iterator[str]:
        raise LookupError("cursor expired")
        yield "never"

    pages = ordered_walks([lambda: iter(["a1", "a2"]), broken, lambda: iter(["c1"])])
    assert [next(pages), next(pages)] == ["a1", "a2"]
    with pytest.raises(LookupError, match="cursor expired"):
        next(pages)


def test_a_consumer_that_stops_early_stops_the_ordered_walks() -> None:
    def endless() -> Iterator[int]:  # a walk that never ends by itself
        for n in itertools.count():
            time.sleep(0.001)
            yield n

    pages = ordered_walks([endless, endless])
    assert next(pages) == 0
    closer = threading.Thread(target=pages.close)  # joins the walks' threads
    closer.start()
    closer.join(timeout=30)
    assert not closer.is_alive()  # both walks stopped after their current page
