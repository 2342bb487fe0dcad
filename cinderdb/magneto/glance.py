"""Glance (image) metadata of volumes and snapshots on the seed's inverted table.

``volume_glance_metadata`` maps a property ``["key", "value"]`` to the set of
volume ids and the set of snapshot ids holding it; the seed keeps no
per-volume copy, so reading one volume's (or snapshot's) image properties is a
scan with a CONTAINS filter on the id set. Liberty's rows may repeat (copying
twice doubles them, quirk #12): the n-th copy of an owner's row in one
property is the set member ``owner`` (n = 1) or ``owner + COPY_SEPARATOR + n``,
numbered without gaps, so the CONTAINS on ``owner`` finds every property the
owner holds at least once. Reads return live rows only; a removed row leaves
the set, and a property whose sets are empty is deleted.

With the ``glance_map`` option each volume and snapshot item also holds its
properties as the map ``volume_glance_metadata``: ``["key", "value"]`` -> the
number of copies (a map keyed by the pair, since Liberty's rows may repeat a
key with another value). Reading an owner's properties is then the owner's
``get_item`` (one the function makes anyway) instead of the scan, and a user's
listing (``volume_glance_metadata_get_all``) reads the project's volumes; the
inverted table stays for the admin's listing of every row (snapshots' too).
Writes keep the order of every inverted pair: ids added before the map write,
removed after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import orjson

from cinderdb import exception
from cinderdb.context import RequestContext
from cinderdb.magneto.items import Wire, s, ss, string_map, string_set
from cinderdb.magneto.lookups import Lookups, index_hash, property_of, visible
from cinderdb.magneto.shapes import glance_records
from cinderdb.records import FIELDS, Record, coerce_value

TABLE = "volume_glance_metadata"
#: Separates an owner id from the number of its second, third... copy of a row.
COPY_SEPARATOR = "\x1e"
_KEY, _VALUE = (next(f for f in FIELDS["glance_metadata"] if f.name == n) for n in ("key", "value"))
#: owner kind -> the set attribute holding its ids.
VOLUME_IDS, SNAPSHOT_IDS = "volume_ids", "snapshot_ids"
#: The ``glance_map`` option's map on volume and snapshot items: property -> copies.
GLANCE_MAP = "volume_glance_metadata"
#: id set -> the table of its owners.
OWNERS = {VOLUME_IDS: "volumes", SNAPSHOT_IDS: "snapshots"}


def owner_of(member: str) -> str:
    return member.split(COPY_SEPARATOR, 1)[0]


def copy_name(owner: str, number: int) -> str:
    return owner if number == 1 else f"{owner}{COPY_SEPARATOR}{number}"


def _copy_number(member: str) -> int:
    _, _, number = member.partition(COPY_SEPARATOR)
    return int(number) if number else 1


def members_of(item: Mapping[str, Wire], attribute: str, owner: str) -> list[str]:
    """The owner's copies in one property's set, first copy first."""
    members = [m for m in string_set(item, attribute) if owner_of(m) == owner]
    return sorted(members, key=_copy_number)


def _pair(item: Mapping[str, Wire]) -> tuple[str, str]:
    return item["key"]["S"], item["value"]["S"]


def glance_map(item: Mapping[str, Wire] | None) -> dict[str, int]:
    """An owner item's ``glance_map``: property -> copies (empty: none, or no option)."""
    if item is None:
        return {}
    return {prop: int(count) for prop, count in string_map(item, GLANCE_MAP).items()}


def _map_items(counts: Mapping[str, int], attribute: str, owner: str) -> list[Wire]:
    """An owner's map as the property items a scan would find (its own copies only)."""
    items = []
    for prop, count in sorted(counts.items()):
        key, value = orjson.loads(prop)
        members = [copy_name(owner, number) for number in range(1, count + 1)]
        items.append({"key": s(key), "value": s(value), attribute: ss(members)})
    return items


