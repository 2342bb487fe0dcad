"""The largest item of each inverted and index table, against MagnetoDB's item-size limit.

The seed's inverted tables hold one item per property with the set of every
volume id that has it, so an item grows with the dataset; MagnetoDB refuses an
item past ``DEFAULT_MAX_ITEM_BYTES`` (16 MiB). Items are read back through the
client's paged scan and counted as the server counts them before it stores one
(``magnetodb.storage.tables.Storage._encode_item``: the length of the item's
typed wire JSON, compact, as orjson writes it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from cinderdb.magneto.core import open_client
from cinderdb.magneto.lookups import property_of
from cinderdb.magneto.tables import TABLES
from magnetodb.storage.tables import DEFAULT_MAX_ITEM_BYTES
from validators.reader import PAGE_SIZE

#: The seed's most crowded inverted item: every volume that is not read-only.
WATCHED = ("volume_admin_metadata", property_of("readonly", "False"))


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size as the server counts it against its limit."""
    return len(orjson.dumps(item))


def _items(client: Any, table: str) -> Iterator[dict[str, Any]]:
    start = None
    while True:
        answer = client.scan(table, limit=PAGE_SIZE, exclusive_start_key=start)
        yield from answer.get("items", [])
        start = answer.get("last_evaluated_key")
        if not start:
            return


def _key_text(item: dict[str, Any], hash_key: str) -> str:
    ((_, value),) = item[hash_key].items()
    return str(value)


def largest_items(url: str) -> dict[str, Any]:
    """Per inverted or index table of the MagnetoDB backend at ``url``: items, the largest
    item's bytes and hash key, and its share of the limit; plus the watched item's bytes."""
    tables: dict[str, dict[str, Any]] = {}
    watched: int | None = None
    client = open_client(url)
    try:
        for spec in TABLES:
            if spec.role not in ("inverted", "index"):
                continue
            row = {"role": spec.role, "items": 0, "largest_bytes": 0, "largest_key": None}
            for item in _items(client, spec.name):
                size = item_bytes(item)
                row["items"] += 1
                key = _key_text(item, spec.hash_key)
                if size > row["largest_bytes"]:
                    row["largest_bytes"], row["largest_key"] = size, key
                if (spec.name, key) == WATCHED:
                    watched = size
            row["share_of_limit"] = round(row["largest_bytes"] / DEFAULT_MAX_ITEM_BYTES, 6)
            tables[spec.name] = row
    finally:
        client.close()
    return {
        "limit_bytes": DEFAULT_MAX_ITEM_BYTES,
        "tables": tables,
        "watched": {"table": WATCHED[0], "property": WATCHED[1], "bytes": watched},
    }
