"""The two replicas of a replay: backends, their generated ids, and the log in replay order.

A ``Replica`` is one fresh backend loaded with the run's dataset (either design: a
replay's two replicas are the two designs, or one design twice for A/A). It re-issues
logged calls with their decoded arguments, after rewriting the ids the run's
backend generated into the ids this backend generated for the same calls
(``IdMap``; see ``validators.replay``), and passes ``refs`` (an argument that
*is* an earlier result of the operation) its own earlier results.
``in_seq_order`` turns a log written in completion order into start order.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bench.measure.oplog import decode
from cinderdb import open_backend
from validators.canonical import CREATING_CALLS, Canonicalizer, IdMap
from validators.state import Scope, State, read_state

#: How far out of ``seq`` order the log may be (written in completion order: a line is late
#: only by the operations that overlapped it).
REORDER_WINDOW = 1024

# ------------------------------------------------------------------ the log


def in_seq_order(lines: Iterable[dict[str, Any]], window: int = REORDER_WINDOW) -> Iterator[dict]:
    """Log lines by ``seq`` (start order), from a log written in completion order.

    A line can only be late by the operations that overlapped it, so a bounded
    heap restores the order as the log streams; a missing ``seq`` (a harness
    failure logs nothing) is skipped once the heap is full.
    """
    heap: list[tuple[int, int, dict[str, Any]]] = []
    expected = 0
    for arrival, line in enumerate(lines):
        heapq.heappush(heap, (int(line["seq"]), arrival, line))
        while heap and (heap[0][0] <= expected or len(heap) > window):
            seq, _, ready = heapq.heappop(heap)
            expected = max(expected, seq + 1)
            yield ready
    while heap:
        yield heapq.heappop(heap)[2]


def strings_in(data: Any, found: set[str]) -> set[str]:
    """Every string inside ``data`` (dict values, list and set items), added to ``found``."""
    if isinstance(data, str):
        found.add(data)
    elif isinstance(data, dict):
        for value in data.values():
            strings_in(value, found)
    elif isinstance(data, list | tuple | set | frozenset):
        for value in data:
            strings_in(value, found)
    return found


def _rewrite(data: Any, mapping: dict[str, str]) -> Any:
    """``data`` (encoded JSON) with every string found in ``mapping`` replaced."""
    if isinstance(data, str):
        return mapping.get(data, data)
    if isinstance(data, dict):
        return {key: _rewrite(value, mapping) for key, value in data.items()}
    if isinstance(data, list):
        return [_rewrite(value, mapping) for value in data]
    return data


def generated_ids(function: str, arguments: Any, answer: Any) -> list[str]:
    """Ids the backend chose itself in this answer: a created record's id its arguments
    did not name, or the uuids of ``quota_reserve``."""
    if function not in CREATING_CALLS:
        return []
    if isinstance(answer, list):
        return [value for value in answer if isinstance(value, str)]
    identifier = answer.get("id") if isinstance(answer, dict) else None
    if isinstance(identifier, str) and identifier not in strings_in(arguments, set()):
        return [identifier]
    return []


def token(function: str, seq: int, index: int, position: int, many: bool) -> str:
    where = f"{seq}.{index}" + (f"[{position}]" if many else "")
    return f"<{function}@{where}>"


def logged_run(line: dict[str, Any], reference: str | None) -> dict[str, Any] | None:
    """The run of one log line a replay re-issues: the reference backend's, else the first
    backend that ran it (None: nothing ran)."""
    runs = line.get("runs") or {}
    if reference in runs:
        return runs[reference]
    for label in line.get("order") or ():
        if label in runs:
            return runs[label]
    return None


def logged_tokens(seq: int, index: int, call: dict[str, Any]) -> dict[str, str]:
    """Tokens of the ids the run's backend generated in this call: token -> run's id."""
    function, logged = call["fn"], call.get("outcome") or {}
    if not logged.get("ok"):
        return {}
    many = function == "quota_reserve"
    if many:
        answer: Any = logged.get("value") or []
    else:
        answer = {"id": logged["id"]} if isinstance(logged.get("id"), str) else None
    found = generated_ids(function, (call["args"], call["kwargs"]), answer)
    return {token(function, seq, index, i, many): value for i, value in enumerate(found)}


# ------------------------------------------------------------- one replica


@dataclass
class Replica:
    """One replay backend: its answers' canonicalizer and its generated ids."""

    label: str
    url: str
    backend: Any
    ids: IdMap = field(default_factory=IdMap)
    canon: Canonicalizer = field(init=False)
    #: the run's generated id -> this backend's id for the same creation
    rewrite: dict[str, str] = field(default_factory=dict)
    load_seconds: float = 0.0
    #: time spent inside this backend's calls (the rest of a replay is the harness)
    busy_seconds: float = 0.0

    def __post_init__(self) -> None:
        self.canon = Canonicalizer(self.ids)

    def call(
        self, call: dict[str, Any], results: list[Any]
    ) -> tuple[str, list[Any], dict[str, Any], Any, BaseException | None]:
        """Decode one logged call for this backend and run it."""
        encoded_args, encoded_kwargs = call["args"], call["kwargs"]
        if self.rewrite:
            encoded_args = _rewrite(encoded_args, self.rewrite)
            encoded_kwargs = _rewrite(encoded_kwargs, self.rewrite)
        args, kwargs = decode(encoded_args), decode(encoded_kwargs)
        for slot, index in (call.get("refs") or {}).items():
            earlier = results[index] if index < len(results) else None
            if slot.isdigit():
                args[int(slot)] = earlier
            else:
                kwargs[slot] = earlier
        function = call["fn"]
        method = getattr(self.backend, function)
        started = time.perf_counter()
        try:
            value, error = method(*args, **kwargs), None
        except Exception as caught:  # an answer to compare, not a replay failure
            value, error = None, caught
        self.busy_seconds += time.perf_counter() - started
        return function, args, kwargs, value, error

    def answer(self, function: str, value: Any, error: BaseException | None) -> Any:
        return self.canon.error(error) if error is not None else self.canon.result(function, value)

    @property
    def waited_seconds(self) -> float:
        """The replayer's time spent on this replica's calls: its busy time here, the
        waits for its answers when it runs in another process (``validators.remote``)."""
        return self.busy_seconds

    @property
    def features(self) -> Any:
        """What the backend declares (``cinderdb.base.Features``)."""
        return self.backend.features

    def state(self, scope: Scope) -> Callable[[], State]:
        """The backend's final logical state (``validators.state``), as a function that
        returns it: a replica in another process starts reading at once."""
        state = read_state(self.backend, scope)
        return lambda: state

    def close(self) -> None:
        self.backend.close()


def open_replica(label: str, url: str, data: Any) -> Replica:
    """A fresh backend at ``url`` (its schema dropped first) loaded with ``data``."""
    backend = open_backend(url)
    started = time.perf_counter()
    backend.drop_schema()
    backend.create_schema()
    backend.bulk_load(data)
    replica = Replica(label, url, backend)
    replica.load_seconds = time.perf_counter() - started
    return replica


def note_own(
    replica: Replica,
    where: tuple[int, int],
    function: str,
    arguments: Any,
    value: Any,
    error: BaseException | None,
    logged: dict[str, str],
) -> None:
    """Map the ids this replica generated in one call to their tokens, and the run's ids
    for the same tokens to this replica's (so later arguments name its own ids)."""
    if error is not None:
        return
    many = function == "quota_reserve"
    for position, value_id in enumerate(generated_ids(function, arguments, value)):
        name = token(function, *where, position, many)
        replica.ids.add(value_id, name)
        if name in logged:
            replica.rewrite[logged[name]] = value_id
