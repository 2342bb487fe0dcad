"""The harness's locks are the interpreter's own, whether or not gevent patched threading
(tests of locust workloads patch it in their process)."""

from __future__ import annotations

import time

from gevent.monkey import get_original

from bench.locks import os_lock, os_rlock

#: a real OS thread, even after monkey-patching
start_os_thread = get_original("_thread", "start_new_thread")


def test_os_lock_excludes_and_is_not_reentrant():
    lock = os_lock()
    assert type(lock).__module__ == "_thread"
    assert lock.acquire(blocking=False)
    assert not lock.acquire(blocking=False)
    lock.release()


def test_os_rlock_is_reentrant_and_excludes_other_os_threads():
    lock = os_rlock()
    assert type(lock).__module__ == "_thread"
    got: list[bool] = []
    with lock, lock:
        start_os_thread(lambda: got.append(lock.acquire(blocking=False)), ())
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.001)
        assert got == [False]
    assert lock.acquire(blocking=False)
    lock.release()
