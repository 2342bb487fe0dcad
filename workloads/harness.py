"""One locust process's side of a test: ``CinderUser``, ``Harness`` and the ``Test`` it runs.

``attach`` (``workloads.common``) gives each process the ``Harness`` subclass
of its role (``workloads.distributed``); this module is what they share: the
backends and dataset of the process, the current ``Test``, and the users.

**A task is ``Run.step``**: one planned operation run on every backend back
to back (so their ratio holds), then one ``request`` event per backend
execution (``request_type`` = backend label, ``name`` = operation) for
locust's stats, web UI, ``--csv`` and ``--html``. The step runs in a greenlet
of its own: a user killed at stop never leaves an operation done on one
backend only, or half done (a crash between two writes is what the
validators hunt). An ``error`` outcome is a locust failure (``OperationFailed``);
a rejection is a locust success.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import gevent
from gevent.event import Event
from gevent.lock import Semaphore
from gevent.pool import Group
from locust import User, task
from locust.env import Environment
from locust.exception import StopUser

from bench.drive import heap
from bench.drive.faults import install as install_faults
from bench.drive.faults import uninstall as uninstall_faults
from bench.drive.pacing import Schedule
from bench.drive.runner import Run, Worker
from bench.drive.spec import RunSpec
from bench.measure.oplog import dumps_line
from bench.measure.outcomes import ERROR
from bench.workload.datasets import Dataset, DatasetSpec, build_dataset
from bench.workload.generators import DiscreteGenerator
from bench.workload.mixes import resolve_mix
from cinderdb import features_of, open_backend

logger = logging.getLogger("cinderbench.locust")

#: Seconds to wait for in-flight steps, and for the workers' final reports.
DRAIN_SECONDS = 60.0
#: Pause after a draw found nothing eligible (no busy loop on an exhausted view).
IDLE_SECONDS = 0.05


# ------------------------------------------------------------------ the user


class OperationFailed(Exception):
    """What locust's failure table shows for an ``error`` outcome: the exception's class
    (messages carry ids, which would make one row each; the oplog keeps them)."""


class CinderUser(User):
    """One client: draws operations from ``mix`` and runs each on every backend.

    Subclasses set ``mix`` (a ``bench.workload.mixes`` name or weight table) and may set
    ``dataset`` (``DatasetSpec`` fields their pattern needs). With ``--pace`` the
    wait follows a fixed schedule and the intended-start latency is recorded
    too (YCSB's coordinated-omission correction); otherwise the loop is closed,
    like ``cinderbench run`` without ``--rate``.
    """

    abstract = True
    mix: ClassVar[str | Mapping[str, float]] = "standard"
    dataset: ClassVar[Mapping[str, Any]] = {}

    def on_start(self) -> None:
        self.cinder = harness(self.environment)
        self.worker = self.cinder.join(self)
        self.schedule: Schedule | None = None
        self.done = 0

    def paced(self) -> Schedule | None:
        """This user's schedule (``--pace``), started at its first operation."""
        if self.schedule is None and self.cinder.pace:
            self.schedule = Schedule(self.cinder.pace)
        return self.schedule

    def wait_time(self) -> float:
        schedule = self.paced()
        return schedule.delay(self.done) if schedule is not None else 0.0

    @task
    def operation(self) -> None:
        """One planned operation on every backend (``Harness.step``)."""
        schedule = self.paced()
        intended = schedule.intended_ns(self.done) if schedule is not None else None
        self.done += 1
        self.cinder.run(self.worker, intended)


# ------------------------------------------------------------------ one test


class ChunkedOplog:
    """A worker's oplog: lines kept in memory until the next report ships them."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def write(self, record: Mapping[str, Any]) -> None:
        self.lines.append(dumps_line(record))

    def take(self) -> bytes:
        lines, self.lines = self.lines, []
        return b"".join(lines)

    def close(self) -> None:
        return


@dataclass(frozen=True)
class TestSetup:
    """One locust test's settings: the ``RunSpec`` (what ``cinderbench run`` takes too) and
    what only a locust test has. The master sends it to each worker (``to_dict``)."""

    run: RunSpec
    #: ``--mix`` was given: every user class runs ``run.mix`` (else each class its own)
    mix_override: bool = False
    #: the mix's name for run.json, and each user class's weights
    mix_name: str = "standard"
    mixes: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    #: the dataset was loaded for this test (the backends start from its state)
    fresh: bool = False
    #: (index, count): the share of the projects this process drives
    partition: tuple[int, int] = (0, 1)
    test: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run.to_dict(),
            "mix_override": self.mix_override,
            "mix_name": self.mix_name,
            "mixes": {name: dict(weights) for name, weights in self.mixes.items()},
            "fresh": self.fresh,
            "partition": list(self.partition),
            "test": self.test,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TestSetup:
        return cls(
            run=RunSpec.from_dict(data["run"]),
            mix_override=data["mix_override"],
            mix_name=data["mix_name"],
            mixes=data["mixes"],
            fresh=data["fresh"],
            partition=tuple(data["partition"]),
            test=data["test"],
        )


@dataclass
class Test:
    """One locust test (test_start to test_stop) in one process."""

    number: int
    setup: TestSetup
    bench: Run
    started: float = field(default_factory=time.time)
    directory: Path | None = None
    loads: dict[str, float] = field(default_factory=dict)
    operations: int = 0
    peak_users: int = 0
    inflight: Group = field(default_factory=Group)
    users: Iterator[int] = field(default_factory=itertools.count)
    closed: bool = False
    notes: list[str] = field(default_factory=list)
    # worker: what was shipped already, and this worker's own totals
    shipped: Counter[str] = field(default_factory=Counter)
    totals: Counter[str] = field(default_factory=Counter)
    fault_log: Path | None = None
    final_sent: bool = False
    # master: who takes part, who sent its final, the oplog and faults they sent
    participants: dict[str, int] = field(default_factory=dict)
    finals: set[str] = field(default_factory=set)
    all_final: Event = field(default_factory=Event)
    chunks: dict[int, Path] = field(default_factory=dict)
    faults: list[dict[str, Any]] = field(default_factory=list)
    fault_ids: dict[tuple[int, int], int] = field(default_factory=dict)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.bench.close()


class Harness:
    """The cinderbench side of one locust process: backends, dataset, the current test."""

    role: ClassVar[str] = "worker"

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.resources = contextlib.ExitStack()
        self.embedded: dict[str, str] = {}
        self.scratch: str | None = None
        self.urls: list[tuple[str, str]] = []
        self.opened: list[tuple[str, Any]] = []
        self.dataset: Dataset | None = None
        #: what outlives a test: (key, view, QoS ids per label); the key is
        #: (urls, dataset spec, partition), since the backends keep their state
        self.carry: tuple[Any, Any, dict[str, dict[str, str]]] | None = None
        self.test: Test | None = None
        self.numbers = itertools.count(1)
        self.ready = Event()
        self.pace = 0.0
        #: held around each step when operations of this process must not overlap
        self.gate: Semaphore | None = None
        #: whether a step can yield mid-way (a network backend), so needs a greenlet of its own
        self.shielded = True
        self.exit_code: int | None = None
        self.reasons: list[str] = []
        self.written: list[Path] = []
        atexit.register(self.close)

    def register(self) -> None:
        """Custom messages of this role (``runner.register_message``)."""

    # ------------------------------------------------------------- backends

    def scratch_dir(self) -> Path:
        if self.scratch is None:
            self.scratch = tempfile.mkdtemp(prefix="cinderbench-locust-")
            self.resources.callback(shutil.rmtree, self.scratch, True)
        return Path(self.scratch)

    def open(self, urls: list[tuple[str, str]]) -> None:
        """Open ``urls`` unless they are what is open already."""
        if urls == self.urls and self.opened:
            return
        self.close_backends()
        for label, url in urls:
            self.opened.append((label, open_backend(url)))
        self.urls = list(urls)

    def close_backends(self) -> None:
        if self.test is not None:
            self.test.close()
        for _, backend in self.opened:
            with contextlib.suppress(Exception):
                backend.close()
        self.opened, self.urls, self.carry = [], [], None

    def close(self) -> None:
        self.close_backends()
        self.resources.close()

    def load(self, spec: DatasetSpec) -> Dataset:
        """The dataset of ``spec`` (generated once per spec: it is deterministic)."""
        if self.dataset is None or self.dataset.spec != spec:
            self.dataset = build_dataset(spec)
        return self.dataset

    def new_bench(
        self,
        setup: TestSetup,
        partition: tuple[int, int],
        oplog: Path | None = None,
        fault_log: Path | None = None,
        executes: bool = True,
    ) -> Run:
        """This test's ``Run``. The view comes from the last test when the backends,
        dataset and partition are the same: the backends kept that state. Faults are
        installed where operations execute (not on the master)."""
        if self.test is not None:
            self.test.close()
        heap.thaw()  # the last test's long-lived objects may go now
        run = setup.run
        dataset = self.load(run.dataset)
        for _, backend in self.opened:  # before Instrumented wraps the backend
            if executes and run.faults.active:
                install_faults(backend, run.faults, fault_log)
            else:
                uninstall_faults(backend)
        bench = Run(
            self.opened,
            dataset,
            resolve_mix(run.mix),
            seed=run.seed,
            distribution=run.distribution,
            oplog_path=oplog,
            partition=partition,
            baselines=run.baselines,
        )
        key = (run.backends, run.dataset, tuple(partition))
        if self.carry is not None and self.carry[0] == key and not setup.fresh:
            bench.view = self.carry[1]
            for target in bench.targets:
                target.qos_ids = self.carry[2].get(target.label, target.qos_ids)
        elif not setup.fresh:
            logger.warning(
                "cinderbench: the backends held the dataset already; this process's view starts "
                "from the generated dataset, so items earlier runs changed may be rejected or "
                "diverge (--reset-dataset starts clean)"
            )
        self.carry = (key, bench.view, {t.label: t.qos_ids for t in bench.targets})
        self.pace = run.pace or 0.0
        self.gate = Semaphore(1) if serialized(run) else None
        self.shielded = any(backend.features.waits_on_network for _, backend in self.opened)
        heap.freeze()  # keep collections off the dataset and view, as a CLI run does
        return bench

    # ----------------------------------------------------------------- users

    def join(self, user: CinderUser) -> Worker:
        """The user's own seeded streams and mix, once this process is set up."""
        self.ready.wait()
        test = self.test
        if test is None:
            raise StopUser()
        worker = test.bench.worker(next(test.users) * 1000 + test.setup.partition[0])
        weights = resolve_mix(test.setup.run.mix if test.setup.mix_override else user.mix)
        worker.ops = DiscreteGenerator(
            [(weight, name) for name, weight in sorted(weights.items()) if weight > 0], worker.rng
        )
        return worker

    def run(self, worker: Worker, intended_ns: int | None) -> None:
        """``step``; in a greenlet of its own when it can yield mid-way, so that killing
        the user (locust's stop) does not cut an operation between two backends or two
        writes. A step on SQLite or in-process backends never yields: a kill cannot land
        in it, and running it inline saves a fifth of the harness's cost per operation."""
        test = self.test
        if test is None or test.closed:
            raise StopUser()
        if self.shielded:
            done = test.inflight.spawn(self.step, test, worker, intended_ns).get()
        else:
            done = self.step(test, worker, intended_ns)
        if not done:
            gevent.sleep(IDLE_SECONDS)

    def step(self, test: Test, worker: Worker, intended_ns: int | None) -> bool:
        """One operation on every backend, then one ``request`` event per execution."""
        fire = self.environment.events.request.fire
        try:
            with self.gate or contextlib.nullcontext():
                step = test.bench.step(worker, intended_ns)
        except Exception as error:
            test.bench.note_failure()
            fire(request_type="cinderbench", name="harness failure", response_time=0,
                 response_length=0, exception=error, context={})  # fmt: skip
            return True
        if step is None:
            return False
        test.operations += 1
        for label, run in step.runs.items():
            outcome, failure = run.outcome
            fire(
                request_type=label,
                name=step.op,
                response_time=run.scope.service_ns / 1e6,
                response_length=len(run.scope.calls),
                exception=OperationFailed(failure) if outcome == ERROR else None,
                context={"outcome": outcome},
            )
        return True

    def drain(self, test: Test) -> None:
        """Wait for in-flight operations: their users were stopped, the operations not."""
        if not test.inflight.join(timeout=DRAIN_SECONDS):
            test.notes.append(f"{len(test.inflight)} operations were still running after drain")
            test.inflight.kill(block=False)

    def fail(self, code: int, reason: str) -> None:
        """Remember why the process must exit non-zero (the highest code wins)."""
        logger.error("cinderbench: %s", reason)
        self.reasons.append(reason)
        self.exit_code = max(self.exit_code or 0, code)
        self.environment.process_exit_code = self.exit_code

    def test_start(self) -> None:
        """Set up the test (coordinators); workers are set up by the master's message."""

    def test_stop(self) -> None:
        """Finish the test."""

    def quit(self, exit_code: int) -> None:
        """The last words before the process exits."""
        self.close()


def serialized(run: RunSpec) -> bool:
    """Whether operations of one process run one at a time.

    Under gevent a user's operation yields while it waits on a socket
    (MagnetoDB, MySQL) and other users run meanwhile, inside its timed window;
    calls that never wait on the network (SQLite, in-process MagnetoDB) never yield, so
    with such a backend in the run the network backend would be charged for its work
    for the other users, and the paired
    ratio would follow the user count (4x off at 4 users). ``auto`` serializes
    then; users queue for the gate, which paced runs see as intended-start lag.
    Between two yielding backends operations overlap, as Cinder's own eventlet
    workers do.
    """
    if run.serialize != "auto":
        return run.serialize == "on"
    return any(not features_of(url).waits_on_network for _, url in run.backends)


def harness(environment: Environment) -> Harness:
    """This process's harness (``attach`` made it at init)."""
    return environment.cinderbench  # type: ignore[attr-defined]
