"""A dataset stream made by a child process (``bench.workload.prefetch``): the parts of
the stream made here, in order; a failure or an early stop of either side ends the child."""

from __future__ import annotations

import gc
import multiprocessing

import pytest

from bench.workload.datasets import DatasetSpec, stream_dataset
from bench.workload.prefetch import GeneratorFailed, stream_in_child
from cinderdb.bulk import gc_paused

SPEC = DatasetSpec(volumes=300, projects=4, seed=7)


#: A spec the generator fails on once the child runs (no project to give a volume).
UNMAKEABLE = DatasetSpec(volumes=10, projects=0)


def _children() -> set[int]:
    return {child.pid for child in multiprocessing.active_children()}


def test_the_child_gives_the_parts_of_the_stream_in_order():
    made_here = list(stream_dataset(SPEC, 64))
    made_there = list(stream_in_child(SPEC, 64))
    assert len(made_there) == len(made_here) > 3
    assert made_there == made_here


def test_a_failure_in_the_child_is_raised_here_with_its_traceback():
    before = _children()
    with pytest.raises(GeneratorFailed, match="IndexError"):
        list(stream_in_child(UNMAKEABLE, 64))
    assert _children() == before


def test_a_reader_that_stops_early_stops_the_child():
    before = _children()
    parts = stream_in_child(DatasetSpec(volumes=20_000, projects=4), 10)
    next(parts)
    assert _children() - before, "the child runs while the stream is read"
    parts.close()
    assert _children() == before


@pytest.mark.parametrize("enabled", [True, False])
def test_gc_paused_restores_the_collector_even_when_the_block_raises(enabled):
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    seen = []

    def load() -> None:
        with gc_paused():
            seen.append(gc.isenabled())
            raise RuntimeError("the load failed")

    try:
        with pytest.raises(RuntimeError):
            load()
        assert seen == [False]
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