class GlanceStore(Lookups):
    """Reads and writes of the inverted glance table, shared with the metadata functions."""

    def glance_items(
        self, attribute: str, owner: str, key: str | None = None, item: Wire | None = None
    ) -> list[Wire]:
        """The properties an owner holds: one scan, CONTAINS on the id set (and the key);
        with ``glance_map``, the owner's map (``item``: the owner as read already)."""
        if self.design.has("glance_map"):
            if item is None:
                item = self.get(OWNERS[attribute], owner)
            found = _map_items(glance_map(item), attribute, owner)
            return [i for i in found if key is None or i["key"]["S"] == key]
        scan_filter: Wire = {
            attribute: {"comparison_operator": "CONTAINS", "attribute_value_list": [s(owner)]}
        }
        if key is not None:
            scan_filter["key"] = {"comparison_operator": "EQ", "attribute_value_list": [s(key)]}
        return self.scan_all(TABLE, scan_filter)

    def set_glance_map(
        self, attribute: str, owner: str, counts: Mapping[tuple[str, str], int]
    ) -> None:
        """``glance_map``: set the owner's copies of these pairs (0: drop the property),
        one update_item conditional on the owner existing (no option: nothing); two when
        some are dropped and others set (one action per attribute). An ADD or DELETE of
        map keys needs no read, so it does not bump the owner's ``version`` (no versioned
        writer derives the map from a read, and two compensations of the same item in a
        row then both hold)."""
        if not self.design.has("glance_map") or not counts:
            return
        put = {property_of(*pair): str(c) for pair, c in counts.items() if c > 0}
        drop = sorted(property_of(*pair) for pair, c in counts.items() if c <= 0)
        updates: Wire = {}
        if put and drop:  # one action per attribute: drops first, then the new counts
            self.set_glance_map(attribute, owner, {p: 0 for p, c in counts.items() if c <= 0})
            drop = []
        if put:
            updates[GLANCE_MAP] = {"action": "ADD", "value": {"SSM": put}}
        elif drop:
            updates[GLANCE_MAP] = {"action": "DELETE", "value": {"SS": drop}}
        self.update_if(OWNERS[attribute], (owner,), updates, {"id": {"value": s(owner)}})

    def add_copies(
        self, attribute: str, pair: tuple[str, str], owner: str, have: int, count: int
    ) -> None:
        """``count`` more copies of an owner's row in a property that holds ``have``."""
        names = [copy_name(owner, have + i + 1) for i in range(count)]
        self.add_ids(TABLE, [pair], attribute, names)

    def glance_upsert(
        self, volume_id: str, pairs: Mapping[str, str], delete: bool, volume: Wire | None = None
    ) -> dict[str, str]:
        """``volume_metadata_update(meta_type=image)``: Liberty's upsert on the glance rows
        (one row per key updated in place, or inserted; with ``delete`` the other keys go).
        ``volume``: the volume as read already (``glance_map`` reads its map)."""
        rows = []  # (key, value, copies in that property)
        for item in self.glance_items(VOLUME_IDS, volume_id, item=volume):
            rows.append((*_pair(item), members_of(item, VOLUME_IDS, volume_id)))
        result: list[tuple[str, str]] = []
        #: (add?, pair, members) in the seed's order; with the map: adds, map, removals
        steps: list[tuple[bool, tuple[str, str], list[str]]] = []
        counts: dict[tuple[str, str], int] = {}
        for key, value, members in sorted(rows):
            if delete and key not in pairs:
                steps.append((False, (key, value), members))
                counts[(key, value)] = 0
            else:
                result += [(key, value)] * len(members)
        for key, value in pairs.items():
            same_key = sorted((v, m) for k, v, m in rows if k == key)
            if not same_key:
                steps.append((True, (key, value), [copy_name(volume_id, 1)]))
                counts[(key, value)] = 1
                result.append((key, value))
            elif all(v != value for v, _ in same_key):
                old_value, members = same_key[0]  # Liberty updates one row of the key
                steps.append((True, (key, value), [copy_name(volume_id, 1)]))
                steps.append((False, (key, old_value), members[-1:]))
                counts[(key, value)] = 1
                counts[(key, old_value)] = len(members) - 1
                result.remove((key, old_value))
                result.append((key, value))
        if self.design.has("glance_map"):
            steps = [step for step in steps if step[0]] + [step for step in steps if not step[0]]
        mapped = False
        for add, pair, members in steps:
            if not add and not mapped:
                self.set_glance_map(VOLUME_IDS, volume_id, counts)
                mapped = True
            (self.add_ids if add else self.remove_ids)(TABLE, [pair], VOLUME_IDS, members)
        if not mapped:
            self.set_glance_map(VOLUME_IDS, volume_id, counts)
        return dict(result)

    def glance_delete_key(self, volume_id: str, key: str, volume: Wire | None = None) -> None:
        """``volume_metadata_delete(meta_type=image)``: every row of the key goes (with
        ``glance_map``: from the map first, then from the sets)."""
        items = self.glance_items(VOLUME_IDS, volume_id, key, item=volume)
        self.set_glance_map(VOLUME_IDS, volume_id, {_pair(item): 0 for item in items})
        for item in items:
            self.remove_ids(
                TABLE, [_pair(item)], VOLUME_IDS, members_of(item, VOLUME_IDS, volume_id)
            )


