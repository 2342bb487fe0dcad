"""Charts drawn by a second process while this one builds the rest of a report.

Building a run's report is one core's work: matplotlib lays out and draws every
chart in Python, and the two percentile grids (a panel per operation) were about
half of it. With ``processes=2`` a spawned process draws what is handed to it
(importing matplotlib itself meanwhile) while this one draws and builds the
rest. Worth it where a second core is free and a report is big: ``cinderbench
compare`` and ``cinderbench report`` ask for it; a library caller gets the plain
one-process build. A chart is a pure function of its arguments (pickled across),
so where it is drawn changes nothing in the page.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Protocol


class Drawer(Protocol):
    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]: ...


class _Here:
    """Draws at once, in this process (the future is done when returned)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args))
        except Exception as error:  # raised where the result is read, as in a pool
            future.set_exception(error)
        return future


@contextlib.contextmanager
def drawer(processes: int = 1) -> Iterator[Drawer]:
    """Where charts handed over are drawn: here (``processes=1``) or in one spawned
    process (``2``; spawned: this process may have threads). The process is stopped
    when the block ends."""
    if processes < 2:
        yield _Here()
        return
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
