"""CPU placement for round-trip latency measured on one small machine.

On this 2-core machine a loopback request takes ~30 µs when the server thread
runs on the client's core (the client blocks, the server runs at once) and
~70 µs when it runs on the other one (the wake-up crosses cores). The scheduler
picks either and keeps it for seconds, separately for each server: unpinned,
MagnetoDB and MariaDB measured side by side can land in different regimes, and
their p50 ratio swings from 0.4x to 1.7x between runs of the same code. Pinning
the client to one CPU and every thread that serves it to a chosen CPU puts both
servers in the same regime, so the ratio compares the servers, not the luck.

``cross-core`` (the default on 2+ CPUs) serves on another CPU, as a server on
another host would; ``same-core`` serves on the client's CPU; ``none`` leaves
the scheduler alone. Pinning needs the right to set another process's affinity
(the same user, or root): where it is missing, ``Placement`` says so and pins
nothing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

PLACEMENTS = ("cross-core", "same-core", "none")
_MYSQL_SERVER_NAMES = {"mariadbd", "mysqld"}
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def default_placement() -> str:
    return "cross-core" if len(os.sched_getaffinity(0)) >= 2 else "none"


def process_tree_threads(pid: int) -> list[int]:
    """The thread ids of ``pid`` and of all its descendants (a server and its workers)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            for tid in os.listdir(f"/proc/{current}/task"):
                found.append(int(tid))
                children = Path(f"/proc/{current}/task/{tid}/children").read_text()
                pending.extend(int(child) for child in children.split())
    return found


def mysql_connection_thread(cursor: Any, host: str) -> int | None:
    """The OS thread serving this PyMySQL connection, when the server is local, is
    MariaDB or MySQL, and runs one thread per connection (else None: nothing to pin)."""
    if host not in _LOOPBACK:
        return None
    try:
        cursor.execute("SELECT @@thread_handling")
        if cursor.fetchone()[0] != "one-thread-per-connection":
            return None
        cursor.execute("SELECT TID FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()")
        row = cursor.fetchone()
    except Exception:  # no TID column (MySQL, MariaDB < 10.5): unpinnable, not an error
        return None
    tid = row[0] if row else None
    if not tid:
        return None
    try:
        status = Path(f"/proc/{tid}/status").read_text()
        tgid = next(line.split()[1] for line in status.splitlines() if line.startswith("Tgid:"))
        if Path(f"/proc/{tgid}/comm").read_text().strip() not in _MYSQL_SERVER_NAMES:
            return None
    except (OSError, StopIteration):
        return None
    return int(tid)


class Placement:
    """Pins this process (the client) and the given server threads; restores on exit."""

    def __init__(
        self, mode: str, server_threads: Iterable[int], problem: str | None = None
    ) -> None:
        """``problem``: why the servers cannot all be pinned; then nothing is (one server
        pinned and the other not would skew their ratio)."""
        if mode not in PLACEMENTS:
            raise ValueError(f"placement must be one of {', '.join(PLACEMENTS)}, not {mode!r}")
        self.mode = mode
        self.server_threads = list(server_threads)
        self.problem = problem
        self._saved: dict[int, set[int]] = {}

    def describe(self) -> str:
        if self.mode == "none":
            return "unpinned (ratios depend on where the scheduler puts each server)"
        if self.problem:
            return f"unpinned: {self.problem}"
        client, server = self._cpus()
        return f"{self.mode}: client on CPU {client}, server threads on CPU {server}"

    def _cpus(self) -> tuple[int, int]:
        allowed = sorted(os.sched_getaffinity(0) if not self._saved else self._saved[0])
        client = allowed[0]
        return client, (allowed[1] if self.mode == "cross-core" else client)

    def __enter__(self) -> Placement:
        if self.mode == "none" or self.problem:
            return self
        if self.mode == "cross-core" and len(os.sched_getaffinity(0)) < 2:
            self.problem = "cross-core needs 2 CPUs"
            return self
        client, server = self._cpus()
        try:
            self._pin(0, client)
            for tid in self.server_threads:
                self._pin(tid, server)
        except PermissionError as error:
            self._restore()
            self.problem = f"no right to set a server's CPU affinity ({error.strerror})"
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore()

    def _pin(self, tid: int, cpu: int) -> None:
        try:
            self._saved.setdefault(tid, os.sched_getaffinity(tid))
            os.sched_setaffinity(tid, {cpu})
        except ProcessLookupError:  # a thread that ended meanwhile
            self._saved.pop(tid, None)

    def _restore(self) -> None:
        for tid, cpus in self._saved.items():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.sched_setaffinity(tid, cpus)
        self._saved.clear()
