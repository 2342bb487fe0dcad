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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from cinderdb import exception
from cinderdb.context import RequestContext
from cinderdb.magneto.items import Wire, s, string_set
from cinderdb.magneto.lookups import Lookups, visible
from cinderdb.magneto.shapes import glance_records
from cinderdb.records import FIELDS, Record, coerce_value

TABLE = "volume_glance_metadata"
#: Separates an owner id from the number of its second, third... copy of a row.
COPY_SEPARATOR = "\x1e"
_KEY, _VALUE = (next(f for f in FIELDS["glance_metadata"] if f.name == n) for n in ("key", "value"))
#: owner kind -> the set attribute holding its ids.
VOLUME_IDS, SNAPSHOT_IDS = "volume_ids", "snapshot_ids"


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


class GlanceStore(Lookups):
    """Reads and writes of the inverted glance table, shared with the metadata functions."""

    def glance_items(self, attribute: str, owner: str, key: str | None = None) -> list[Wire]:
        """The properties an owner holds: one scan, CONTAINS on the id set (and the key)."""
        scan_filter: Wire = {
            attribute: {"comparison_operator": "CONTAINS", "attribute_value_list": [s(owner)]}
        }
        if key is not None:
            scan_filter["key"] = {"comparison_operator": "EQ", "attribute_value_list": [s(key)]}
        return self.scan_all(TABLE, scan_filter)

    def add_copies(
        self, attribute: str, pair: tuple[str, str], owner: str, have: int, count: int
    ) -> None:
        """``count`` more copies of an owner's row in a property that holds ``have``."""
        names = [copy_name(owner, have + i + 1) for i in range(count)]
        self.add_ids(TABLE, [pair], attribute, names)

    def glance_upsert(
        self, volume_id: str, pairs: Mapping[str, str], delete: bool
    ) -> dict[str, str]:
        """``volume_metadata_update(meta_type=image)``: Liberty's upsert on the glance rows
        (one row per key updated in place, or inserted; with ``delete`` the other keys go)."""
        rows = []  # (key, value, copies in that property)
        for item in self.glance_items(VOLUME_IDS, volume_id):
            rows.append((*_pair(item), members_of(item, VOLUME_IDS, volume_id)))
        result: list[tuple[str, str]] = []
        for key, value, members in sorted(rows):
            if delete and key not in pairs:
                self.remove_ids(TABLE, [(key, value)], VOLUME_IDS, members)
            else:
                result += [(key, value)] * len(members)
        for key, value in pairs.items():
            same_key = sorted((v, m) for k, v, m in rows if k == key)
            if not same_key:
                self.add_copies(VOLUME_IDS, (key, value), volume_id, 0, 1)
                result.append((key, value))
            elif all(v != value for v, _ in same_key):
                old_value, members = same_key[0]  # Liberty updates one row of the key
                self.add_copies(VOLUME_IDS, (key, value), volume_id, 0, 1)
                self.remove_ids(TABLE, [(key, old_value)], VOLUME_IDS, members[-1:])
                result.remove((key, old_value))
                result.append((key, value))
        return dict(result)

    def glance_delete_key(self, volume_id: str, key: str) -> None:
        """``volume_metadata_delete(meta_type=image)``: every row of the key goes."""
        for item in self.glance_items(VOLUME_IDS, volume_id, key):
            self.remove_ids(
                TABLE, [_pair(item)], VOLUME_IDS, members_of(item, VOLUME_IDS, volume_id)
            )


