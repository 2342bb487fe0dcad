"""Recorded runs and replay replicas for the differential-replay and quota tests.

``record_run`` makes a real results directory (``bench.drive.job.run_job``,
one SQL backend): the log the replay reads is the one a user's run writes.
``replicas`` opens the two replay backends loaded with that run's dataset, so a
test can wrap one of them (inject a wrong answer) or write to it directly
(plant a state difference) before ``Replayer.run``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.drive.job import run_job
from bench.drive.spec import RunSpec
from bench.measure.results import Results, load_results
from bench.workload.datasets import DatasetSpec, build_dataset
from tests.bench.support import SMALL as BENCH_SMALL
from validators.replay import Replica, open_replica

#: tests/bench's small cloud (every kind of record the catalog needs), a third smaller.
SMALL = dataclasses.replace(BENCH_SMALL, volumes=60)

SQL_URL = "sqlite://"
MAGNETODB_URL = "magnetodb+inproc:///replay"


def record_run(
    directory: Path,
    *,
    seed: int,
    operations: int,
    threads: int = 1,
    mix: str = "uniform",
    spec: DatasetSpec = SMALL,
) -> Results:
    """A real run on a file SQLite database; returns its results directory."""
    url = f"sqlite:///{directory / 'run.sqlite'}"
    run = RunSpec(
        backends=(("sqlite", url),),
        dataset=spec,
        mix=mix,
        duration=None,
        operations=operations,
        threads=threads,
        seed=seed,
    )
    run_job(run, directory, progress=False, command="run")
    return load_results(directory)


@contextmanager
def replicas(
    results: Results, first_url: str = SQL_URL, second_url: str = MAGNETODB_URL
) -> Iterator[tuple[Replica, Replica]]:
    """Two fresh backends loaded with the run's dataset, closed afterwards."""
    data = build_dataset(DatasetSpec.from_dict(results.meta["dataset"]["spec"])).data
    first = open_replica("first", first_url, data)
    second_url = second_url if second_url != first_url else second_url.rstrip("/") + "-2"
    second = open_replica("second", second_url, data)
    try:
        yield first, second
    finally:
        first.backend.close()
        second.backend.close()


class Liar:
    """A backend whose ``function`` answers wrong once, on its ``nth`` call: the fault a
    differential check must catch (``change`` turns the right answer into the wrong one)."""

    def __init__(self, backend: Any, function: str, nth: int, change: Any) -> None:
        self.backend, self.function, self.nth, self.change = backend, function, nth, change
        self.calls = 0
        self.lied_with: Any = None

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.backend, name)
        if name != self.function:
            return attribute

        def answer(*args: Any, **kwargs: Any) -> Any:
            value = attribute(*args, **kwargs)
            self.calls += 1
            if self.calls == self.nth:
                value = self.change(value)
                self.lied_with = args
            return value

        return answer
