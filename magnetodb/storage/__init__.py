"""Storage: engines (LMDB, memory, etcd) behind one interface, and the table/item layer."""

from __future__ import annotations

from magnetodb.storage.base import Engine, EngineError, EngineLimitError, Txn
from magnetodb.storage.tables import Storage

ENGINES = ("lmdb", "memory", "etcd")


def open_engine(engine: str = "memory", data_dir: str | None = None, **options: object) -> Engine:
    """An engine by name: ``memory`` (no data_dir), ``lmdb`` (needs data_dir) or ``etcd``
    (needs ``endpoints``: HOST:PORT of the cluster's members)."""
    if engine == "memory":
        from magnetodb.storage.memory import MemoryEngine

        return MemoryEngine()
    if engine == "lmdb":
        if not data_dir:
            raise ValueError("the lmdb engine needs a data_dir")
        from magnetodb.storage.lmdb import LmdbEngine

        return LmdbEngine(data_dir, **options)  # type: ignore[arg-type]
    if engine == "etcd":
        endpoints = options.pop("endpoints", None)
        if not endpoints:
            raise ValueError("the etcd engine needs endpoints (HOST:PORT,HOST:PORT,...)")
        from magnetodb.storage.etcd import EtcdEngine

        return EtcdEngine(endpoints, **options)  # type: ignore[arg-type]
    raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")


def open_storage(engine: str = "memory", data_dir: str | None = None, **options: object) -> Storage:
    """The table/item layer over a named engine."""
    max_item_bytes = options.pop("max_item_bytes", None)
    eng = open_engine(engine, data_dir, **options)
    if max_item_bytes is None:
        return Storage(eng)
    return Storage(eng, max_item_bytes=int(max_item_bytes))  # type: ignore[call-overload]


__all__ = [
    "ENGINES",
    "Engine",
    "EngineError",
    "EngineLimitError",
    "Storage",
    "Txn",
    "open_engine",
    "open_storage",
]
