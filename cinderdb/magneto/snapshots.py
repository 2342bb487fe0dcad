"""Snapshots and their metadata: create, get, lists with filters/sort/pagination, update,
destroy, and the project aggregate.

A snapshot is one item (columns, the ``snapshot_metadata`` map, ``version``)
plus its entries in ``snapshots_by_project``, ``snapshots_by_volume`` and
``snapshots_by_cgsnapshot`` (kept when it is soft-deleted, as Liberty lists
deleted snapshots with ``read_deleted``). Its metadata has no inverted table,
so every metadata write is a single conditional update_item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cinderdb import exception
from cinderdb.base import (
    NO_MATCH,
    check_sort_keys,
    new_id,
    plan_equality_filters,
    process_sort_params,
)
from cinderdb.context import RequestContext
from cinderdb.magneto.core import applied, key_of
from cinderdb.magneto.items import Wire, changes_to_updates, from_item, n, ssm, string_map, to_item
from cinderdb.magneto.lookups import (
    NULL_KEY,
    VERSION_BUMP,
    Lookups,
    index_entries,
    map_update,
    visibility_expected,
    visible,
)
from cinderdb.magneto.paging import matches, page
from cinderdb.magneto.shapes import snapshot_record
from cinderdb.records import Record, blank, coerce_metadata, coerce_values, utcnow


class SnapshotFunctions(Lookups):
    """Snapshots and their metadata."""

    # ---------------------------------------------------------------- create

    def snapshot_create(self, context: RequestContext, values: Mapping[str, Any]) -> Record:
        """1 batch_get_item (duplicate id, the volume, the cgsnapshot), 1 batch_write_item
        (index entries), then the put_item of the snapshot (absent id)."""
        row = coerce_values("snapshot", values)
        raw_metadata = values.get("metadata")
        metadata = {} if raw_metadata is None else coerce_metadata(raw_metadata)
        if not row.get("id"):
            row["id"] = new_id()
        snapshot_id = row["id"]
        if row.get("volume_id") is None:
            raise exception.InvalidInput(reason="a snapshot needs a volume_id")
        if context.is_user_context and row.get("project_id") != context.project_id:
            raise exception.SnapshotNotFound(snapshot_id=snapshot_id)
        if row.get("created_at") is None:
            row["created_at"] = utcnow()
        if row.get("deleted") is None:
            row["deleted"] = False
        record = {**blank("snapshot"), **row}
        volume = self._check_parents(record, with_snapshot=True)
        item = to_item("snapshot", record)
        if metadata:
            item["snapshot_metadata"] = ssm(metadata)
        item["version"] = n(1)
        self.add_entries(index_entries(self.snapshot_indexes, record, snapshot_id))
        if not self.put_if("snapshots", item, {"id": {"exists": False}}):
            raise exception.DBDuplicateEntry(reason=f"snapshot {snapshot_id} exists")
        return snapshot_record(item, volume=volume, with_volume=True)

    def _check_parents(
        self, record: Mapping[str, Any], *, with_snapshot: bool = False, check: Any = None
    ) -> Wire:
        """The volume (and cgsnapshot) a snapshot names must exist, deleted or not, as their
        foreign keys demand: one batch_get_item, which also brings the record's volume."""
        wanted: dict[str, list[tuple[Any, ...]]] = {"volumes": [(record["volume_id"],)]}
        if with_snapshot:
            wanted["snapshots"] = [(record["id"],)]
        if record.get("cgsnapshot_id") is not None:
            wanted["cgsnapshots"] = [(record["cgsnapshot_id"],)]
        found = self.get_many(wanted)
        volume = (found["volumes"] or [None])[0]
        missing_group = "cgsnapshots" in wanted and not found["cgsnapshots"]
        if (volume is None or missing_group) and check is not None:
            check()  # Liberty reads the snapshot before it writes
        if volume is None:
            raise exception.VolumeNotFound(volume_id=record["volume_id"])
        if missing_group:
            raise exception.CgSnapshotNotFound(cgsnapshot_id=record["cgsnapshot_id"])
        if with_snapshot and found["snapshots"]:
            raise exception.DBDuplicateEntry(reason=f"snapshot {record['id']} exists")
        return volume

    # ------------------------------------------------------------------ read

    def snapshot_get(self, context: RequestContext, snapshot_id: str) -> Record:
        """1 get_item of the snapshot, then 1 of its volume (columns, even if deleted)."""
        item = self.snapshot_item(context, snapshot_id)
        volume = self.get("volumes", item["volume_id"]["S"])
        return snapshot_record(item, volume=volume, with_volume=True)

    def _snapshot_page(
        self,
        context: RequestContext,
        filters: Mapping[str, Any] | None,
        marker: str | None,
        limit: int | None,
        sort_keys: Sequence[str] | None,
        sort_dirs: Sequence[str] | None,
        offset: int | None,
    ) -> list[Record]:
        """The volume lists' machinery with snapshot filters (equality only, no IN): a project
        filter reads snapshots_by_project and a batch_get_item, else a scan."""
        keys, dirs = process_sort_params(sort_keys, sort_dirs, default_dir="desc")
        plan = plan_equality_filters("snapshot", filters)
        if plan is NO_MATCH:
            return []
        if "project_id" in plan.equal:
            project = plan.equal["project_id"]
            ids = set(
                self.index_ids("snapshots_by_project", NULL_KEY if project is None else project)
            )
            if marker is not None:
                ids.add(marker)
            items = self.get_many({"snapshots": [(i,) for i in sorted(ids)]})["snapshots"]
        else:
            items = self.scan_all("snapshots")
        marker_record = self.marker_record(
            context, "snapshot", marker, exception.SnapshotNotFound(snapshot_id=marker), items
        )
        check_sort_keys("snapshot", keys)
        kept = {}
        for item in items:
            if visible(context, item, scoped=False):
                record = from_item("snapshot", item)
                if matches(record, plan):
                    kept[record["id"]] = (record, item)
        paged = page([r for r, _ in kept.values()], keys, dirs, marker_record, limit, offset)
        return [snapshot_record(kept[r["id"]][1], volume=None, with_volume=False) for r in paged]

    def _live_listed(self, context: RequestContext, index: str, hash_value: Any) -> list[Wire]:
        """Live snapshots (whatever ``read_deleted`` says) an index lists, project-scoped for
        users: 1 query + 1 batch_get_item (a scan for a None cgsnapshot)."""
        if hash_value is None:
            column = "cgsnapshot_id" if index == "snapshots_by_cgsnapshot" else "volume_id"
            null = {column: {"comparison_operator": "NULL"}}
            ids = [i["id"]["S"] for i in self.scan_all("snapshots", null, ["id"])]
        else:
            ids = self.index_ids(index, hash_value)
        if not ids:
            return []
        items = self.get_many({"snapshots": [(i,) for i in ids]})["snapshots"]
        live = context.with_read_deleted("no")
        column = "cgsnapshot_id" if index == "snapshots_by_cgsnapshot" else "volume_id"
        return sorted(
            (
                i
                for i in items
                if visible(live, i, scoped=True) and i.get(column, {}).get("S") == hash_value
            ),
            key=lambda i: i["id"]["S"],
        )

    def snapshot_get_all_for_volume(self, context: RequestContext, volume_id: str) -> list[Record]:
        items = self._live_listed(context, "snapshots_by_volume", volume_id)
        return [snapshot_record(i, volume=None, with_volume=False) for i in items]

    def snapshot_get_all_for_cgsnapshot(
        self, context: RequestContext, cgsnapshot_id: str
    ) -> list[Record]:
        """1 query, 1 batch_get_item of the snapshots, 1 of their volumes."""
        items = self._live_listed(context, "snapshots_by_cgsnapshot", cgsnapshot_id)
        if not items:
            return []
        volume_ids = sorted({i["volume_id"]["S"] for i in items})
        volumes = {
            v["id"]["S"]: v
            for v in self.get_many({"volumes": [(v,) for v in volume_ids]})["volumes"]
        }
        return [
            snapshot_record(i, volume=volumes.get(i["volume_id"]["S"]), with_volume=True)
            for i in items
        ]

    def snapshot_data_get_for_project(
        self, context: RequestContext, project_id: str, volume_type_id: str | None = None
    ) -> tuple[int, int]:
        """1 query on snapshots_by_project + 1 batch_get_item (+ 1 of their volumes when a
        type is given: the volume's type is matched, as Liberty's join does)."""
        ids = self.index_ids("snapshots_by_project", NULL_KEY if project_id is None else project_id)
        items = self.get_many({"snapshots": [(i,) for i in ids]})["snapshots"] if ids else []
        items = [i for i in items if i.get("deleted", n(0))["N"] == "0"]
        if volume_type_id and items:
            volume_ids = sorted({i["volume_id"]["S"] for i in items})
            volumes = self.get_many({"volumes": [(v,) for v in volume_ids]})["volumes"]
            typed = {
                v["id"]["S"]
                for v in volumes
                if v.get("volume_type_id", {}).get("S") == volume_type_id
            }
            items = [i for i in items if i["volume_id"]["S"] in typed]
        elif volume_type_id:
            items = []
        return len(items), sum(int(i["volume_size"]["N"]) for i in items if "volume_size" in i)

    # ---------------------------------------------------------------- update

    def snapshot_update(
        self, context: RequestContext, snapshot_id: str, values: Mapping[str, Any]
    ) -> Record:
        """1 conditional update_item (visible to the caller, ALL_OLD) + 1 get_item of the
        volume for the record; a new volume or cgsnapshot is checked first (batch_get_item,
        which brings the volume) and new index entries are written before the update."""
        row = coerce_values("snapshot", values)  # a 'metadata' key is ignored, as in Liberty
        row.pop("id", None)
        if "volume_id" in row and row["volume_id"] is None:
            raise exception.InvalidInput(reason="a snapshot needs a volume_id")
        if "updated_at" not in row:
            row["updated_at"] = utcnow()
        volume = None
        if "volume_id" in row:
            parents = {"volume_id": row["volume_id"], "cgsnapshot_id": row.get("cgsnapshot_id")}
            volume = self._check_parents(
                parents, check=lambda: self.snapshot_item(context, snapshot_id)
            )
        elif row.get("cgsnapshot_id") is not None:
            self._check_group(context, snapshot_id, row)
        changed = {c: row[c] for c in self.snapshot_indexed if c in row}
        self.add_entries(
            index_entries(
                [rule for rule in self.snapshot_indexes if rule.column in changed],
                changed,
                snapshot_id,
            )
        )
        updates = {**changes_to_updates("snapshot", row), **VERSION_BUMP}
        old = self.update_if(
            "snapshots",
            (snapshot_id,),
            updates,
            expected=visibility_expected(context, scoped=True),
            return_values="ALL_OLD",
        )
        if old is None:
            raise exception.SnapshotNotFound(snapshot_id=snapshot_id)
        new = applied(key_of(self.tables["snapshots"], snapshot_id), old, updates) or {}
        before = index_entries(self.snapshot_indexes, from_item("snapshot", old), snapshot_id)
        after = index_entries(self.snapshot_indexes, from_item("snapshot", new), snapshot_id)
        self.remove_entries(before - after)
        if volume is None:
            volume = self.get("volumes", new["volume_id"]["S"])
        return snapshot_record(new, volume=volume, with_volume=True)

    def _check_group(
        self, context: RequestContext, snapshot_id: str, row: Mapping[str, Any]
    ) -> None:
        """Only the cgsnapshot changes: it must exist (1 get_item)."""
        if self.get("cgsnapshots", row["cgsnapshot_id"]) is None:
            self.snapshot_item(context, snapshot_id)
            raise exception.CgSnapshotNotFound(cgsnapshot_id=row["cgsnapshot_id"])

    def snapshot_destroy(self, context: RequestContext, snapshot_id: str) -> None:
        """1 update_item (status, deleted, metadata map dropped); no error when missing."""
        now = utcnow()
        retire = {"snapshot_metadata": {"action": "DELETE"}, **VERSION_BUMP}
        updates = {
            **changes_to_updates(
                "snapshot", {"status": "deleted", "deleted": True, "deleted_at": now}
            ),
            **retire,
        }
        done = self.update_if(
            "snapshots",
            (snapshot_id,),
            updates,
            expected=visibility_expected(context, scoped=False),
        )
        if done is None:
            # Missing, or hidden by read_deleted: Liberty still retires its live metadata.
            self.update_if("snapshots", (snapshot_id,), retire, expected={"id": {"exists": True}})

    # -------------------------------------------------------------- metadata

    def snapshot_metadata_get(self, context: RequestContext, snapshot_id: str) -> dict[str, str]:
        """1 get_item."""
        return string_map(self.snapshot_item(context, snapshot_id), "snapshot_metadata")

    def snapshot_metadata_delete(self, context: RequestContext, snapshot_id: str, key: str) -> None:
        """1 conditional update_item (DELETE of the map key; a missing key is a no-op)."""
        done = self.update_if(
            "snapshots",
            (snapshot_id,),
            {"snapshot_metadata": {"action": "DELETE", "value": {"SS": [key]}}, **VERSION_BUMP},
            expected=visibility_expected(context, scoped=True),
        )
        if done is None:
            raise exception.SnapshotNotFound(snapshot_id=snapshot_id)

    def snapshot_metadata_update(
        self, context: RequestContext, snapshot_id: str, metadata: Mapping[str, str], delete: bool
    ) -> dict[str, str]:
        """1 conditional update_item: a map ADD (merge) or PUT (replace), ALL_NEW."""
        try:
            pairs = coerce_metadata(metadata)
        except exception.InvalidInput:
            self.snapshot_item(context, snapshot_id)  # Liberty checks the snapshot first
            raise
        if delete:
            change = map_update(pairs)
        elif pairs:
            change = {"action": "ADD", "value": ssm(pairs)}
        else:
            change = None
        updates = {**({"snapshot_metadata": change} if change else {}), **VERSION_BUMP}
        new = self.update_if(
            "snapshots",
            (snapshot_id,),
            updates,
            expected=visibility_expected(context, scoped=True),
            return_values="ALL_NEW",
        )
        if new is None:
            raise exception.SnapshotNotFound(snapshot_id=snapshot_id)
        return string_map(new, "snapshot_metadata")
