"""In-memory engine over a SortedDict, for tests and the in-process client.

One lock serializes every transaction, so a write transaction sees no other
write and readers never see half a write. Writes go to an undo log and are
rolled back if the block raises.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice

from sortedcontainers import SortedDict

from magnetodb.storage.base import Engine, Txn

_MISSING = object()


class MemoryTxn(Txn):
    def __init__(self, data: SortedDict, writable: bool) -> None:
        self._data = data
        self._writable = writable
        self._undo: list[tuple[bytes, object]] = []

    def get(self, key: bytes) -> bytes | None:
        return self._data.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        if not self._writable:
            raise PermissionError("read-only transaction")
        self._undo.append((key, self._data.get(key, _MISSING)))
        self._data[key] = bytes(value)

    def delete(self, key: bytes) -> None:
        if not self._writable:
            raise PermissionError("read-only transaction")
        old = self._data.pop(key, _MISSING)
        if old is not _MISSING:
            self._undo.append((key, old))

    def scan(
        self, start: bytes, stop: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        data = self._data
        # Materialize in small chunks so a caller deleting while iterating stays safe.
        keys = data.irange(start, stop, inclusive=(True, False), reverse=reverse)
        while True:
            chunk = list(islice(keys, 256))
            for k in chunk:
                v = data.get(k)
                if v is not None:
                    yield k, v
            if len(chunk) < 256:
                return
            last = chunk[-1]
            if reverse:
                keys = data.irange(start, last, inclusive=(True, False), reverse=True)
            else:
                keys = data.irange(last, stop, inclusive=(False, False))

    def rollback(self) -> None:
        for key, old in reversed(self._undo):
            if old is _MISSING:
                self._data.pop(key, None)
            else:
                self._data[key] = old
        self._undo.clear()


class MemoryEngine(Engine):
    name = "memory"
    multi_process = False

    def __init__(self) -> None:
        self._data: SortedDict = SortedDict()
        self._lock = threading.RLock()

    @contextmanager
    def read(self) -> Iterator[Txn]:
        with self._lock:
            yield MemoryTxn(self._data, False)

    @contextmanager
    def write(self) -> Iterator[Txn]:
        with self._lock:
            txn = MemoryTxn(self._data, True)
            try:
                yield txn
            except BaseException:
                txn.rollback()
                raise

    def close(self) -> None:
        with self._lock:
            self._data = SortedDict()
