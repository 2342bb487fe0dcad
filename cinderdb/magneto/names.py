"""Unique live names through an index table: ``name -> id`` (volume types, QoS specs).

MySQL has no unique key on these names; Liberty checks "no live row has this
name" and inserts, without a lock, so two racing creates can both win. Here the
index entry *is* the lock: a conditional put-if-absent claims a name
atomically, before the base item is written (create) or renamed (update).

An entry can outlive what it names: a crash between the claim and the base
write, a crash between a rename or destroy and the entry's removal. The base
item decides: an entry is *confirmed* when its base item is live and carries
that name. An unconfirmed entry is *stale* (and may be taken over with a put
conditional on its old owner) when its base item is deleted — a deleted type or
spec never comes back — or when the entry is older than ``STALE_CLAIM_SECONDS``
(a create or rename in flight holds an unconfirmed entry for milliseconds).
Readers always verify the base item, so a stale entry is never returned.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cinderdb.magneto.items import Wire, from_item, s
from cinderdb.records import utcnow

if TYPE_CHECKING:
    from cinderdb.magneto.core import MagnetoCore

#: Age after which an unconfirmed name entry counts as a crash's leftover.
STALE_CLAIM_SECONDS = 60
_CLAIM_ATTEMPTS = 8
_FORMAT = "%Y-%m-%dT%H:%M:%S"
_EPOCH = dt.datetime(1970, 1, 1)


@dataclass(frozen=True)
class NameIndex:
    """An index table ``name -> <id_attribute>`` over the base table ``base``."""

    table: str
    id_attribute: str
    base: str


def confirmed(item: Wire | None, name: str) -> bool:
    """Whether a base item is live and carries ``name``."""
    return (
        item is not None
        and item.get("deleted", {}).get("N", "0") == "0"
        and item.get("name", {}).get("S") == name
    )


def _stale(entry: Wire, base: Wire | None, now: dt.datetime) -> bool:
    if base is not None and base.get("deleted", {}).get("N", "0") != "0":
        return True
    stamp = entry.get("created_at", {}).get("S")
    if stamp is None:
        return True
    age = now - dt.datetime.strptime(stamp, _FORMAT)
    return age.total_seconds() >= STALE_CLAIM_SECONDS


def claim(core: MagnetoCore, index: NameIndex, name: str, owner: str) -> bool:
    """Make ``name`` point at ``owner``; False when a live item (or a claim in flight) holds it.

    One conditional put when the name is free; on a conflict the entry and the
    item it names are read to decide whether it is held or stale.
    """
    now = utcnow()
    entry_item = {
        "name": s(name),
        index.id_attribute: s(owner),
        "created_at": s(now.strftime(_FORMAT)),
    }
    absent = {"name": {"exists": False}}
    for _ in range(_CLAIM_ATTEMPTS):
        if core.put_if(index.table, entry_item, absent):
            return True
        entry = core.get(index.table, name)
        if entry is None:
            continue  # released meanwhile: try the put-if-absent again
        holder = entry[index.id_attribute]["S"]
        base = core.get(index.base, holder)
        if confirmed(base, name):
            return False  # held by a live item of that name (``owner`` itself included)
        if holder == owner:
            return True  # our own claim (an earlier attempt, or a crash's leftover)
        if not _stale(entry, base, now):
            return False
        if core.put_if(index.table, entry_item, {index.id_attribute: {"value": s(holder)}}):
            return True
    return False


def release(core: MagnetoCore, index: NameIndex, name: str, owner: str) -> None:
    """Remove ``name``'s entry if it still points at ``owner`` (a no-op otherwise)."""
    core.delete_if(index.table, (name,), {index.id_attribute: {"value": s(owner)}})


def holder(core: MagnetoCore, index: NameIndex, name: str) -> str | None:
    """The id the entry of ``name`` points at (unverified), or None."""
    entry = core.get(index.table, name)
    return None if entry is None else entry[index.id_attribute]["S"]


def by_name_order(item: Wire, kind: str) -> tuple[bool, bool, float, str]:
    """Sort key among items sharing a name: live first, then the newest ``created_at``
    (NULL last), then the smallest id — the order the SQL backend's by-name reads use."""
    record = from_item(kind, item)
    created = record["created_at"]
    age = 0.0 if created is None else -(created - _EPOCH).total_seconds()
    return (bool(record["deleted"]), created is None, age, record["id"])
