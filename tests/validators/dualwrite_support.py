"""Shared pieces of the dual-write validator tests: a store on the real server, and a
scripted run whose operations are logged in the operation-log format.

``ScriptedRun`` runs named operations (any sequence of DB API calls) through
``bench.measure.instrument.Instrumented``, exactly as ``Run.step`` does, and writes
the same ``oplog.jsonl`` lines, so attribution reads what a real run writes.
It serves the calls the catalog has no operation for (a type rename, a
cgsnapshot create) and deliberately concurrent operations (two attaches of
one volume at once: the runner's view never plans that).
"""

from __future__ import annotations

import contextlib
import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.drive import faults
from bench.measure.instrument import Instrumented
from bench.measure.oplog import OpLogWriter
from bench.measure.outcomes import classify
from bench.measure.recorder import Recorder
from bench.workload.datasets import DatasetSpec, build_dataset, load_dataset
from cinderdb import open_backend
from cinderdb.magneto.core import design_url
from validators.attribution import attribute, read_faults
from validators.dualwrite import Validation, validate
from validators.reader import Reader, open_client
from validators.repair import apply_plan, plan_repair

LABEL = "magnetodb"
#: A small cloud with every kind of item the pairs hold.
TINY = DatasetSpec(
    seed=7,
    projects=2,
    spare_projects=0,
    volumes=40,
    in_use_fraction=0.3,
    multiattach_fraction=0.3,
    snapshot_fraction=0.5,
    groups_per_project=1,
    group_volume_fraction=0.3,
    cgsnapshot_fraction=1.0,
)


@dataclass
class Store:
    """One fresh project on the session's MagnetoDB server (LMDB, HTTP), loaded with TINY."""

    url: str
    backend: Any
    data: Any

    def reader(self) -> Reader:
        return Reader(open_client(self.url))

    def validate(self) -> Validation:
        reader = self.reader()
        try:
            return validate(reader)
        finally:
            reader.client.close()

    def client(self) -> Any:
        return open_client(self.url)


@contextlib.contextmanager
def loaded_store(
    server_url: str, spec: DatasetSpec, prefix: str, design: str | None = None
) -> Iterator[Store]:
    """A fresh project on the session's server with ``spec`` loaded (of ``design``),
    dropped afterwards."""
    url = f"magnetodb://{server_url.removeprefix('http://')}/{prefix}{uuid.uuid4().hex[:12]}"
    if design is not None:
        url = design_url(url, design)
    backend = open_backend(url)
    dataset = build_dataset(spec)
    load_dataset(backend, dataset.data, quiet=True)
    try:
        yield Store(url, backend, dataset.data)
    finally:
        backend.drop_schema()
        backend.close()


@pytest.fixture(name="store")
def store_fixture(magnetodb_server_url: str) -> Iterator[Store]:
    """A fresh project on the session's server with TINY loaded (import it as a fixture)."""
    with loaded_store(magnetodb_server_url, TINY, "v") as store:
        yield store


class ScriptedRun:
    """Logged operations on one backend (oplog.jsonl in ``directory``)."""

    def __init__(self, directory: Path, backend: Any) -> None:
        self.directory = directory
        self.backend = backend
        self.api: Instrumented | None = None
        self.log = OpLogWriter(directory / "oplog.jsonl")
        self._seq = itertools.count()

    def instrument(self) -> Instrumented:
        """Wrap the backend (after ``faults.install``: the wrapper captures its methods)."""
        self.api = Instrumented(self.backend, Recorder(), LABEL, probe=None)
        return self.api

    def op(self, name: str, work: Callable[[Any], Any]) -> tuple[int, BaseException | None]:
        """Run ``work(api)`` as operation ``name``; log it; return its seq and error."""
        api = self.api or self.instrument()
        seq = next(self._seq)
        started = time.time()
        error = None
        scope = None
        try:
            with api.operation(name) as scope:
                work(api)
        except Exception as exc:  # an outcome, logged
            error = exc
        outcome, failure = classify(error)
        self.log.write(
            {
                "seq": seq,
                "op": name,
                "t": round(started, 6),
                "lag_us": None,
                "order": [LABEL],
                "plan": {"op": name},
                "runs": {
                    LABEL: {
                        "outcome": outcome,
                        "error": failure,
                        "message": str(error)[:300] if error else None,
                        "us": scope.service_ns // 1000 if scope else 0,
                        "calls": scope.encoded_calls() if scope else [],
                    }
                },
                "divergent": False,
            }
        )
        return seq, error

    def close(self) -> None:
        self.log.close()
        if self.api is not None:
            self.api.detach()


def crash(run: ScriptedRun, rule: faults.FaultRule, **options: Any) -> faults.FaultInjector:
    """Make the next request ``rule`` matches fail (once), logging faults.jsonl."""
    injector = faults.install(
        run.backend,
        faults.FaultOptions(rules=(rule,), rate=1.0, max_faults=1, **options),
        log_path=run.directory / "faults.jsonl",
    )
    assert injector is not None
    run.instrument()
    return injector


def attribute_all(run: ScriptedRun, validation: Validation, unsafe: bool = False) -> None:
    from bench.measure.oplog import read_oplog

    run.log.close()
    lines = read_oplog(run.directory / "oplog.jsonl")
    attribute(
        validation.findings,
        lines,
        LABEL,
        faults=read_faults(run.directory),
        unsafe=unsafe,
    )


def repair(store: Store, validation: Validation) -> Validation:
    """Plan and apply the repair, then validate again."""
    plan = plan_repair(validation.checks, validation.findings)
    assert plan.actions, "findings but nothing to write"
    assert not plan.unrepairable, plan.unrepairable
    client = store.client()
    try:
        apply_plan(client, plan)
    finally:
        client.close()
    assert not any(outcome.startswith("failed") for outcome in plan.outcomes), plan.outcomes
    return store.validate()
