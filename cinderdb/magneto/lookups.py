"""What the volume-side areas share: visibility rules, the volume and snapshot reads,
index-table entries and the inverted metadata tables.

Liberty's ``_volume_get`` is one SELECT joining seven tables; here it is the
volume's ``get_item`` plus, when the volume names a type or a group, one
``batch_get_item`` for both (the denormalized ``volume_type_name`` alone cannot
fill the record's nested type). Writes keep the second copies in the order the
design document gives: an index entry or an inverted-set id is written before
the base item that makes it true, and removed after the base item stopped
making it true, so a crash leaves only extra (orphan) entries, which every
reader checks against the base item.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from cinderdb import exception
from cinderdb.context import RequestContext
from cinderdb.magneto import journal
from cinderdb.magneto.core import MagnetoCore, applied, key_of
from cinderdb.magneto.entries import (
    INDEX_RULE_BY_TABLE,
    INVERTED_RULES,
    Entry,
    host_base,
    index_entries,
    rules_for,
)
from cinderdb.magneto.hot_sets import SPLIT_OPTION, SPLIT_TABLES, all_shards, split
from cinderdb.magneto.items import Wire, from_item, n, s, ssm, string_map
from cinderdb.magneto.journal import Undo
from cinderdb.magneto.paging import UNMATCHABLE, metadata_filter_value
from cinderdb.magneto.shapes import volume_record
from cinderdb.magneto.sorted_index import SORTED_OPTION, SORTED_RULES
from cinderdb.magneto.tables import NULL_KEY
from cinderdb.records import Record

__all__ = ["NULL_KEY", "Entry", "host_base", "index_entries"]

#: (map attribute, inverted table) of the two volume metadata kinds.
USER_METADATA = ("volume_metadata", "volume_metadata")
ADMIN_METADATA = ("volume_admin_metadata", "volume_admin_metadata")
#: Every write to a volume bumps its version, so versioned writers see any change.
VERSION_BUMP = {"version": {"action": "ADD", "value": {"N": "1"}}}

#: A metadata pair.
Pair = tuple[str, str]

#: The list indexes of volumes and snapshots of the seed's design (``tables.DUAL_WRITES``);
#: a backend uses its own design's (``MagnetoCore.volume_indexes``).
VOLUME_INDEXES = rules_for("volumes")
SNAPSHOT_INDEXES = rules_for("snapshots")
#: Volume columns that have an index table.
INDEXED = frozenset(rule.column for rule in VOLUME_INDEXES)


def index_hash(table: str, value: Any) -> str | None:
    """The hash value an entry of ``table`` for ``value`` goes under (None: no entry)."""
    return INDEX_RULE_BY_TABLE[table].hash_of(value)


def property_of(key: str, value: str) -> str:
    """The inverted tables' hash key for a key:value pair: the JSON pair ``["key", "value"]``
    (unambiguous for any key and value; a long one is stored in digest form: ``keys.py``)."""
    return orjson.dumps([key, value]).decode()


def pair_changes(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[set[Pair], set[Pair]]:
    """(pairs the new map adds, pairs it drops) between two metadata maps."""
    added = {(k, v) for k, v in new.items() if old.get(k) != v}
    removed = {(k, v) for k, v in old.items() if new.get(k) != v}
    return added, removed


def map_update(values: Mapping[str, str]) -> Wire:
    """PUT a whole metadata map (DELETE the attribute when empty: absent means empty)."""
    return {"action": "PUT", "value": ssm(values)} if values else {"action": "DELETE"}


def pairs_in_map(item: Mapping[str, Wire], table: str, pair: Pair) -> bool:
    """Whether the item's map for an inverted table holds the pair (so its id must stay)."""
    attribute = USER_METADATA[0] if table == USER_METADATA[1] else ADMIN_METADATA[0]
    return string_map(item, attribute).get(pair[0]) == pair[1]


def deleted_of(item: Mapping[str, Wire]) -> bool:
    typed = item.get("deleted")
    return typed is not None and typed["N"] != "0"


def visible(context: RequestContext, item: Mapping[str, Wire] | None, *, scoped: bool) -> bool:
    """Liberty's ``model_query`` on one item: ``read_deleted``, and (``scoped``) the user's
    project."""
    if item is None:
        return False
    deleted = deleted_of(item)
    if context.read_deleted == "no" and deleted:
        return False
    if context.read_deleted == "only" and not deleted:
        return False
    if scoped and context.is_user_context:
        project = item.get("project_id")
        return project is not None and project["S"] == context.project_id
    return True


