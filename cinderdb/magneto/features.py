"""What the MagnetoDB backend can do (``cinderdb.base.Features``), per URL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from cinderdb.base import Features
from cinderdb.magneto.designs import parse_design


def features_for(url: str) -> Features:
    """Over HTTP every call is a request to a server other processes reach too; the
    in-process server is this process's own, on memory, LMDB or an etcd cluster (which
    other processes share; its gRPC calls block a gevent worker, as SQLite's do)."""
    parts = urlsplit(url)
    remote = parts.scheme == "magnetodb"
    query = parse_qs(parts.query)
    parse_design(",".join(query.get("design", [])) or None)  # an unknown one: ValueError
    shared = remote or "etcd" in query
    on_disk = shared or "data_dir" in query
    return Features(multi_process=shared, persistent=on_disk, waits_on_network=remote)
