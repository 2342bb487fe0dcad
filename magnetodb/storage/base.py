"""The storage engine interface: ordered bytes -> bytes with transactions.

The table and item semantics (:mod:`magnetodb.storage.tables`) are written once
over this interface; an engine only has to give serializable write
transactions and consistent read snapshots over an ordered key space.

Write bodies run through :meth:`Engine.transact`, so an engine whose write
transactions are optimistic (etcd: read, then commit if nothing read has
changed) can run a body again after a conflict; engines that lock (LMDB,
memory) run it once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TypeVar

T = TypeVar("T")

#: How the full health check states an engine's ``durable_commits``.
DURABILITY = {True: "fsync per commit", False: "no fsync per commit"}


class Txn(ABC):
    """One transaction; a write transaction is atomic and isolated from every other."""

    @abstractmethod
    def get(self, key: bytes) -> bytes | None:
        """The value stored under ``key``, or None."""

    def get_many(self, keys: list[bytes]) -> list[bytes | None]:
        """The values of ``keys`` (None where absent), in order: one request on a
        networked engine (etcd), a loop of gets on a local one."""
        return [self.get(key) for key in keys]

    @abstractmethod
    def put(self, key: bytes, value: bytes) -> None:
        """Store ``value`` under ``key`` (write transactions only)."""

    @abstractmethod
    def delete(self, key: bytes) -> None:
        """Remove ``key`` if it exists (write transactions only).

        No answer whether it existed: an optimistic engine would have to read the
        key for it, and then conflict with every writer of it."""

    @abstractmethod
    def scan(
        self, start: bytes, stop: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Pairs with ``start <= key < stop`` in key order (descending if ``reverse``)."""

    def delete_range(self, start: bytes, stop: bytes) -> None:
        """Remove every key with ``start <= key < stop`` (write transactions only)."""
        for key in [k for k, _ in self.scan(start, stop)]:
            self.delete(key)


class Engine(ABC):
    """An ordered, transactional key-value store."""

    name = "engine"
    #: can several processes open the same store at once?
    multi_process = False
    #: does every commit reach stable storage (an fsync) before it is acknowledged?
    durable_commits = False

    @abstractmethod
    def read(self) -> AbstractContextManager[Txn]:
        """A read-only snapshot transaction."""

    @abstractmethod
    def write(self) -> AbstractContextManager[Txn]:
        """A write transaction: committed when the block ends normally, else rolled back."""

    def transact(self, body: Callable[[Txn], T]) -> T:
        """Run ``body`` in a write transaction and commit; returns what ``body`` returns.

        ``body`` may run more than once (an optimistic engine retries it after a
        conflict), so it must not act outside the transaction. A body that raises
        commits nothing.
        """
        with self.write() as txn:
            return body(txn)

    def describe(self) -> str:
        """One line for the server's start log."""
        return self.name

    def nodes(self) -> list[str]:
        """The addresses of a replicated engine's nodes (the full health check names them
        on ``&engine=``); [] for a store on this server's own disk."""
        return []

    @abstractmethod
    def close(self) -> None:
        """Release the store."""

    def check(self) -> bool:
        """Health check: can a read transaction be opened?"""
        with self.read() as txn:
            txn.get(b"\x00healthcheck")
        return True


class EngineError(Exception):
    """A storage failure that is not the request's fault (disk full, map full, I/O)."""


class EngineLimitError(EngineError):
    """A write larger than one engine transaction may be (etcd's ``--max-request-bytes``).

    The request's fault, given the engine: the server answers 413, not 500.
    """

    def __init__(self, size: int, limit: int, what: str) -> None:
        super().__init__(
            f"The write needs {size} bytes in one storage transaction; the {what} takes at "
            f"most {limit}"
        )
        self.size = size
        self.limit = limit
