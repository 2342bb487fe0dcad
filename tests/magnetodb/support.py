"""What the MagnetoDB server tests import: wire values, a table maker, fresh project ids."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from magnetodb.client import MagnetoClient

_counter = itertools.count()


def new_project() -> str:
    """A project id no other test uses (tests share one server)."""
    return f"p{uuid.uuid4().hex[:12]}{next(_counter)}"


def S(v: str) -> dict[str, str]:
    return {"S": v}


def N(v: Any) -> dict[str, str]:
    return {"N": str(v)}


def make_table(
    client: MagnetoClient,
    name: str = "tbl",
    hash_key: tuple[str, str] = ("h", "S"),
    range_key: tuple[str, str] | None = ("r", "S"),
    extra: dict[str, str] | None = None,
    lsis: list[tuple[str, str, dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Create a table: ``lsis`` is [(index_name, range attribute, projection)]."""
    defs = {hash_key[0]: hash_key[1]}
    ks = [{"attribute_name": hash_key[0], "key_type": "HASH"}]
    if range_key:
        defs[range_key[0]] = range_key[1]
        ks.append({"attribute_name": range_key[0], "key_type": "RANGE"})
    defs.update(extra or {})
    idx = None
    if lsis:
        idx = [
            {
                "index_name": iname,
                "key_schema": [
                    {"attribute_name": hash_key[0], "key_type": "HASH"},
                    {"attribute_name": attr, "key_type": "RANGE"},
                ],
                "projection": proj,
            }
            for iname, attr, proj in lsis
        ]
    return client.create_table(
        name, [{"attribute_name": k, "attribute_type": t} for k, t in defs.items()], ks, idx
    )


def failing_second_write(monkeypatch: Any) -> tuple[MagnetoClient, Any, Any]:
    """An in-process client over a memory store whose engine fails its second write
    transaction (injected: "disk full"), with a table ``one``; also the storage and its
    real ``write``, to put back."""
    from magnetodb.client import connect_inproc
    from magnetodb.storage import open_storage
    from magnetodb.storage.base import EngineError

    storage = open_storage("memory")
    client = connect_inproc("p1", storage=storage)
    make_table(client, "one", range_key=None)
    real_write = storage.engine.write
    calls = {"n": 0}

    def flaky_write():  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise EngineError("disk full (injected)")
        return real_write()

    monkeypatch.setattr(storage.engine, "write", flaky_write)
    return client, storage, real_write
