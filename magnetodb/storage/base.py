"""The storage engine interface: ordered bytes -> bytes with transactions.

The table and item semantics (:mod:`magnetodb.storage.tables`) are written once
over this interface; an engine only has to give serializable write
transactions and consistent read snapshots over an ordered key space.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager


class Txn(ABC):
    """One transaction; a write transaction is atomic and isolated from every other."""

    @abstractmethod
    def get(self, key: bytes) -> bytes | None:
        """The value stored under ``key``, or None."""

    @abstractmethod
    def put(self, key: bytes, value: bytes) -> None:
        """Store ``value`` under ``key`` (write transactions only)."""

    @abstractmethod
    def delete(self, key: bytes) -> bool:
        """Remove ``key``; True if it existed (write transactions only)."""

    @abstractmethod
    def scan(
        self, start: bytes, stop: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Pairs with ``start <= key < stop`` in key order (descending if ``reverse``)."""


class Engine(ABC):
    """An ordered, transactional key-value store."""

    name = "engine"
    #: can several processes open the same store at once?
    multi_process = False

    @abstractmethod
    def read(self) -> AbstractContextManager[Txn]:
        """A read-only snapshot transaction."""

    @abstractmethod
    def write(self) -> AbstractContextManager[Txn]:
        """A write transaction: committed when the block ends normally, else rolled back."""

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
