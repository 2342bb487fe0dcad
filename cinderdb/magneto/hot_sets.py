"""Option ``split_hot_sets``: the volume metadata inverted sets split into shards.

In the seed one item per property holds every volume id with that pair, so a
common pair's item grows with the table (``["readonly", "False"]`` in
``volume_admin_metadata``: 60% of the volume ids, 2.4 MB at 100,000 volumes)
and every write that adds or removes one id rewrites all of it. With this
option each property of ``volume_metadata`` and ``volume_admin_metadata`` is
kept as ``SHARDS`` items, ``property + "#" + NN``, a volume id going to shard
``NN`` = the first 32 bits of its SHA-1 modulo ``SHARDS`` (the same in every
process, so writers, readers, the bulk load and the validators agree). A write
of one id rewrites one shard: 1/16 of the item (the hottest shard is ~150 KB at
100,000 volumes; 16 shards keep a property under MagnetoDB's documented 64 KB
item limit up to ~26,000 holders). A reader of a pair asks for its 16 shard
keys (in the same ``batch_get_item`` as before: 32 keys per pair and table
pair). Each shard item keeps ``key`` and ``value`` as the seed's does, so a scan
or the validators read the pair from it. A shard emptied by a removal stays (an
empty item no reader minds, at most ``SHARDS`` per pair ever held): deleting it
would make the writes a call sends depend on which other volumes hash to that
shard.

The glance table stays whole: its sets are read by scans of every property
(option ``glance_map`` moves those reads to the volumes), and its items are
written by copies, not by attaches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

#: The option's name (``designs.OPTIONS``).
SPLIT_OPTION = "split_hot_sets"
#: The inverted tables whose properties are split.
SPLIT_TABLES: frozenset[str] = frozenset({"volume_metadata", "volume_admin_metadata"})
#: The functions whose request plan the option changes (they add or remove ids, or read a
#: pair's holders).
SPLIT_FUNCTIONS: tuple[str, ...] = (
    "volume_create",
    "volume_update",
    "volume_destroy",
    "volume_get_all",
    "volume_get_all_by_project",
    "volume_metadata_update",
    "volume_metadata_delete",
    "volume_admin_metadata_update",
    "volume_admin_metadata_delete",
)
#: Shards per property.
SHARDS = 16
#: Between a property and its shard number (a property is a JSON array: ends with "]").
MARK = "#"


def shard_of(item_id: str) -> int:
    digest = hashlib.sha1(item_id.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:4], "big") % SHARDS


def shard_property(prop: str, item_id: str) -> str:
    """The key of the shard of ``prop`` that holds ``item_id``."""
    return f"{prop}{MARK}{shard_of(item_id):02d}"


def all_shards(prop: str) -> list[str]:
    """The keys of every shard of ``prop`` (a reader asks for all of them)."""
    return [f"{prop}{MARK}{n:02d}" for n in range(SHARDS)]


def base_property(key: str) -> str:
    """The property a shard key belongs to (a whole property is its own)."""
    head, mark, tail = key.rpartition(MARK)
    if mark and head.endswith("]") and len(tail) == 2 and tail.isdigit():
        return head
    return key


def split(prop: str, ids: Iterable[str]) -> dict[str, list[str]]:
    """``ids`` grouped by the shard of ``prop`` each one goes to."""
    groups: dict[str, list[str]] = {}
    for item_id in sorted(set(ids)):
        groups.setdefault(shard_property(prop, item_id), []).append(item_id)
    return groups