class GlanceFunctions(GlanceStore):
    """Glance (image) metadata of volumes and snapshots: create, read, copy, delete."""

    def _rows(
        self, attribute: str, owner: str, item: Wire | None = None
    ) -> list[tuple[Wire, list[str]]]:
        """(property item, the owner's copies in it) of every property the owner holds
        (``item``: the owner as read already, for ``glance_map``)."""
        return [
            (prop, members_of(prop, attribute, owner))
            for prop in self.glance_items(attribute, owner, item=item)
        ]

    @staticmethod
    def _records(
        rows: Iterable[tuple[Wire, list[str]]], attribute: str, owner: str
    ) -> list[Record]:
        out = []
        for item, members in rows:
            key, value = _pair(item)
            volume_id = owner if attribute == VOLUME_IDS else None
            snapshot_id = owner if attribute == SNAPSHOT_IDS else None
            out += [(volume_id, snapshot_id, key, value)] * len(members)
        return glance_records(out)

    def _rows_or_not_found(
        self, attribute: str, owner: str, item: Wire | None = None
    ) -> list[tuple[Wire, list[str]]]:
        rows = self._rows(attribute, owner, item)
        if not rows:
            raise exception.GlanceMetadataNotFound(id=owner)
        return rows

    def volume_glance_metadata_create(
        self, context: RequestContext, volume_id: str, key: str, value: str
    ) -> None:
        """1 get_item (the volume), 1 scan (an existing row of the key), 1 update_item (ADD);
        ``glance_map``: no scan (the volume's map), 1 more update_item (the map)."""
        key = coerce_value(_KEY, key)
        value = coerce_value(_VALUE, value)
        volume = self.volume_item(context, volume_id)
        if self.glance_items(VOLUME_IDS, volume_id, key, item=volume):
            raise exception.GlanceMetadataExists(key=key, volume_id=volume_id)
        self.add_copies(VOLUME_IDS, (key, value), volume_id, 0, 1)
        self.set_glance_map(VOLUME_IDS, volume_id, {(key, value): 1})

    def volume_glance_metadata_get(self, context: RequestContext, volume_id: str) -> list[Record]:
        """1 get_item + 1 scan (CONTAINS the volume id); ``glance_map``: the get_item only."""
        volume = self.volume_item(context, volume_id)
        rows = self._rows_or_not_found(VOLUME_IDS, volume_id, volume)
        return self._records(rows, VOLUME_IDS, volume_id)

    def volume_snapshot_glance_metadata_get(
        self, context: RequestContext, snapshot_id: str
    ) -> list[Record]:
        """1 get_item + 1 scan (CONTAINS the snapshot id); ``glance_map``: the get_item only."""
        snapshot = self.snapshot_item(context, snapshot_id)
        rows = self._rows_or_not_found(SNAPSHOT_IDS, snapshot_id, snapshot)
        return self._records(rows, SNAPSHOT_IDS, snapshot_id)

    def volume_glance_metadata_get_all(self, context: RequestContext) -> list[Record]:
        """Every live row; a user sees the rows of their project's volumes (deleted ones too:
        Liberty's implicit join does not filter on the volume's ``deleted``), snapshot rows
        being admin-visible only, as in Liberty. The admin call scans the whole table; the
        user call is 1 query on volumes_by_project + a scan, or with ``glance_map`` the
        query + the batch_get_item of the project's volumes (their maps): O(project)."""
        project = index_hash("volumes_by_project", context.project_id)
        if context.is_user_context and self.design.has("glance_map"):
            return glance_records(self._project_map_rows(project))
        mine: set[str] | None = None
        if context.is_user_context:
            mine = set(self.index_ids("volumes_by_project", project))
        out = []
        for item in self.scan_all(TABLE):
            key, value = _pair(item)
            for member in sorted(string_set(item, VOLUME_IDS)):
                if mine is None or owner_of(member) in mine:
                    out.append((owner_of(member), None, key, value))
            if mine is None:
                for member in sorted(string_set(item, SNAPSHOT_IDS)):
                    out.append((None, owner_of(member), key, value))
        return glance_records(out)

    def _project_map_rows(self, project: str | None) -> list[tuple[str, None, str, str]]:
        """``glance_map``: the rows of a project's volumes, read from their maps."""
        ids = self.index_ids("volumes_by_project", project)
        if not ids:
            return []
        out = []
        for item in self.get_many({"volumes": [(i,) for i in ids]})["volumes"]:
            volume_id = item["id"]["S"]
            for prop, count in sorted(glance_map(item).items()):
                key, value = orjson.loads(prop)
                out += [(volume_id, None, key, value)] * count
        return out

    def _copy(
        self,
        rows: Iterable[tuple[Wire, list[str]]],
        attribute: str,
        owner: str,
        target: Wire | None,
    ) -> None:
        """Each source row becomes one more row of ``owner``: one update_item (ADD) per
        property, numbering the owner's copies after those the property already has (the
        target's map tells with ``glance_map``; then one update_item of that map)."""
        mapped = glance_map(target)
        counts: dict[tuple[str, str], int] = {}
        for item, members in rows:
            pair = _pair(item)
            if self.design.has("glance_map"):
                have = mapped.get(property_of(*pair), 0)
            else:
                have = len(members_of(item, attribute, owner))
            self.add_copies(attribute, pair, owner, have, len(members))
            counts[pair] = have + len(members)
        self.set_glance_map(attribute, owner, counts)

    def _owners(
        self, context: RequestContext, volume_id: str, snapshot_id: str
    ) -> tuple[Wire | None, Wire | None]:
        found = self.get_many({"volumes": [(volume_id,)], "snapshots": [(snapshot_id,)]})
        volume = (found["volumes"] or [None])[0]
        snapshot = (found["snapshots"] or [None])[0]
        return volume, snapshot

    def volume_glance_metadata_copy_to_snapshot(
        self, context: RequestContext, snapshot_id: str, volume_id: str
    ) -> None:
        """1 batch_get_item (snapshot and volume), 1 scan, one update_item per property."""
        volume, snapshot = self._owners(context, volume_id, snapshot_id)
        if not visible(context, snapshot, scoped=True):
            raise exception.SnapshotNotFound(snapshot_id=snapshot_id)
        if not visible(context, volume, scoped=True):
            raise exception.VolumeNotFound(volume_id=volume_id)
        rows = self._rows_or_not_found(VOLUME_IDS, volume_id, volume)
        self._copy(rows, SNAPSHOT_IDS, snapshot_id, snapshot)

    def volume_glance_metadata_copy_to_volume(
        self, context: RequestContext, volume_id: str, snapshot_id: str
    ) -> None:
        """1 batch_get_item (volume and snapshot), 1 scan, one update_item per property."""
        volume, snapshot = self._owners(context, volume_id, snapshot_id)
        if not visible(context, volume, scoped=True):
            raise exception.VolumeNotFound(volume_id=volume_id)
        if not visible(context, snapshot, scoped=True):
            raise exception.SnapshotNotFound(snapshot_id=snapshot_id)
        rows = self._rows_or_not_found(SNAPSHOT_IDS, snapshot_id, snapshot)
        self._copy(rows, VOLUME_IDS, volume_id, volume)

    def volume_glance_metadata_copy_from_volume_to_volume(
        self, context: RequestContext, src_volume_id: str, volume_id: str
    ) -> None:
        """1 batch_get_item (both volumes), 1 scan, one update_item per property. Liberty
        checks only the source; the target must exist (its foreign key)."""
        found = {
            i["id"]["S"]: i
            for i in self.get_many({"volumes": [(src_volume_id,), (volume_id,)]})["volumes"]
        }
        if not visible(context, found.get(src_volume_id), scoped=True):
            raise exception.VolumeNotFound(volume_id=src_volume_id)
        rows = self._rows_or_not_found(VOLUME_IDS, src_volume_id, found.get(src_volume_id))
        if volume_id not in found:
            raise exception.VolumeNotFound(volume_id=volume_id)
        self._copy(rows, VOLUME_IDS, volume_id, found[volume_id])

    def _delete_owner(self, attribute: str, owner: str) -> None:
        """1 scan, then one update_item per property (DELETE of the owner's copies);
        ``glance_map``: 1 get_item instead of the scan, the map emptied first."""
        rows = self._rows(attribute, owner)
        self.set_glance_map(attribute, owner, {_pair(item): 0 for item, _ in rows})
        for item, members in rows:
            self.remove_ids(TABLE, [_pair(item)], attribute, members)

    def volume_glance_metadata_delete_by_volume(
        self, context: RequestContext, volume_id: str
    ) -> None:
        self._delete_owner(VOLUME_IDS, volume_id)

    def volume_glance_metadata_delete_by_snapshot(
        self, context: RequestContext, snapshot_id: str
    ) -> None:
        self._delete_owner(SNAPSHOT_IDS, snapshot_id)
