"""A streamed dataset made by a child process while this one loads it.

Generating a part (``stream_dataset``) is pure Python: in the loading process it
takes the GIL from the loader's own work (rows, CSV, items, JSON, HTTP), so a big
load runs on one core however many it has. ``stream_in_child(spec, chunk)`` gives
the same parts, in the same order, made by a spawned child process a few parts
ahead (``AHEAD``, which bounds the memory they take) and pickled across: at 100k
volumes unpickling costs this process about a third of what making them does.
The child stops when the stream ends or when the reader stops early (the
generator is closed, or this process raises).
"""

from __future__ import annotations

import multiprocessing
import queue as queues
import traceback
from collections.abc import Iterator
from typing import Any

from bench.workload.datasets import STREAM_CHUNK, DatasetSpec, stream_dataset
from cinderdb.bulk import BulkData, gc_paused

#: Parts the child may have made and this process not yet taken.
AHEAD = 2
#: Seconds between checks that a child still runs while waiting for its next part.
_POLL = 1.0


class GeneratorFailed(RuntimeError):
    """The child making the dataset raised (its traceback is the message) or died."""


class _Failure:
    """What the child sends instead of a part when generating raised."""

    def __init__(self, text: str) -> None:
        self.text = text


def _generate(spec: DatasetSpec, chunk: int, parts: Any) -> None:
    """The child: every part of the stream into ``parts``, then None (or a failure)."""
    try:
        with gc_paused():
            for part in stream_dataset(spec, chunk):
                parts.put(part)
    except BaseException:  # sent to the reader, which raises it
        parts.put(_Failure(traceback.format_exc()))
    else:
        parts.put(None)


def stream_in_child(spec: DatasetSpec, chunk: int = STREAM_CHUNK) -> Iterator[BulkData]:
    """The parts of ``stream_dataset(spec, chunk)``, made by a child process."""
    context = multiprocessing.get_context("spawn")  # this process may have threads
    parts = context.Queue(maxsize=AHEAD)
    child = context.Process(
        target=_generate, args=(spec, chunk, parts), name="dataset-generator", daemon=True
    )
    child.start()
    try:
        while (part := _next(parts, child)) is not None:
            yield part
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
        parts.close()
        parts.cancel_join_thread()


def _next(parts: Any, child: Any) -> BulkData | None:
    while True:
        try:
            item = parts.get(timeout=_POLL)
        except queues.Empty:
            if child.is_alive():
                continue
            try:  # what it sent just before it exited
                item = parts.get(timeout=_POLL)
            except queues.Empty:
                raise GeneratorFailed(
                    f"the dataset generator exited with code {child.exitcode} "
                    "before the stream ended"
                ) from None
        if isinstance(item, _Failure):
            raise GeneratorFailed(f"generating the dataset failed:\n{item.text}")
        return item