def visibility_expected(context: RequestContext, *, scoped: bool) -> Wire:
    """``expected`` conditions that hold exactly when ``visible`` would: a write guarded by
    them needs no read to check that the item exists and may be touched."""
    expected: Wire = {"id": {"exists": True}}
    if context.read_deleted == "no":
        expected["deleted"] = {"value": n(0)}
    elif context.read_deleted == "only":
        expected["deleted"] = {"value": n(1)}
    if scoped and context.is_user_context:
        expected["project_id"] = {"value": s(context.project_id or "")}
    return expected


def pairs_in(item: Mapping[str, Wire], key: str, value: str) -> bool:
    """Whether a volume item holds key:value as user or admin metadata (the metadata filter's
    rule, checked on the base item so an orphan inverted id never matches)."""
    return (
        string_map(item, "volume_metadata").get(key) == value
        or string_map(item, "volume_admin_metadata").get(key) == value
    )


class Lookups(MagnetoCore):
    """Shared reads and second-copy writes of the volume-side areas."""

    def marker_record(
        self,
        context: RequestContext,
        kind: str,
        marker: str | None,
        missing: exception.CinderException,
        read: Iterable[Wire] = (),
    ) -> Record | None:
        """The record a page starts after (None without a marker): from the items a list
        already ``read``, else one get_item of ``kind``'s table; a marker the caller may not
        see raises ``missing``, as Liberty's marker lookup does."""
        if marker is None:
            return None
        item = next((i for i in read if i["id"]["S"] == marker), None)
        if item is None:
            item = self.get(f"{kind}s", marker)
        if item is None or not visible(context, item, scoped=True):
            raise missing
        return from_item(kind, item)

    # ------------------------------------------------------------- volumes

    def volume_item(self, context: RequestContext, volume_id: Any) -> Wire:
        """The volume as ``volume_get`` sees it (one get_item); ``VolumeNotFound``."""
        item = self.get("volumes", volume_id)
        if not visible(context, item, scoped=True):
            raise exception.VolumeNotFound(volume_id=volume_id)
        assert item is not None
        return item

    def volume_records(
        self, context: RequestContext, items: Sequence[Mapping[str, Wire]], *, extra_specs: bool
    ) -> list[Record]:
        """Records of volume items, their types and groups read in one batch_get_item."""
        type_ids = {i["volume_type_id"]["S"] for i in items if "volume_type_id" in i}
        group_ids = {i["consistencygroup_id"]["S"] for i in items if "consistencygroup_id" in i}
        wanted: dict[str, list[tuple[Any, ...]]] = {}
        if type_ids:
            wanted["volume_types"] = [(t,) for t in sorted(type_ids)]
        if group_ids:
            wanted["consistencygroups"] = [(g,) for g in sorted(group_ids)]
        found = self.get_many(wanted) if wanted else {}
        types = {i["id"]["S"]: i for i in found.get("volume_types", [])}
        groups = {i["id"]["S"]: i for i in found.get("consistencygroups", [])}
        return [
            volume_record(
                item,
                admin=context.is_admin,
                extra_specs=extra_specs,
                volume_type=types.get(item["volume_type_id"]["S"])
                if "volume_type_id" in item
                else None,
                group=groups.get(item["consistencygroup_id"]["S"])
                if "consistencygroup_id" in item
                else None,
            )
            for item in items
        ]

    def volume_result(self, context: RequestContext, item: Mapping[str, Wire]) -> Record:
        """A ``volume_get``-shaped record of one item."""
        return self.volume_records(context, [item], extra_specs=True)[0]

    # ----------------------------------------------------------- snapshots

    def snapshot_item(self, context: RequestContext, snapshot_id: Any) -> Wire:
        """The snapshot as ``snapshot_get`` sees it (one get_item); ``SnapshotNotFound``."""
        item = self.get("snapshots", snapshot_id)
        if not visible(context, item, scoped=True):
            raise exception.SnapshotNotFound(snapshot_id=snapshot_id)
        assert item is not None
        return item

    # ------------------------------------------------------- index entries

    @property
    def sorted_index(self) -> bool:
        """Does this design keep the sorted project indexes (``sorted_index``)?"""
        return self.design.has(SORTED_OPTION)

    def retire_entries(
        self, volume_id: str, old: Wire, new: Wire, written: Iterable[Entry] = ()
    ) -> None:
        """After a volume write: remove the entries the old item called for (or the call
        wrote, for a state that lost a race) and the new item does not."""
        rules = self.index_rules_for("volumes")
        before = index_entries(rules, from_item("volume", old), volume_id) | set(written)
        after = index_entries(rules, from_item("volume", new), volume_id)
        self.remove_entries(before - after)

    def sorted_moves(self, volume_id: str, old: Wire, updates: Wire) -> set[Entry]:
        """The sorted-index entries an update of the volume ``old`` calls for that ``old``
        does not (none unless the design keeps them): written before the update."""
        if not self.sorted_index:
            return set()
        new = applied(key_of(self.tables["volumes"], volume_id), old, updates) or {}
        before = index_entries(SORTED_RULES, from_item("volume", old), volume_id)
        return index_entries(SORTED_RULES, from_item("volume", new), volume_id) - before

    # ------------------------------------------------------ inverted tables

    def add_ids(
        self, table: str, pairs: Iterable[Pair], attribute: str, ids: Iterable[str]
    ) -> None:
        """One update_item per pair: ADD the ids to the pair's set (atomic, no read). The
        compensation takes back the ids whose item (as it is then) does not hold the pair."""
        members = sorted(set(ids))
        if not members:
            return
        for key, value in sorted(pairs):
            for prop, shard in self.property_members(table, key, value, members).items():
                self.update_members(
                    table,
                    (prop,),
                    {
                        attribute: {"action": "ADD", "value": {"SS": shard}},
                        "key": {"action": "PUT", "value": s(key)},
                        "value": {"action": "PUT", "value": s(value)},
                    },
                    Undo(
                        lambda prop=prop, shard=shard: f"take {shard} back out of {table} {prop}",
                        lambda prop=prop, pair=(key, value), shard=shard: self._unlist(
                            table, prop, pair, attribute, shard
                        ),
                    ),
                )

    def _unlist(self, table: str, prop: str, pair: Pair, attribute: str, ids: list[str]) -> str:
        """Compensation of ``add_ids``: DELETE the ids an item of the pair's rule does not
        hold the pair in (all of them for a table with no base map: glance), and the
        property if its sets are then empty."""
        rule = INVERTED_RULES.get(table)
        keep: set[str] = set()
        if rule is not None:
            found = self.get_many({rule.base: [(i,) for i in ids]})[rule.base]
            hash_key = self.tables[rule.base].hash_key
            keep = {
                item[hash_key]["S"]
                for item in found
                if string_map(item, rule.attribute).get(pair[0]) == pair[1]
            }
        gone = [i for i in ids if i not in keep]
        if not gone:
            return journal.SKIPPED
        self._drop_members(table, prop, attribute, gone, compensate=False)
        return journal.UNDONE

    def remove_ids(
        self, table: str, pairs: Iterable[Pair], attribute: str, ids: Iterable[str]
    ) -> None:
        """One update_item per pair: DELETE the ids from the pair's set; a pair whose sets are
        now empty is deleted (conditionally: a racing ADD keeps it). The compensation ADDs
        back the ids that were there (an extra id is always safe: readers check the item)."""
        members = sorted(set(ids))
        if not members:
            return
        for key, value in sorted(pairs):
            for prop, shard in self.property_members(table, key, value, members).items():
                self._drop_members(table, prop, attribute, shard)

    def _drop_members(
        self, table: str, prop: str, attribute: str, members: list[str], compensate: bool = True
    ) -> None:
        def relist(old: Wire | None, new: Wire | None) -> Undo | None:
            had = sorted(set(members) & set((old or {}).get(attribute, {}).get("SS", ())))
            if not had or old is None:
                return None
            updates = {
                attribute: {"action": "ADD", "value": {"SS": had}},
                "key": {"action": "PUT", "value": old["key"]},
                "value": {"action": "PUT", "value": old["value"]},
            }
            return Undo(
                lambda: f"add {had} back to {table} {prop}",
                lambda: _undone(self.send_update(table, (prop,), updates)),
            )

        after = self.update_if(
            table,
            (prop,),
            {attribute: {"action": "DELETE", "value": {"SS": members}}},
            return_values="ALL_NEW",
            compensate=relist if compensate else False,
        )
        if (
            after
            and "volume_ids" not in after
            and "snapshot_ids" not in after
            and not (self.split_sets and table in SPLIT_TABLES)  # a shard stays, empty
        ):
            self.delete_if(
                table,
                (prop,),
                {"volume_ids": {"exists": False}, "snapshot_ids": {"exists": False}},
                compensate=False,
            )

    @property
    def split_sets(self) -> bool:
        """Does this design split the volume metadata sets into shards (``hot_sets``)?"""
        return self.design.has(SPLIT_OPTION)

    def property_members(
        self, table: str, key: str, value: str, ids: Iterable[str]
    ) -> dict[str, list[str]]:
        """The items of ``table`` that hold the pair's ids: its property, or (option
        ``split_hot_sets``) the shard of each id, with the ids each holds."""
        prop = property_of(key, value)
        if self.split_sets and table in SPLIT_TABLES:
            return split(prop, ids)
        return {prop: sorted(set(ids))}

    def property_keys(self, table: str, prop: str) -> list[str]:
        """Every item of ``table`` a reader of ``prop`` asks for (its shards, when split)."""
        return all_shards(prop) if self.split_sets and table in SPLIT_TABLES else [prop]

    def ids_of_pairs(self, pairs: Mapping[str, str]) -> set[str] | None:
        """The volume ids holding every pair as user or admin metadata, from the inverted
        tables: one batch_get_item for all pairs on both tables; None if a pair is unmatchable."""
        properties = {}
        for key, raw in pairs.items():
            value = metadata_filter_value(raw)
            if value is UNMATCHABLE:
                return None
            properties[property_of(key, value)] = (key, value)
        tables = ("volume_metadata", "volume_admin_metadata")
        #: table -> stored key (a property or one of its shards) -> the property
        stored = {
            table: {key: prop for prop in properties for key in self.property_keys(table, prop)}
            for table in tables
        }
        found = self.get_many({table: [(key,) for key in stored[table]] for table in tables})
        holders: dict[str, set[str]] = {prop: set() for prop in properties}
        for table in tables:
            for item in found[table]:
                if "volume_ids" in item:
                    prop = stored[table][item["property"]["S"]]
                    holders[prop].update(item["volume_ids"]["SS"])
        result: set[str] | None = None
        for ids in holders.values():
            result = ids if result is None else result & ids
        return result or set()

    # ------------------------------------------------ volume read-modify-write

    def rewrite_volume(
        self,
        context: RequestContext,
        volume_id: str,
        compute: Any,
        *,
        columns: Mapping[str, Any] | None = None,
        scoped: bool = True,
    ) -> Wire:
        """A versioned read-modify-write of a volume that may change its metadata maps.

        ``compute(item)`` (the item is visible) returns ``(column updates, {(map attribute,
        inverted table): new map})``, or None for nothing to do. Before each conditional
        write the ids of new pairs are ADDed to the inverted sets and new index entries are
        written; after it the ids of dropped pairs (and of pairs a lost attempt added) are
        DELETEd and stale index entries removed. Returns the item as written (or as read).
        """
        added: set[tuple[str, Pair]] = set()
        written_entries: set[Entry] = set()
        outcome: dict[str, Any] = {}
        changed_columns = dict(columns or {})

        def change(item: Wire | None) -> Wire | None:
            if not visible(context, item, scoped=scoped):
                raise exception.VolumeNotFound(volume_id=volume_id)
            assert item is not None
            computed = compute(item)
            if computed is None:
                outcome["removed"] = set()
                return None
            updates, maps = computed
            updates = dict(updates)
            adds: set[tuple[str, Pair]] = set()
            removed: set[tuple[str, Pair]] = set()
            for (attribute, table), new_map in maps.items():
                old_map = string_map(item, attribute)
                if new_map == old_map:
                    continue
                plus, minus = pair_changes(old_map, new_map)
                adds |= {(table, p) for p in plus}
                removed |= {(table, p) for p in minus}
                updates[attribute] = map_update(new_map)
            for table, pair in sorted(adds - added):
                self.add_ids(table, [pair], "volume_ids", [volume_id])
            added.update(adds)
            indexed = {c: changed_columns[c] for c in self.volume_indexed if c in changed_columns}
            entries = index_entries(
                [rule for rule in self.volume_indexes if rule.column in indexed], indexed, volume_id
            ) | self.sorted_moves(volume_id, item, updates)
            self.add_entries(entries - written_entries)
            written_entries.update(entries)
            outcome["removed"], outcome["adds"], outcome["old"] = removed, adds, item
            return {**updates, **VERSION_BUMP}

        new = self.modify("volumes", (volume_id,), change)
        assert new is not None
        stale = outcome.get("removed", set()) | (added - outcome.get("adds", set()))
        for table, pair in sorted(stale):
            if not pairs_in_map(new, table, pair):
                self.remove_ids(table, [pair], "volume_ids", [volume_id])
        if "old" in outcome:
            self.retire_entries(volume_id, outcome["old"], new, written_entries)
        return new


def _undone(_answer: Any) -> str:
    return journal.UNDONE
