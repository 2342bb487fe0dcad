"""Where a call's time goes: client CPU, the store's own time, and the rest.

``Instrumented`` measures, around every DB API call, the calling thread's CPU
time (``time.thread_time_ns``: ORM hydration, JSON, the design's Python, the
driver) and, for a MagnetoDB backend, the time the server reported spending on
the call's requests (the ``X-Magnetodb-Handling-Time`` header, carried by the
client's ``RequestStats.handling_us``). The rest of the service time is network
and queueing: ``service - client CPU - store``.

Under gevent's monkey-patching (locust), greenlets share the OS thread: a
call's thread CPU time would include whatever other users ran while it waited
on the network, so no client CPU is recorded there (``cpu_clock`` is None).

What each side can report as *store* time:

- MagnetoDB: the server's handling time, per request, summed over the call.
- SQLite: nothing. The store runs in the calling thread, so its time *is*
  client CPU.
- MariaDB: nothing the client can separate from the network without
  ``performance_schema`` (statement timers live in the server's tables, not in
  the protocol's answers). The split is client CPU against the rest.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from cinderdb.base import Backend


class StoreClock:
    """Sums the store's reported handling time of the calling thread's requests.

    A client hook, as the counter probes are (``bench.measure.counters``), kept
    apart from them: time is a measurement, not a counter the gate compares.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self._local = threading.local()

    def attach(self) -> None:
        if self._hook not in self.client.hooks:
            self.client.hooks.append(self._hook)

    def detach(self) -> None:
        if self._hook in self.client.hooks:
            self.client.hooks.remove(self._hook)

    def start(self) -> list[int]:
        """A new sum for this thread's call (nested calls add to every open sum)."""
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        total = [0, 0]  # ns reported, requests that reported
        stack.append(total)
        return total

    def stop(self, token: list[int]) -> int | None:
        """ns the store reported for the call's requests (None: no request reported)."""
        self._local.stack.remove(token)
        return token[0] if token[1] else None

    def _hook(self, stats: Any) -> None:
        stack = getattr(self._local, "stack", None)
        if not stack or stats.handling_us is None:
            return
        for total in stack:
            total[0] += stats.handling_us * 1000
            total[1] += 1


def cpu_clock() -> Callable[[], int] | None:
    """The per-call client CPU clock: the calling thread's CPU time, or None when gevent
    has patched threads (a thread then runs many calls at once)."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        return None
    return time.thread_time_ns


#: The sides whose store reports its own time per request: MagnetoDB, through its client's hooks.
CLOCKS: dict[str, Callable[[Any], StoreClock]] = {
    "magnetodb": lambda backend: StoreClock(backend.client),
}


def store_clock_for(backend: Backend) -> StoreClock | None:
    """The store clock of a backend whose store reports its time (None for SQL)."""
    make = CLOCKS.get(backend.side)
    return make(backend) if make is not None else None
