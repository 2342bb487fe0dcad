"""A weighted mix of catalog operations on one backend or several, side by side.

``Run`` is the composition root (locust's ``Environment``): the backends as
instrumented targets, one recorder, the live view of the dataset, the mix,
and the operation log. ``Run.step(worker)`` is one operation: plan it once,
execute it on every backend (arm) back to back, in an order that rotates
(``execution_orders``: so drift and noise hit all alike, no arm always goes
first, and every pair's ratio holds on a noisy machine), settle the view from
the first backend's outcome, log it. The CLI drives steps from
threads (closed loop, or paced at a target rate with YCSB's intended start
times); the locust workloads drive the same ``step`` from their users.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
import traceback
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.drive.heap import frozen_heap
from bench.drive.pacing import Schedule
from bench.drive.spec import RunSpec, pairings
from bench.locks import os_lock
from bench.measure.instrument import Instrumented, OperationScope
from bench.measure.oplog import OpLogWriter, encode
from bench.measure.outcomes import ERROR, OK, classify
from bench.measure.recorder import Recorder
from bench.workload.catalog import CATALOG, Operation, Plan, Target
from bench.workload.datasets import Dataset
from bench.workload.generators import DiscreteGenerator
from bench.workload.view import DatasetView, KeyChooser
from cinderdb.base import Backend

#: How many operations the mix may draw before one finds an eligible target.
PLAN_ATTEMPTS = 25
#: Tracebacks of harness failures kept for run.json.
KEPT_FAILURES = 20


@dataclass
class Worker:
    """One driver of steps: its own seeded streams (random, keys, operation choice)."""

    index: int
    rng: Any
    keys: KeyChooser
    ops: DiscreteGenerator[str]
    done: int = 0


@dataclass
class Execution:
    """One operation on one backend."""

    label: str
    scope: OperationScope
    result: Any
    error: BaseException | None

    @property
    def outcome(self) -> tuple[str, str | None]:
        return classify(self.error)


@dataclass
class Step:
    seq: int
    op: str
    plan: Plan
    runs: dict[str, Execution] = field(default_factory=dict)


def execution_orders(labels: Sequence[str]) -> list[list[str]]:
    """The orders steps cycle through: each rotation of ``labels``, then its reverse,
    duplicates dropped. Every arm goes first equally often and, for every two arms, each
    goes before the other in half the orders (two arms: plain alternation)."""
    orders: list[list[str]] = []
    for shift in range(len(labels)):
        rotated = [*labels[shift:], *labels[:shift]]
        for order in (rotated, rotated[::-1]):
            if order not in orders:
                orders.append(order)
    return orders


class Run:
    """Targets, recorder, live view, mix and operation log of one run."""

    def __init__(
        self,
        backends: Sequence[tuple[str, Backend]],
        dataset: Dataset,
        mix: dict[str, float],
        *,
        seed: int = 1,
        distribution: str = "zipfian",
        oplog_path: str | Path | None = None,
        partition: tuple[int, int] = (0, 1),
        recorder: Recorder | None = None,
        baselines: Sequence[tuple[str, str]] = (),
    ) -> None:
        if not backends:
            raise ValueError("a run needs at least one backend")
        self.recorder = recorder or Recorder()
        qos_ids = {qos["name"]: qos["id"] for qos in dataset.data.qos_specs}
        self.targets = [
            Target(label, Instrumented(backend, self.recorder, label), dict(qos_ids))
            for label, backend in backends
        ]
        self.view = DatasetView.from_dataset(dataset, partition)
        self.mix = {name: weight for name, weight in mix.items() if weight > 0}
        self.seed = seed
        self.distribution = distribution
        self.oplog = OpLogWriter(oplog_path) if oplog_path else None
        self._seq = itertools.count()
        self._lock = os_lock()
        #: ``(arm, baseline)`` of every paired ratio (``RunSpec.baselines``)
        self.pairings = pairings(self.labels, baselines)
        by_label = {target.label: target for target in self.targets}
        self._orders = [
            [by_label[label] for label in order] for order in execution_orders(self.labels)
        ]
        #: arm -> op -> (baseline µs, arm µs) of the steps where both succeeded
        self.pairs: dict[str, dict[str, tuple[array, array]]] = {}
        self.harness_failures: list[str] = []
        self.harness_failure_count = 0

    @property
    def labels(self) -> list[str]:
        return [target.label for target in self.targets]

    def worker(self, index: int) -> Worker:
        """Worker ``index``'s streams, seeded from the run seed (same seed, same plans)."""
        rng = random.Random(f"{self.seed}:{index}")
        keys = KeyChooser(self.distribution, len(self.view.projects), rng)
        ops = DiscreteGenerator([(w, name) for name, w in sorted(self.mix.items())], rng)
        return Worker(index, rng, keys, ops)

    # ---------------------------------------------------------------- steps

    def _plan(self, worker: Worker, name: str | None) -> tuple[Operation, Plan] | None:
        for _ in range(PLAN_ATTEMPTS if name is None else 1):
            op = CATALOG[name or worker.ops.next()]
            plan = op.plan(self.view, worker.rng, worker.keys)
            if plan is not None:
                return op, plan
            self.recorder.note_skipped(op.name)
        return None

    def step(
        self, worker: Worker, intended_ns: int | None = None, operation: str | None = None
    ) -> Step | None:
        """Plan one operation and run it on every backend (None: nothing eligible).

        ``operation`` names it (a locust task per operation); by default
        the mix draws it. ``intended_ns`` (``perf_counter_ns`` time) is when the
        schedule wanted it to start; both executions carry the lag the first
        one started with.
        """
        planned = self._plan(worker, operation)
        if planned is None:
            return None
        op, plan = planned
        seq = next(self._seq)
        targets = self._orders[seq % len(self._orders)]
        started_wall = time.time()
        lag = None if intended_ns is None else max(0, time.perf_counter_ns() - intended_ns)
        step = Step(seq, op.name, plan)
        try:
            for target in targets:
                step.runs[target.label] = self._execute(op, target, plan, lag)
        finally:
            self._settle(op, plan, step)
        worker.done += 1
        self._pair(step)
        if self.oplog is not None:
            self.oplog.write(self._log_line(step, targets, started_wall, lag))
        return step

    def _execute(self, op: Operation, target: Target, plan: Plan, lag: int | None) -> Execution:
        api: Instrumented = target.api
        result, error = None, None
        scope = None
        try:
            with api.operation(op.name, lag) as scope:
                result = op.execute(target, plan)
        except Exception as exc:  # an outcome to record, not a harness failure
            error = exc
        return Execution(target.label, scope, result, error)

    def _settle(self, op: Operation, plan: Plan, step: Step) -> None:
        view = self.view
        try:
            reference = step.runs.get(self.targets[0].label)
            if reference is None:
                view.quarantine(plan.holds)
                return
            outcome, _ = reference.outcome
            if outcome == OK:
                op.settle(view, plan, reference.result)
            elif outcome == ERROR:
                view.quarantine(plan.holds)
            if len({run.outcome for run in step.runs.values()}) > 1:
                self.recorder.note_divergent(op.name)
        finally:
            view.release(plan.holds)

    def _pair(self, step: Step) -> None:
        for arm, baseline in self.pairings:
            first, second = step.runs[baseline], step.runs[arm]
            if first.error is None and second.error is None:
                with self._lock:
                    pair = self.pairs.setdefault(arm, {}).setdefault(
                        step.op, (array("q"), array("q"))
                    )
                    pair[0].append(first.scope.service_ns // 1000)
                    pair[1].append(second.scope.service_ns // 1000)

    def merge_pairs(self, shipped: dict[str, dict[str, list[bytes]]]) -> None:
        """Add pairs another process shipped (``take_pairs``: a locust worker's)."""
        with self._lock:
            for arm, per_op in shipped.items():
                for op, (first, second) in per_op.items():
                    pair = self.pairs.setdefault(arm, {}).setdefault(op, (array("q"), array("q")))
                    pair[0].frombytes(first)
                    pair[1].frombytes(second)

    def take_pairs(self) -> dict[str, dict[str, list[bytes]]]:
        """The pairs since the last call, as bytes (for ``merge_pairs`` elsewhere)."""
        with self._lock:
            taken, self.pairs = self.pairs, {}
        return {
            arm: {op: [a.tobytes(), b.tobytes()] for op, (a, b) in per_op.items()}
            for arm, per_op in taken.items()
        }

    def _log_line(
        self, step: Step, targets: list[Target], started_wall: float, lag: int | None
    ) -> dict[str, Any]:
        runs = {}
        for target in targets:
            run = step.runs[target.label]
            outcome, failure = run.outcome
            scope = run.scope
            runs[target.label] = {
                "outcome": outcome,
                "error": failure,
                "message": str(run.error)[:300] if run.error is not None else None,
                "us": scope.service_ns // 1000,
                "calls": scope.encoded_calls(),
            }
            # the operation's sums over its calls, where measured (not under gevent)
            if scope.cpu_ns is not None:
                runs[target.label]["cpu_us"] = scope.cpu_ns // 1000
            if scope.store_ns is not None:
                runs[target.label]["store_us"] = scope.store_ns // 1000
        return {
            "seq": step.seq,
            "op": step.op,
            "t": round(started_wall, 6),
            "lag_us": None if lag is None else lag // 1000,
            "order": [target.label for target in targets],
            "plan": encode(step.plan.to_dict()),
            "runs": runs,
            "divergent": len({run.outcome for run in step.runs.values()}) > 1,
        }

    def note_failure(self) -> None:
        """Keep the traceback of a harness failure (a bug, not a backend outcome)."""
        with self._lock:
            self.harness_failure_count += 1
            if len(self.harness_failures) < KEPT_FAILURES:
                self.harness_failures.append(traceback.format_exc())

    def comparison(self) -> dict[str, Any] | None:
        """Per arm and operation, the paired ratio arm / its baseline (``comparison.json``):
        the first pairing at the top level, every pairing under ``pairs`` when there are
        several."""
        from bench.measure.results import paired_ratio

        if not self.pairings:
            return None
        entries = []
        for arm, baseline in self.pairings:
            with self._lock:
                pairs = {
                    op: list(zip(a, b, strict=True))
                    for op, (a, b) in self.pairs.get(arm, {}).items()
                }
            entries.append(
                {
                    "baseline": baseline,
                    "candidate": arm,
                    "ratio": f"{arm} / {baseline} service time",
                    "operations": {op: paired_ratio(v) for op, v in sorted(pairs.items())},
                }
            )
        return {**entries[0], "pairs": entries} if len(entries) > 1 else entries[0]

    def close(self) -> None:
        for target in self.targets:
            target.api.detach()
        if self.oplog is not None:
            self.oplog.close()


# ------------------------------------------------------------------ driving


class _Budget:
    """Shared stop rule: a deadline, an operation count, or both."""

    def __init__(self, spec: RunSpec) -> None:
        self.deadline = time.monotonic() + spec.duration if spec.duration else None
        self.limit = spec.operations
        self._claimed = itertools.count()
        self.stopped = threading.Event()

    def claim(self) -> bool:
        if self.stopped.is_set() or (self.deadline and time.monotonic() >= self.deadline):
            return False
        return self.limit is None or next(self._claimed) < self.limit


def _drive(run: Run, worker: Worker, spec: RunSpec, budget: _Budget, start: int) -> None:
    schedule = None
    if spec.pace:  # drivers spread over one interval, so the run's rate is even
        schedule = Schedule(spec.pace, start, offset=worker.index / spec.threads)
    for k in itertools.count():
        if not budget.claim():
            return
        intended = None
        if schedule is not None:
            intended = schedule.intended_ns(k)
            delay = schedule.delay(k)
            if delay:
                time.sleep(delay)
        try:
            run.step(worker, intended)
        except Exception:
            run.note_failure()
            if run.harness_failure_count > 100:
                budget.stopped.set()


def run_workload(
    run: Run,
    spec: RunSpec,
    progress: bool = True,
    on_start: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Drive ``run`` with ``spec.threads`` threads; return timing facts for run.json.

    ``on_start(epoch)`` is called as the measured phase begins (node kills are timed
    from it)."""
    if spec.duration is None and spec.operations is None:
        raise ValueError("give a duration, an operation count, or both")
    with frozen_heap():
        return _drive_threads(run, spec, progress, on_start)


def _drive_threads(
    run: Run, spec: RunSpec, progress: bool, on_start: Callable[[float], None] | None
) -> dict[str, Any]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    budget = _Budget(spec)
    workers = [run.worker(i) for i in range(spec.threads)]
    started_epoch, start = time.time(), time.perf_counter_ns()
    if on_start is not None:
        on_start(started_epoch)
    threads = [
        threading.Thread(target=_drive, args=(run, w, spec, budget, start), daemon=True)
        for w in workers
    ]
    total = spec.operations or spec.duration or 1
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, disable=not progress) as bar:
        task = bar.add_task("running", total=total)
        for thread in threads:
            thread.start()
        try:
            while any(thread.is_alive() for thread in threads):
                for thread in threads:
                    thread.join(0.25)
                done = sum(w.done for w in workers)
                elapsed = (time.perf_counter_ns() - start) / 1e9
                bar.update(
                    task,
                    completed=done if spec.operations else min(elapsed, total),
                    description=_status(run, done, elapsed),
                )
        except KeyboardInterrupt:
            budget.stopped.set()
            for thread in threads:
                thread.join()
    elapsed = (time.perf_counter_ns() - start) / 1e9
    return {
        "started_epoch": started_epoch,
        "ended_epoch": time.time(),
        "duration_s": round(elapsed, 3),
        "operations": sum(w.done for w in workers),
    }


def _status(run: Run, done: int, elapsed: float) -> str:
    recorder = run.recorder
    errors = sum(
        s.outcomes.get(ERROR, 0)
        for (_, kind, _), s in list(recorder.series.items())
        if kind == "op"
    )
    rate = done / elapsed if elapsed > 0 else 0.0
    diverged = sum(recorder.divergent.values())
    return f"{done} ops ({rate:.0f}/s) errors {errors} divergent {diverged}"
