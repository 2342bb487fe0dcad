"""A replay's second replica in a child process, so both replicas run at once.

The two replicas of a differential replay never depend on each other: each
re-issues the same log on its own backend and maps the ids it generated
itself (``validators.replicas``). Run one after the other in one process, a
replay at the default 5,000 volumes spends ~40 % of its time in each backend
and leaves the second core idle. ``RemoteReplica`` starts a child process
(``spawn``: nothing of the parent's threads or open stores is inherited) that
loads its own fresh backend and replays the whole log, streaming, per batch of
operations, each call's decoded arguments and answer (value or exception)
through a pipe; the replayer takes them in the same order as it runs the first
replica's calls and compares exactly as before. At the end the parent sends
the scope of the final-state read (collected from the first replica's
arguments) and receives the child's state.

The answers cross the process boundary pickled: Cinder's exceptions keep
their class and kwargs (``CinderException.__reduce__``); an exception that
does not survive pickling arrives as a ``RuntimeError`` naming its class, and
so shows as a divergence, never as silence.
"""

from __future__ import annotations

import multiprocessing
import pickle
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from cinderdb import backend_class
from validators.replicas import Replica
from validators.state import Scope, State

#: Operations per message from the child (fewer, bigger pickles; the parent keeps up).
BATCH = 16
#: Seconds the child gets to exit once the parent is done with it.
EXIT_SECONDS = 10.0


class ReplicaFailed(RuntimeError):
    """The child replica failed (its traceback is the message) or went away."""


@dataclass
class RemoteReplica(Replica):
    """A ``Replica`` whose backend runs in a child process; ``call`` returns the child's
    next call, in log order. ``ids`` and ``rewrite`` are kept here as well (the replayer
    notes them), so canonical answers are computed exactly as for a local replica."""

    process: Any = None
    connection: Connection | None = None
    pending: deque = field(default_factory=deque)
    finished: bool = False
    #: seconds the replayer waited for (and unpickled) this replica's answers
    waits: float = 0.0

    @property
    def waited_seconds(self) -> float:
        return self.waits

    @property
    def features(self) -> Any:
        return backend_class(self.url).features_for(self.url)

    def _receive(self) -> tuple[str, Any]:
        assert self.connection is not None
        try:
            kind, payload = self.connection.recv()
        except (EOFError, OSError) as error:
            raise ReplicaFailed(f"the replica {self.label} went away: {error}") from error
        if kind == "failed":
            raise ReplicaFailed(f"the replica {self.label} failed:\n{payload}")
        if kind == "loaded":
            self.load_seconds = payload
            return self._receive()
        return kind, payload

    def call(
        self, call: dict[str, Any], results: list[Any]
    ) -> tuple[str, list[Any], dict[str, Any], Any, BaseException | None]:
        while not self.pending:
            began = time.perf_counter()
            kind, payload = self._receive()
            self.waits += time.perf_counter() - began
            if kind != "calls":
                raise ReplicaFailed(f"the replica {self.label} sent {kind!r} before its calls")
            self.pending.extend(payload)
        record = self.pending.popleft()
        if record[0] != call["fn"]:
            raise ReplicaFailed(
                f"the replica {self.label} answered {record[0]} for {call['fn']}: out of step"
            )
        return record

    def state(self, scope: Scope) -> Callable[[], State]:
        assert self.connection is not None
        kind, payload = self._receive()
        if kind != "end" or self.pending:
            raise ReplicaFailed(f"the replica {self.label} replayed more calls than the log")
        self.busy_seconds = payload
        self.connection.send(scope)

        def received() -> State:
            kind, state = self._receive()
            if kind != "state":
                raise ReplicaFailed(f"the replica {self.label} sent {kind!r}, not its state")
            self.finished = True
            return state

        return received

    def close(self) -> None:
        """Stop the child (it exits by itself once its state is read)."""
        if self.connection is not None:
            self.connection.close()
        if self.process is not None:
            self.process.join(EXIT_SECONDS if self.finished else 0.1)
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(EXIT_SECONDS)


def start_remote_replica(label: str, url: str, results_dir: str | Path) -> RemoteReplica:
    """A child process loading a fresh backend at ``url`` with the run's dataset and
    replaying its log; returns at once (the child loads while the parent does)."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=serve, args=(label, url, str(results_dir), child), daemon=True)
    process.start()
    child.close()
    return RemoteReplica(label, url, None, process=process, connection=parent)


def serve(label: str, url: str, results_dir: str, connection: Connection) -> None:
    """The child: load, replay every logged call in the replayer's order, send the calls
    in batches, then read the final state for the scope the parent sends."""
    from bench.measure.outcomes import outcome_unknown
    from bench.measure.results import load_results
    from bench.workload.datasets import DatasetSpec, build_dataset
    from validators.canonical import CREATING_CALLS
    from validators.clock import logical_clock
    from validators.replicas import (
        in_seq_order,
        logged_run,
        logged_tokens,
        note_own,
        open_replica,
    )
    from validators.state import read_state

    replica = None
    try:
        results = load_results(results_dir)
        data = build_dataset(DatasetSpec.from_dict(results.meta["dataset"]["spec"])).data
        replica = open_replica(label, url, data)
        connection.send(("loaded", replica.load_seconds))
        reference = results.backends[0] if results.backends else None
        batch: list[tuple[Any, ...]] = []
        operations = 0
        with logical_clock() as clock:
            for line in in_seq_order(results.oplog()):
                run = logged_run(line, reference)
                if run is None:
                    continue
                clock.set(float(line["t"]))
                seq, answers = int(line["seq"]), []
                for index, call in enumerate(run["calls"]):
                    if outcome_unknown(call.get("outcome")):
                        answers.append(None)  # skipped as the replayer skips it
                        continue
                    function, args, kwargs, value, error = replica.call(call, answers)
                    answers.append(value)
                    if function in CREATING_CALLS:
                        tokens = logged_tokens(seq, index, call)
                        where = (seq, index)
                        note_own(replica, where, function, (args, kwargs), value, error, tokens)
                    batch.append((function, args, kwargs, value, portable(error)))
                operations += 1
                if operations % BATCH == 0:
                    connection.send(("calls", batch))
                    batch = []
            if batch:
                connection.send(("calls", batch))
            connection.send(("end", replica.busy_seconds))
            scope = connection.recv()
            connection.send(("state", portable_state(read_state(replica.backend, scope))))
    except (EOFError, BrokenPipeError):
        return  # the parent stopped listening: nothing to report to
    except BaseException:
        connection.send(("failed", traceback.format_exc()))
    finally:
        if replica is not None:
            replica.backend.close()
        connection.close()


def portable(error: BaseException | None) -> BaseException | None:
    """``error`` if it survives pickling, else a ``RuntimeError`` naming its class."""
    if error is None:
        return None
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


def portable_state(state: State) -> State:
    """A final state whose failed reads (kept as exceptions) survive pickling."""
    return {
        section: {
            key: portable(answer) if isinstance(answer, BaseException) else answer
            for key, answer in rows.items()
        }
        if isinstance(rows, dict)
        else rows
        for section, rows in state.items()
    }
