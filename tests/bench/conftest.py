"""Fixtures of the measurement-core tests: a backend loaded with a small dataset, per backend.

The backends come from the contract suite's one list (``tests.provision``:
``selected_backends()`` and ``PROVISIONERS``), so a backend added there (the
MagnetoDB design) is covered here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bench.drive.runner import Run, Worker
from bench.workload.datasets import Dataset, build_dataset, load_dataset
from bench.workload.mixes import MIXES
from tests.bench.support import SMALL
from tests.provision import PROVISIONERS, selected_backends


@dataclass
class World:
    """One backend with SMALL loaded, and a one-backend Run over it."""

    name: str
    backend: object
    dataset: Dataset
    bench: Run
    worker: Worker


@pytest.fixture(params=selected_backends())
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    dataset = build_dataset(SMALL)
    with PROVISIONERS[request.param](request) as backend:
        load_dataset(backend, dataset.data, quiet=True)
        bench = Run([(request.param, backend)], dataset, MIXES["uniform"], seed=5)
        try:
            yield World(request.param, backend, dataset, bench, bench.worker(0))
        finally:
            bench.close()
