"""Peak memory and CPU of this process and of a server process tree we started.

A scale benchmark must show that its memory is bounded: ``resource.getrusage``'s
``ru_maxrss`` is this process's peak over its whole life, and ``/proc/PID/status``'s
``VmHWM`` is a process's peak since it started or since ``reset_peak`` (Linux
resets it on a write of 5 to ``/proc/PID/clear_refs``), so one command can report
the peak of each step. Elsewhere the figures are None, never made up.
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

_KIB = 1024


def max_rss_bytes() -> int:
    """This process's peak resident set over its life (``ru_maxrss``; KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * _KIB


def _status(pid: int | str, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * _KIB
    except (OSError, ValueError, IndexError):
        return None
    return None


def peak_rss_bytes(pid: int | str = "self") -> int | None:
    """A process's peak resident set since it started or since ``reset_peak`` (VmHWM)."""
    return _status(pid, "VmHWM")


def reset_peak(pid: int | str = "self") -> bool:
    """Restart a process's VmHWM from its current resident set; False where Linux cannot."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a server's supervisor and workers)."""
    import psutil

    try:
        root = psutil.Process(pid)
        return [pid, *(child.pid for child in root.children(recursive=True))]
    except psutil.Error:
        return []


def tree_peak_rss_bytes(pid: int) -> int | None:
    """The sum of the peaks of ``pid`` and its descendants (an upper bound of the tree's
    peak: the processes may peak at different times)."""
    peaks = [peak_rss_bytes(p) for p in tree(pid)]
    known = [p for p in peaks if p is not None]
    return sum(known) if known else None


def tree_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` and its descendants so far."""
    import psutil

    total = 0.0
    try:
        for process in (psutil.Process(p) for p in tree(pid)):
            times = process.cpu_times()
            total += times.user + times.system
    except psutil.Error:
        return None
    return total


@dataclass
class Usage:
    """Wall and CPU seconds of a step, with the peak resident set of this process during it
    (and of a server tree's processes, when one is watched)."""

    wall: float = 0.0
    cpu: float = 0.0
    peak_rss: int | None = None
    server_cpu: float | None = None
    server_peak_rss: int | None = None


class Watch:
    """Measures one step: ``with Watch(server_pid) as usage: ...`` fills ``usage``."""

    def __init__(self, server_pid: int | None = None) -> None:
        self.server_pid = server_pid
        self.usage = Usage()

    def __enter__(self) -> Usage:
        reset_peak()
        if self.server_pid is not None:
            for pid in tree(self.server_pid):
                reset_peak(pid)
            self._server_cpu = tree_cpu_seconds(self.server_pid)
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self.usage

    def __exit__(self, *exc: object) -> None:
        usage = self.usage
        usage.wall = time.perf_counter() - self._wall
        usage.cpu = time.process_time() - self._cpu
        usage.peak_rss = peak_rss_bytes()
        if self.server_pid is not None:
            now = tree_cpu_seconds(self.server_pid)
            if now is not None and self._server_cpu is not None:
                usage.server_cpu = now - self._server_cpu
            usage.server_peak_rss = tree_peak_rss_bytes(self.server_pid)


def mib(size: int | None) -> str:
    """``1,234M`` (MiB), or ``-`` when unknown."""
    return "-" if size is None else f"{size / (1 << 20):,.0f}M"
