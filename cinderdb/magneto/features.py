"""What the MagnetoDB backend can do (``cinderdb.base.Features``), per URL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from cinderdb.base import Features


def features_for(url: str) -> Features:
    """Over HTTP every call is a request to a server other processes reach too; the
    in-process server is this process's own (in memory unless it names a data_dir)."""
    parts = urlsplit(url)
    remote = parts.scheme == "magnetodb"
    on_disk = remote or "data_dir" in parse_qs(parts.query)
    return Features(multi_process=remote, persistent=on_disk, waits_on_network=remote)
