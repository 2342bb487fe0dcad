"""LMDB engine: durable, ordered, ACID, shared by several server processes.

LMDB serializes write transactions with a cross-process mutex and gives every
reader a consistent snapshot, so a conditional write (read, check, write) in
one write transaction is atomic across all worker processes.

Durability: with ``sync=False`` (the default) a commit reaches the OS page cache
but is not fsync'ed, so an acknowledged write survives ``kill -9`` of any or all
server processes, but not a power loss or kernel crash; ``sync=True`` fsyncs
every commit (see magnetodb/README.md for the measured cost).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import lmdb

from magnetodb.storage.base import Engine, EngineError, Txn

DEFAULT_MAP_SIZE = 1 << 36  # 64 GiB of address space; the file grows only as used


class LmdbTxn(Txn):
    __slots__ = ("_txn",)

    def __init__(self, txn: Any) -> None:
        self._txn = txn

    def get(self, key: bytes) -> bytes | None:
        return self._txn.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        self._txn.put(key, value)

    def delete(self, key: bytes) -> None:
        self._txn.delete(key)

    def scan(
        self, start: bytes, stop: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        cur = self._txn.cursor()
        if not reverse:
            if not cur.set_range(start):
                return
            for k, v in cur:
                if k >= stop:
                    return
                yield k, v
            return
        ok = cur.prev() if cur.set_range(stop) else cur.last()
        if not ok:
            return
        for k, v in cur.iterprev():
            if k < start:
                return
            yield k, v


class _ReadCtx:
    __slots__ = ("_env", "_txn")

    def __init__(self, env: Any) -> None:
        self._env = env

    def __enter__(self) -> LmdbTxn:
        self._txn = self._env.begin()
        return LmdbTxn(self._txn)

    def __exit__(self, *exc: object) -> None:
        self._txn.abort()


class _WriteCtx:
    __slots__ = ("_env", "_txn")

    def __init__(self, env: Any) -> None:
        self._env = env

    def __enter__(self) -> LmdbTxn:
        self._txn = self._env.begin(write=True)
        return LmdbTxn(self._txn)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            try:
                self._txn.commit()
            except lmdb.Error as err:
                raise EngineError(f"LMDB commit failed: {err}") from err
        else:
            self._txn.abort()
            if isinstance(exc, lmdb.Error):
                raise EngineError(f"LMDB error: {exc}") from exc


class LmdbEngine(Engine):
    name = "lmdb"
    multi_process = True

    def __init__(
        self,
        path: str,
        *,
        sync: bool = False,
        map_size: int = DEFAULT_MAP_SIZE,
        max_readers: int = 1024,
    ) -> None:
        os.makedirs(path, exist_ok=True)
        self.path = path
        self.sync = sync
        self.durable_commits = sync
        try:
            self.env = lmdb.open(
                path,
                map_size=map_size,
                sync=sync,
                metasync=sync,
                max_dbs=0,
                max_readers=max_readers,
                readahead=False,
                lock=True,
            )
        except lmdb.Error as exc:
            raise EngineError(f"LMDB cannot open {path}: {exc}") from exc
        self.env.reader_check()  # free slots left by processes killed earlier

    def describe(self) -> str:
        return f"lmdb data_dir={self.path} sync={self.sync}"

    def read(self) -> _ReadCtx:
        return _ReadCtx(self.env)

    def write(self) -> _WriteCtx:
        return _WriteCtx(self.env)

    def close(self) -> None:
        self.env.close()
