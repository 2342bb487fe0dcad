"""``Instrumented(backend, recorder)``: every DB API function timed, counted and logged.

Built by looping over ``cinderdb.api.FUNCTIONS`` (YCSB's ``DBWrapper``), so it
can never miss a function. Each call records, into the recorder, its service
time (``perf_counter_ns``), its time since the intended start when the run is
paced, its outcome keyed by exception class, and the backend's counters for
that call (``bench.measure.counters``), and where its time went: the calling
thread's CPU time and the store's reported time (``bench.measure.split``).
Backends stay clean: nothing here is imported by them.

``operation(name, lag_ns)`` opens a Cinder operation on the calling thread:
its calls are collected (for the operation log and the per-operation counter
sums) and, on exit, the operation itself is recorded. The *lag* is how late
the operation started against its schedule; the intended-start latency of the
operation and of each of its calls is service time + lag (YCSB's
``measurement.interval=intended``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from bench.measure.counters import Probe, probe_for
from bench.measure.oplog import encode_call
from bench.measure.outcomes import classify
from bench.measure.recorder import Recorder
from bench.measure.split import StoreClock, cpu_clock, store_clock_for
from cinderdb.api import FUNCTIONS

_DEFAULT = object()
#: A call's result is logged as a value when it is a short list of ids (reservations).
_VALUE_LIMIT = 64


def _no_clock() -> int:
    return 0


class OperationScope:
    """One Cinder operation on one backend: its calls, counter sums and outcome."""

    __slots__ = (
        "calls",
        "counters",
        "cpu_ns",
        "error",
        "lag_ns",
        "name",
        "service_ns",
        "started_ns",
        "store_ns",
    )

    def __init__(self, name: str, lag_ns: int | None) -> None:
        self.name = name
        self.lag_ns = lag_ns
        #: (function, args, kwargs, ns, outcome summary, kept result or None, client CPU ns,
        #: store ns): the two times None where not measured
        self.calls: list[
            tuple[str, tuple, dict, int, dict[str, Any], Any, int | None, int | None]
        ] = []
        self.counters: dict[str, int] = {"db_calls": 0}
        self.error: BaseException | None = None
        self.service_ns = 0
        self.started_ns = 0
        #: sums over the operation's calls (None while no call measured one)
        self.cpu_ns: int | None = None
        self.store_ns: int | None = None

    def add(
        self,
        name: str,
        args: tuple,
        kwargs: dict,
        elapsed_ns: int,
        error: BaseException | None,
        result: Any,
        counters: dict[str, int] | None,
        cpu_ns: int | None = None,
        store_ns: int | None = None,
    ) -> None:
        if cpu_ns is not None:
            self.cpu_ns = (self.cpu_ns or 0) + cpu_ns
        if store_ns is not None:
            self.store_ns = (self.store_ns or 0) + store_ns
        # Only short id lists are kept (for ``refs``): holding every record an
        # operation read would keep the collector busy.
        kept = result if type(result) is list and len(result) <= _VALUE_LIMIT else None
        self.calls.append(
            (name, args, kwargs, elapsed_ns, _outcome(error, result), kept, cpu_ns, store_ns)
        )
        totals = self.counters
        totals["db_calls"] += 1
        if counters:
            for key, value in counters.items():
                if value:
                    totals[key] = totals.get(key, 0) + value

    def encoded_calls(self) -> list[dict[str, Any]]:
        """The calls as operation-log entries (``bench.measure.oplog``).

        An argument that *is* the result of an earlier call of this operation
        (the reservation list ``quota_reserve`` returned, handed to
        ``reservation_commit``) is marked in ``refs``, so a replay on another
        backend substitutes that backend's own result. A call's client CPU and store
        time (``cpu_us``, ``store_us``) are there where they were measured.
        """
        produced: dict[int, int] = {}
        memo: dict[int, Any] = {}
        entries = []
        for index, call in enumerate(self.calls):
            name, args, kwargs, elapsed_ns, outcome, kept, cpu_ns, store_ns = call
            entry = encode_call(name, args, kwargs, memo)
            entry["us"] = elapsed_ns // 1000
            if cpu_ns is not None:
                entry["cpu_us"] = cpu_ns // 1000
            if store_ns is not None:
                entry["store_us"] = store_ns // 1000
            if produced:
                refs = {str(i): produced[id(a)] for i, a in enumerate(args) if id(a) in produced}
                refs.update({k: produced[id(v)] for k, v in kwargs.items() if id(v) in produced})
                if refs:
                    entry["refs"] = refs
            entry["outcome"] = outcome
            if kept is not None:
                produced[id(kept)] = index
            entries.append(entry)
        return entries


def _outcome(error: BaseException | None, result: Any) -> dict[str, Any]:
    """A call's outcome as logged: ok or the error, the result's size, and ids a replay
    maps (the id of a created record, the uuids ``quota_reserve`` returned)."""
    if error is not None:
        return {"ok": False, "error": type(error).__name__, "message": str(error)[:300]}
    kind = type(result)
    if kind is dict:
        identifier = result.get("id")
        if type(identifier) is str:
            return {"ok": True, "n": len(result), "id": identifier}
        return {"ok": True, "n": len(result)}
    if kind is list:
        if len(result) <= _VALUE_LIMIT and all(type(item) is str for item in result):
            return {"ok": True, "n": len(result), "value": list(result)}
        return {"ok": True, "n": len(result)}
    if kind is tuple:
        return {"ok": True, "n": len(result)}
    return {"ok": True}


class Instrumented:
    """A backend whose every contract function is measured; anything else passes through."""

    def __init__(
        self,
        backend: Any,
        recorder: Recorder,
        label: str | None = None,
        probe: Any = _DEFAULT,
    ) -> None:
        self.backend = backend
        self.recorder = recorder
        self.label = label or backend.side
        self.probe: Probe | None = probe_for(backend) if probe is _DEFAULT else probe
        self.store_clock: StoreClock | None = store_clock_for(backend)
        self._local = threading.local()
        self.attach()
        for name in FUNCTIONS:
            setattr(self, name, self._wrap(name, getattr(backend, name)))

    def __getattr__(self, name: str) -> Any:
        # url, engine_info, bulk_load, features...: not measured
        return getattr(self.backend, name)

    def attach(self) -> None:
        """Count (and read the store's time) again after ``detach``."""
        if self.probe is not None:
            self.probe.attach()
        if self.store_clock is not None:
            self.store_clock.attach()

    def detach(self) -> None:
        """Stop counting (the backend itself stays open)."""
        if self.probe is not None:
            self.probe.detach()
        if self.store_clock is not None:
            self.store_clock.detach()

    # ----------------------------------------------------------- operations

    @property
    def scope(self) -> OperationScope | None:
        """The operation open on the calling thread, if any."""
        return getattr(self._local, "scope", None)

    @contextlib.contextmanager
    def operation(self, name: str, lag_ns: int | None = None) -> Iterator[OperationScope]:
        """Measure one Cinder operation; exceptions are recorded and re-raised."""
        scope = OperationScope(name, lag_ns)
        self._local.scope = scope
        scope.started_ns = time.perf_counter_ns()
        try:
            yield scope
        except BaseException as error:
            scope.error = error
            raise
        finally:
            scope.service_ns = time.perf_counter_ns() - scope.started_ns
            self._local.scope = None
            outcome, failure = classify(scope.error)
            self.recorder.record(
                self.label,
                "op",
                name,
                scope.service_ns,
                lag_ns,
                outcome,
                failure,
                scope.counters,
                cpu_ns=scope.cpu_ns,
                store_ns=scope.store_ns,
            )

    # ---------------------------------------------------------------- calls

    def _wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        recorder, label, local, probe = self.recorder, self.label, self._local, self.probe
        store = self.store_clock
        clock = time.perf_counter_ns
        thread_cpu = cpu_clock()
        measuring = thread_cpu is not None
        cpu_now = thread_cpu or _no_clock

        def measured(*args: Any, **kwargs: Any) -> Any:
            scope = getattr(local, "scope", None)
            caller = args[0] if args else kwargs.get("context")
            context = "admin" if getattr(caller, "is_admin", False) else "user"
            token = probe.start(name) if probe is not None else None
            reported = store.start() if store is not None else None
            cpu_started = cpu_now()
            started = clock()
            try:
                result = function(*args, **kwargs)
            except Exception as error:
                elapsed = clock() - started
                cpu = cpu_now() - cpu_started if measuring else None
                counters = probe.stop(token) if probe is not None else None
                store_ns = store.stop(reported) if store is not None else None
                outcome, failure = classify(error)
                lag = scope.lag_ns if scope is not None else None
                recorder.record(
                    label, "call", name, elapsed, lag, outcome, failure, counters, context,
                    cpu, store_ns,
                )  # fmt: skip
                if scope is not None:
                    scope.add(name, args, kwargs, elapsed, error, None, counters, cpu, store_ns)
                raise
            elapsed = clock() - started
            cpu = cpu_now() - cpu_started if measuring else None
            counters = probe.stop(token) if probe is not None else None
            store_ns = store.stop(reported) if store is not None else None
            lag = scope.lag_ns if scope is not None else None
            recorder.record(
                label, "call", name, elapsed, lag, "ok", None, counters, context, cpu, store_ns
            )
            if scope is not None:
                scope.add(name, args, kwargs, elapsed, None, result, counters, cpu, store_ns)
            return result

        measured.__name__ = measured.__qualname__ = name
        measured.__doc__ = function.__doc__
        return measured