class GlanceFunctions(GlanceStore):
    """Glance (image) metadata of volumes and snapshots: create, read, copy, delete."""

    def _rows(self, attribute: str, owner: str) -> list[tuple[Wire, list[str]]]:
        """(property item, the owner's copies in it) of every property the owner holds."""
        return [
            (item, members_of(item, attribute, owner))
            for item in self.glance_items(attribute, owner)
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

    def _rows_or_not_found(self, attribute: str, owner: str) -> list[tuple[Wire, list[str]]]:
        rows = self._rows(attribute, owner)
        if not rows:
            raise exception.GlanceMetadataNotFound(id=owner)
        return rows

    def volume_glance_metadata_create(
        self, context: RequestContext, volume_id: str, key: str, value: str
    ) -> None:
        """1 get_item (the volume), 1 scan (an existing row of the key), 1 update_item (ADD)."""
        key = coerce_value(_KEY, key)
        value = coerce_value(_VALUE, value)
        self.volume_item(context, volume_id)
        if self.glance_items(VOLUME_IDS, volume_id, key):
            raise exception.GlanceMetadataExists(key=key, volume_id=volume_id)
        self.add_copies(VOLUME_IDS, (key, value), volume_id, 0, 1)

    def volume_glance_metadata_get(self, context: RequestContext, volume_id: str) -> list[Record]:
        """1 get_item + 1 scan (CONTAINS the volume id)."""
        self.volume_item(context, volume_id)
        return self._records(self._rows_or_not_found(VOLUME_IDS, volume_id), VOLUME_IDS, volume_id)

    def volume_snapshot_glance_metadata_get(
        self, context: RequestContext, snapshot_id: str
    ) -> list[Record]:
        """1 get_item + 1 scan (CONTAINS the snapshot id)."""
        self.snapshot_item(context, snapshot_id)
        rows = self._rows_or_not_found(SNAPSHOT_IDS, snapshot_id)
        return self._records(rows, SNAPSHOT_IDS, snapshot_id)

    def volume_glance_metadata_get_all(self, context: RequestContext) -> list[Record]:
        """A scan of the whole table; a user sees the rows of their project's volumes (+ 1
        query on volumes_by_project), snapshot rows being admin-visible only, as in Liberty."""
        mine: set[str] | None = None
        if context.is_user_context:
            mine = set(self.index_ids("volumes_by_project", context.project_id))
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

    def _copy(
        self,
        rows: Iterable[tuple[Wire, list[str]]],
        attribute: str,
        owner: str,
    ) -> None:
        """Each source row becomes one more row of ``owner``: one update_item (ADD) per
        property, numbering the owner's copies after those the property already has."""
        for item, members in rows:
            have = len(members_of(item, attribute, owner))
            self.add_copies(attribute, _pair(item), owner, have, len(members))

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
        rows = self._rows_or_not_found(VOLUME_IDS, volume_id)
        self._copy(rows, SNAPSHOT_IDS, snapshot_id)

    def volume_glance_metadata_copy_to_volume(
        self, context: RequestContext, volume_id: str, snapshot_id: str
    ) -> None:
        """1 batch_get_item (volume and snapshot), 1 scan, one update_item per property."""
        volume, snapshot = self._owners(context, volume_id, snapshot_id)
        if not visible(context, volume, scoped=True):
            raise exception.VolumeNotFound(volume_id=volume_id)
        if not visible(context, snapshot, scoped=True):
            raise exception.SnapshotNotFound(snapshot_id=snapshot_id)
        rows = self._rows_or_not_found(SNAPSHOT_IDS, snapshot_id)
        self._copy(rows, VOLUME_IDS, volume_id)

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
        rows = self._rows_or_not_found(VOLUME_IDS, src_volume_id)
        if volume_id not in found:
            raise exception.VolumeNotFound(volume_id=volume_id)
        self._copy(rows, VOLUME_IDS, volume_id)

    def _delete_owner(self, attribute: str, owner: str) -> None:
        """1 scan, then one update_item per property (DELETE of the owner's copies)."""
        for item, members in self._rows(attribute, owner):
            self.remove_ids(TABLE, [_pair(item)], attribute, members)

    def volume_glance_metadata_delete_by_volume(
        self, context: RequestContext, volume_id: str
    ) -> None:
        self._delete_owner(VOLUME_IDS, volume_id)

    def volume_glance_metadata_delete_by_snapshot(
        self, context: RequestContext, snapshot_id: str
    ) -> None:
        self._delete_owner(SNAPSHOT_IDS, snapshot_id)
