"""Counter probes: what one DB API call cost a backend, beyond time.

A probe is attached to one backend for a run and measures one call at a time
on the calling thread (``start()`` / ``stop(token) -> {name: count}``):

- ``SQLProbe``: statements (by kind), commits, round trips, JOINs, EXISTS,
  tables, rows, from ``bench.measure.sql_counters.SQLCounter`` (SQLAlchemy cursor
  events, attributed per thread); ``retries``/``give_ups`` of Liberty's
  ``_retry_on_deadlock`` (a deadlock victim, a lock wait timeout, a Galera
  certification failure); on MySQL, around each call that may write (not in
  ``cinderdb.api.READ_FUNCTIONS``), InnoDB's row-lock waits, wait time and
  deadlocks from ``SHOW GLOBAL STATUS`` (``sql_counters.LockStatus``: global, so
  exact only when no other call overlapped; ``lock_window_shared`` marks the rest).
- ``MagnetoProbe``: requests (total and by type), items read and written,
  dual/index writes (items written to a table the design marks as derived:
  the backend's ``derived_tables``), conditional-check failures
  (a lost race: most are followed by a retry), ``retries``/``give_ups`` of the
  design's optimistic-concurrency loops (``Backend.contention_hooks``), request
  errors and bytes, from
  the MagnetoDB client's ``hooks`` (``RequestStats``). A ``batch_write_item``
  spans tables and its ``RequestStats`` names none, so the probe also wraps
  the client's ``batch_write_item`` while attached to count the derived-table
  items each batch wrote (sent minus unprocessed).

A probe reports every counter it knows on every call, zeros included, so
each counter's per-call minimum and maximum are exact. Backends never import
this module: probes attach from the outside (events, client hooks).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from cinderdb.api import READ_FUNCTIONS
from cinderdb.base import Backend

#: The counters each probe always reports (zeros included).
SQL_COUNTERS = (
    "statements",
    "selects",
    "inserts",
    "updates",
    "deletes",
    "begins",
    "others",
    "commits",
    "rollbacks",
    "round_trips",
    "joins",
    "joins_left_outer",
    "joins_inner",
    "exists",
    "tables",
    "rows",
    "retries",
    "give_ups",
)
MAGNETO_COUNTERS = (
    "requests",
    "items_read",
    "items_written",
    "dual_writes",
    "conditional_check_failed",
    "retries",
    "give_ups",
    "request_errors",
    "bytes_sent",
    "bytes_received",
)


class Probe(Protocol):
    """Counts what one backend does for the calling thread between start and stop."""

    kind: str

    def attach(self) -> None: ...

    def detach(self) -> None: ...

    def start(self, function: str | None = None) -> Any: ...

    def stop(self, token: Any) -> dict[str, int]: ...


class SQLProbe:
    """SQL counters through ``bench.measure.sql_counters`` (one listener set, per-thread blocks)."""

    kind = "sql"

    def __init__(self, engine: Any, backend: Backend | None = None) -> None:
        from bench.measure.sql_counters import LockStatus, SQLCounter

        self.counter = SQLCounter(engine)
        self.retries = RetryCounter(backend)
        #: InnoDB's lock status around each call that may write (MySQL only).
        self.locks = LockStatus.of(self.counter.engines[0])

    def attach(self) -> None:
        self.counter.attach()
        self.retries.attach()

    def detach(self) -> None:
        self.counter.detach()
        self.retries.detach()
        if self.locks is not None:
            self.locks.close()

    def start(self, function: str | None = None) -> Any:
        locks = None
        if self.locks is not None and function not in READ_FUNCTIONS:
            locks = self.locks.start()
        block = self.counter.measure()
        return block, block.__enter__(), self.retries.start(), locks

    def stop(self, token: Any) -> dict[str, int]:
        block, counts, retries, locks = token
        block.__exit__(None, None, None)
        result = {**counts.as_dict(), **self.retries.stop(retries)}
        if locks is not None:
            result.update(self.locks.stop(locks))  # type: ignore[union-attr]
        return result


class RetryCounter:
    """Retries after a lost race and give-ups of one backend, per thread, from its
    ``contention_hooks`` (told on the thread of the call that retries)."""

    def __init__(self, backend: Backend | None) -> None:
        self.backend = backend
        self._local = threading.local()

    def attach(self) -> None:
        if self.backend is not None and self._hook not in self.backend.contention_hooks:
            self.backend.contention_hooks.append(self._hook)

    def detach(self) -> None:
        if self.backend is not None and self._hook in self.backend.contention_hooks:
            self.backend.contention_hooks.remove(self._hook)

    def start(self) -> dict[str, int]:
        counts = {"retries": 0, "give_ups": 0}
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        stack.append(counts)
        return counts

    def stop(self, token: dict[str, int]) -> dict[str, int]:
        self._local.stack.remove(token)
        return token

    def _hook(self, event: str) -> None:
        key = {"retry": "retries", "give_up": "give_ups"}[event]
        for counts in getattr(self._local, "stack", None) or ():
            counts[key] += 1


class MagnetoProbe:
    """MagnetoDB counters from the client's request hook, attributed per thread."""

    kind = "magnetodb"

    def __init__(
        self, client: Any, derived_tables: frozenset[str], backend: Backend | None = None
    ) -> None:
        self.client = client
        self.derived = derived_tables
        self.retries = RetryCounter(backend)
        self._local = threading.local()

    def attach(self) -> None:
        if self._hook not in self.client.hooks:
            self.client.hooks.append(self._hook)
        self.retries.attach()

    def detach(self) -> None:
        if self._hook in self.client.hooks:
            self.client.hooks.remove(self._hook)
        self.retries.detach()

    def start(self, function: str | None = None) -> Any:
        counts = dict.fromkeys(MAGNETO_COUNTERS, 0)
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        stack.append(counts)
        return counts, self.retries.start()

    def stop(self, token: Any) -> dict[str, int]:
        counts, retries = token
        self._local.stack.remove(counts)
        counts.update(self.retries.stop(retries))
        return counts

    def _hook(self, stats: Any) -> None:
        stack = getattr(self._local, "stack", None)
        if not stack:
            return
        by_type = f"requests.{stats.operation}"
        dual = sum(n for table, n in stats.written_by_table.items() if table in self.derived)
        for counts in stack:
            counts["requests"] += 1
            counts[by_type] = counts.get(by_type, 0) + 1
            counts["items_read"] += stats.items_read
            counts["items_written"] += stats.items_written
            counts["dual_writes"] += dual
            counts["conditional_check_failed"] += int(stats.conditional_check_failed)
            counts["request_errors"] += int(stats.error_type is not None)
            counts["bytes_sent"] += stats.bytes_sent
            counts["bytes_received"] += stats.bytes_received


#: The probe of each side: SQL statements from its engine's cursor events, MagnetoDB
#: requests from its client's hooks (the design's derived tables count as dual writes).
PROBES: dict[str, Callable[[Any], Probe]] = {
    "sql": lambda backend: SQLProbe(backend.engines, backend),
    "magnetodb": lambda backend: MagnetoProbe(backend.client, backend.derived_tables, backend),
}


def probe_for(backend: Backend) -> Probe | None:
    """The counter probe of a backend's side (None for a side that has none)."""
    make = PROBES.get(backend.side)
    return make(backend) if make is not None else None
