"""Locks for the harness's short critical sections: the interpreter's own, even under gevent.

locust monkey-patches ``threading`` so that locks cooperate with greenlets;
those locks are written in Python and cost about a microsecond per acquire,
several times per operation (recorder, operation log, live view, key
generators): an eighth of the harness's cost per operation. The sections they
guard only compute, never wait on I/O, so a greenlet cannot switch while
holding one: the OS lock excludes the other greenlets of its thread just as
well, and the other threads as always (``cinderbench run``'s workers).

Do not hold one of these across a call that may block (a backend call, a
socket): under gevent, the plain lock would then block every greenlet of the
thread, and the reentrant one, whose owner is the OS thread, would let any of
them in.
"""

from __future__ import annotations

from typing import Any

from gevent.monkey import get_original  # gevent comes with locust; importing it patches nothing


def os_lock() -> Any:
    """A non-reentrant OS lock (``_thread.allocate_lock`` before any monkey-patching)."""
    return get_original("_thread", "allocate_lock")()


def os_rlock() -> Any:
    """A reentrant OS lock (the C ``_thread.RLock``)."""
    return get_original("_thread", "RLock")()
