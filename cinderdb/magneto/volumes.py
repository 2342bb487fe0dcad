"""Volumes: create, get, lists from index tables and inverted metadata, update, destroy,
aggregates, migration.

A volume is one item (columns, ``volume_type_name``, the two metadata maps, the
attachments map, ``version``) plus its entries in ``volumes_by_project``,
``volumes_by_host`` and ``volumes_by_group`` and its ids in the inverted
``volume_metadata`` / ``volume_admin_metadata`` sets. Soft-deleted volumes keep
their index entries (Liberty lists them with ``read_deleted``); their metadata
is retired from the maps and the inverted sets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cinderdb import exception
from cinderdb.base import (
    NO_MATCH,
    FilterPlan,
    check_sort_keys,
    new_id,
    plan_volume_filters,
    pool_host_matches,
    process_sort_params,
)
from cinderdb.context import RequestContext
from cinderdb.magneto.core import applied, key_of
from cinderdb.magneto.items import (
    Wire,
    changes_to_updates,
    from_item,
    n,
    s,
    ssm,
    string_map,
    to_item,
)
from cinderdb.magneto.lookups import (
    ADMIN_METADATA,
    USER_METADATA,
    VERSION_BUMP,
    Lookups,
    host_base,
    index_entries,
    index_hash,
    pairs_in,
    visibility_expected,
    visible,
)
from cinderdb.magneto.paging import compare, matches, metadata_filter_value, page
from cinderdb.magneto.shapes import volume_record
from cinderdb.magneto.sorted_index import SORTED_DEPENDS
from cinderdb.magneto.sorted_pages import SortedPages, Source
from cinderdb.records import Record, blank, coerce_metadata, coerce_values, column_names, utcnow

#: Boolean columns that are False, not None, when a create does not name them.
_FALSE_BY_DEFAULT = ("deleted", "bootable", "multiattach")


def _optional_metadata(values: Mapping[str, Any], key: str) -> dict[str, str] | None:
    raw = values.get(key)
    return None if raw is None else coerce_metadata(raw)


def _check_host(host: Any) -> None:
    if host is not None and not isinstance(host, str):
        raise exception.InvalidInput(reason=f"host must be a string, not {type(host).__name__}")


class VolumeFunctions(SortedPages, Lookups):
    """Volumes: create, get, lists from index tables and inverted metadata, update, destroy,
    aggregates, migration."""

    # ---------------------------------------------------------------- create

    def volume_create(self, context: RequestContext, values: Mapping[str, Any]) -> Record:
        """1 batch_get_item (duplicate id, type, group), 1 batch_write_item (index entries),
        one update_item per metadata pair (inverted sets), then the put_item of the volume."""
        row = coerce_values("volume", values)
        metadata = _optional_metadata(values, "metadata") or {}
        admin_metadata = (
            (_optional_metadata(values, "admin_metadata") or {}) if context.is_admin else {}
        )
        if not row.get("id"):
            row["id"] = new_id()
        volume_id = row["id"]
        if context.is_user_context and row.get("project_id") != context.project_id:
            # Liberty inserts, then fails to re-read it through the user's project scope (V1).
            raise exception.VolumeNotFound(volume_id=volume_id)
        if row.get("created_at") is None:
            row["created_at"] = utcnow()
        for flag in _FALSE_BY_DEFAULT:
            if row.get(flag) is None:
                row[flag] = False
        record = {**blank("volume"), **row}
        wanted: dict[str, list[tuple[Any, ...]]] = {"volumes": [(volume_id,)]}
        if record["volume_type_id"] is not None:
            wanted["volume_types"] = [(record["volume_type_id"],)]
        if record["consistencygroup_id"] is not None:
            wanted["consistencygroups"] = [(record["consistencygroup_id"],)]
        found = self.get_many(wanted)
        if found["volumes"]:
            raise exception.DBDuplicateEntry(reason=f"volume {volume_id} exists")
        group = (found.get("consistencygroups") or [None])[0]
        if record["consistencygroup_id"] is not None and group is None:
            raise exception.ConsistencyGroupNotFound(
                consistencygroup_id=record["consistencygroup_id"]
            )
        volume_type = (found.get("volume_types") or [None])[0]
        item = to_item("volume", record)
        if volume_type is not None and "name" in volume_type:
            item["volume_type_name"] = volume_type["name"]
        if metadata:
            item["volume_metadata"] = ssm(metadata)
        if admin_metadata:
            item["volume_admin_metadata"] = ssm(admin_metadata)
        item["version"] = n(1)
        self.add_entries(index_entries(self.index_rules_for("volumes"), record, volume_id))
        self.add_ids("volume_metadata", metadata.items(), "volume_ids", [volume_id])
        self.add_ids("volume_admin_metadata", admin_metadata.items(), "volume_ids", [volume_id])
        if not self.put_if("volumes", item, {"id": {"exists": False}}):
            # Lost a race for the id: the journal takes back the second copies the winner
            # does not also call for.
            raise exception.DBDuplicateEntry(reason=f"volume {volume_id} exists")
        return volume_record(
            item,
            admin=context.is_admin,
            extra_specs=True,
            volume_type=volume_type,
            group=group,
        )

    # ------------------------------------------------------------------ read

    def volume_get(self, context: RequestContext, volume_id: str) -> Record:
        """1 get_item, + 1 batch_get_item for the type and group when it has either."""
        return self.volume_result(context, self.volume_item(context, volume_id))

    def _candidates(
        self, plan: FilterPlan, ids: set[str] | None, marker: str | None
    ) -> list[Wire] | None:
        """The items a list starts from: ids given by an index table and/or the inverted
        tables (one batch_get_item per 100), else a scan of ``volumes``; the marker's item
        rides in the same batch. None when a metadata filter can match nothing."""
        if plan.metadata:
            holders = self.ids_of_pairs(plan.metadata)
            if holders is None:
                return None
            ids = holders if ids is None else ids & holders
        if ids is None and "project_id" in plan.equal:
            project = index_hash("volumes_by_project", plan.equal["project_id"])
            ids = set(self.index_ids("volumes_by_project", project))
        if ids is None:
            return self.scan_all("volumes")
        wanted = ids | ({marker} if marker is not None else set())
        return self.get_many({"volumes": [(i,) for i in sorted(wanted)]})["volumes"]

    def _filtered(
        self, context: RequestContext, items: Sequence[Wire], plan: FilterPlan
    ) -> list[tuple[Record, Wire]]:
        """(record columns, item) of the items the filters and ``read_deleted`` keep."""
        kept = []
        for item in items:
            if not visible(context, item, scoped=False):
                continue
            record = from_item("volume", item)
            if not matches(record, plan):
                continue
            if any(not pairs_in(item, k, v) for k, v in self._metadata_pairs(plan)):
                continue
            kept.append((record, item))
        return kept

    @staticmethod
    def _metadata_pairs(plan: FilterPlan) -> list[tuple[str, str]]:
        return [(k, metadata_filter_value(v)) for k, v in plan.metadata.items()]

    def _volume_page(
        self,
        context: RequestContext,
        marker: str | None,
        limit: int | None,
        sort_keys: Sequence[str] | None,
        sort_dirs: Sequence[str] | None,
        filters: Mapping[str, Any] | None,
        offset: int | None,
    ) -> list[Record]:
        """Liberty's order of checks (sort arguments, filters, the marker's ``volume_get``,
        sort keys), then filter, sort and page in Python (``cinderdb.magneto.paging``)."""
        keys, dirs = process_sort_params(sort_keys, sort_dirs, default_dir="desc")
        plan = plan_volume_filters(filters)
        if plan is NO_MATCH:
            return []
        source = self.sorted_source(plan, keys, dirs) if self.sorted_index else None
        if source is not None:
            return self._sorted_volume_page(
                context, source, plan, keys, dirs, marker, limit, offset
            )
        items = self._candidates(plan, None, marker)
        if items is None:
            return []
        marker_record = self.marker_record(
            context, "volume", marker, exception.VolumeNotFound(volume_id=marker), items
        )
        check_sort_keys("volume", keys)
        kept = self._filtered(context, items, plan)
        by_id = {record["id"]: item for record, item in kept}
        paged = page([record for record, _ in kept], keys, dirs, marker_record, limit, offset)
        return self.volume_records(context, [by_id[r["id"]] for r in paged], extra_specs=False)

    def _sorted_volume_page(
        self,
        context: RequestContext,
        source: Source,
        plan: FilterPlan,
        keys: Sequence[str],
        dirs: Sequence[str],
        marker: str | None,
        limit: int | None,
        offset: int | None,
    ) -> list[Record]:
        """``_volume_page`` from a sorted project index (``sorted_pages``): the same checks
        in the same order, the metadata filter's holders (inverted tables) screening the
        entries, then the seed's filter, sort and slice on what was read."""
        holders = None
        if plan.metadata:
            holders = self.ids_of_pairs(plan.metadata)
            if holders is None:
                return []
        marker_record = self.marker_record(
            context, "volume", marker, exception.VolumeNotFound(volume_id=marker)
        )
        check_sort_keys("volume", keys)
        metadata = self._metadata_pairs(plan)

        def keep(item: Wire, record: Record) -> bool:
            return (
                visible(context, item, scoped=False)
                and matches(record, plan)
                and all(pairs_in(item, k, v) for k, v in metadata)
            )

        need = None if limit is None else (offset or 0) + limit
        if holders is not None and (need is None or len(holders) <= need):
            # Fewer holders than the page wants: reading them is cheaper than the index.
            wanted = [(i,) for i in sorted(holders)]
            found = self.get_many({"volumes": wanted})["volumes"] if wanted else []
            kept = self._filtered(context, found, plan)
            if marker_record is not None:
                kept = [(r, i) for r, i in kept if compare(r, marker_record, keys, dirs) > 0]
        else:
            kept = self.sorted_page(source, keys, dirs, marker_record, need, holders, keep)
        by_id = {record["id"]: item for record, item in kept}
        paged = page([record for record, _ in kept], keys, dirs, None, limit, offset)
        return self.volume_records(context, [by_id[r["id"]] for r in paged], extra_specs=False)

    def _unsorted_list(
        self, context: RequestContext, ids: set[str] | None, filters: Mapping[str, Any] | None
    ) -> list[tuple[Record, Wire]] | None:
        plan = plan_volume_filters(filters)
        if plan is NO_MATCH:
            return None
        items = self._candidates(plan, ids, None)
        if items is None:
            return None
        kept = self._filtered(context, items, plan)
        return sorted(kept, key=lambda pair: pair[0]["id"])

    def volume_get_all_by_host(
        self, context: RequestContext, host: str, filters: Mapping[str, Any] | None = None
    ) -> list[Record]:
        """1 query on volumes_by_host (the host's base name), the candidates' batch_get_item,
        then the pool match ``host == H or host LIKE 'H#%'`` on each item."""
        _check_host(host)
        if not host:
            return []
        ids = set(self.index_ids("volumes_by_host", host_base(host)))
        kept = self._unsorted_list(context, ids, filters) or []
        items = [item for record, item in kept if pool_host_matches(record["host"], host)]
        return self.volume_records(context, items, extra_specs=False)

    def volume_get_all_by_group(
        self, context: RequestContext, group_id: str, filters: Mapping[str, Any] | None = None
    ) -> list[Record]:
        """1 query on volumes_by_group and the batch_get_item (a scan for group None)."""
        if group_id is None:
            ids = {i["id"]["S"] for i in self.scan_all(
                "volumes", {"consistencygroup_id": {"comparison_operator": "NULL"}}, ["id"]
            )}  # fmt: skip
        else:
            ids = set(self.index_ids("volumes_by_group", group_id))
        kept = self._unsorted_list(context, ids, filters) or []
        items = [item for record, item in kept if record["consistencygroup_id"] == group_id]
        return self.volume_records(context, items, extra_specs=False)

    # ---------------------------------------------------------------- update

    def volume_update(
        self, context: RequestContext, volume_id: str, values: Mapping[str, Any]
    ) -> Record:
        row = coerce_values("volume", values)
        row.pop("id", None)  # a volume keeps its id (V5)
        metadata = _optional_metadata(values, "metadata")
        admin_metadata = _optional_metadata(values, "admin_metadata") if context.is_admin else None
        if "updated_at" not in row:
            row["updated_at"] = utcnow()
        references = self._references(context, volume_id, row)
        if metadata is None and admin_metadata is None:
            item = self._update_columns(context, volume_id, row, references)
        else:
            item = self._update_with_metadata(
                context, volume_id, row, references, metadata, admin_metadata
            )
        return self._result_with(context, item, references)

    def _references(
        self, context: RequestContext, volume_id: str, row: Mapping[str, Any]
    ) -> dict[str, Wire | None]:
        """The type and group items an update names (one batch_get_item, only when it names
        one): the type's name for ``volume_type_name``, the group must exist."""
        wanted: dict[str, list[tuple[Any, ...]]] = {}
        if row.get("volume_type_id") is not None:
            wanted["volume_types"] = [(row["volume_type_id"],)]
        if row.get("consistencygroup_id") is not None:
            wanted["consistencygroups"] = [(row["consistencygroup_id"],)]
        found = self.get_many(wanted) if wanted else {}
        references: dict[str, Wire | None] = {}
        if "volume_type_id" in row:
            references["volume_type"] = (found.get("volume_types") or [None])[0]
        if "consistencygroup_id" in row:
            group = (found.get("consistencygroups") or [None])[0]
            if row["consistencygroup_id"] is not None and group is None:
                self.volume_item(context, volume_id)  # Liberty reads the volume first
                raise exception.ConsistencyGroupNotFound(
                    consistencygroup_id=row["consistencygroup_id"]
                )
            references["group"] = group
        return references

    def _result_with(
        self, context: RequestContext, item: Wire, references: Mapping[str, Wire | None]
    ) -> Record:
        """The ``volume_get`` record of an updated item; references already read are reused."""
        if "volume_type" in references and "group" in references:
            return volume_record(
                item,
                admin=context.is_admin,
                extra_specs=True,
                volume_type=references["volume_type"],
                group=references["group"],
            )
        return self.volume_result(context, item)

    @staticmethod
    def _column_updates(row: Mapping[str, Any], references: Mapping[str, Wire | None]) -> Wire:
        updates = changes_to_updates("volume", row)
        if "volume_type" in references:
            vtype = references["volume_type"]
            updates["volume_type_name"] = (
                {"action": "PUT", "value": vtype["name"]}
                if vtype is not None and "name" in vtype
                else {"action": "DELETE"}
            )
        return {**updates, **VERSION_BUMP}

    def _update_columns(
        self,
        context: RequestContext,
        volume_id: str,
        row: Mapping[str, Any],
        references: Mapping[str, Wire | None],
    ) -> Wire:
        """Column changes only: no read. The new index entries first, one conditional
        update_item (visible to the caller, ALL_OLD), then the old entries' removal. A change
        that moves a sorted-index entry needs the volume's other sort columns: a versioned
        read-modify-write (``rewrite_volume``)."""
        updates = self._column_updates(row, references)
        if self.sorted_index and SORTED_DEPENDS & row.keys():
            return self.rewrite_volume(context, volume_id, lambda _: (updates, {}), columns=row)
        changed = {c: row[c] for c in self.volume_indexed if c in row}
        self.add_entries(
            index_entries(
                [rule for rule in self.volume_indexes if rule.column in changed], changed, volume_id
            )
        )
        old = self.update_if(
            "volumes",
            (volume_id,),
            updates,
            expected=visibility_expected(context, scoped=True),
            return_values="ALL_OLD",
        )
        if old is None:
            raise exception.VolumeNotFound(volume_id=volume_id)
        new = applied(key_of(self.tables["volumes"], volume_id), old, updates) or {}
        self.retire_entries(volume_id, old, new)
        return new

    def _update_with_metadata(
        self,
        context: RequestContext,
        volume_id: str,
        row: Mapping[str, Any],
        references: Mapping[str, Wire | None],
        metadata: Mapping[str, str] | None,
        admin_metadata: Mapping[str, str] | None,
    ) -> Wire:
        """Metadata replaced too: the inverted sets need the old maps, so a versioned
        read-modify-write (``modify``: 1 get_item + 1 conditional update_item)."""
        replacing = {
            USER_METADATA: metadata,
            ADMIN_METADATA: admin_metadata,
        }
        base_updates = self._column_updates(row, references)
        return self.rewrite_volume(
            context,
            volume_id,
            lambda item: (
                base_updates,
                {
                    kind: dict(new) if new is not None else string_map(item, kind[0])
                    for kind, new in replacing.items()
                },
            ),
            columns=row,
        )

    # --------------------------------------------------------------- destroy

    def volume_destroy(self, context: RequestContext, volume_id: str) -> None:
        """1 update_item (ALL_OLD: the maps it empties), one update_item per retired metadata
        pair, then a scan of iscsi_targets and of transfers (no index on volume_id there)."""
        now = utcnow()
        retire_maps = {
            "volume_metadata": {"action": "DELETE"},
            "volume_admin_metadata": {"action": "DELETE"},
            **VERSION_BUMP,
        }
        columns = {
            "status": "deleted",
            "deleted": True,
            "deleted_at": now,
            "migration_status": None,
        }
        updates = {**changes_to_updates("volume", columns), **retire_maps}
        if self.sorted_index:
            self._destroy_sorted(context, volume_id, columns, retire_maps)
            self._release_rest(volume_id, now)
            return
        old = self.update_if(
            "volumes",
            (volume_id,),
            updates,
            expected=visibility_expected(context, scoped=False),
            return_values="ALL_OLD",
        )
        if old is None:
            self._retire_hidden(volume_id, retire_maps)
        else:
            self._remove_metadata_ids(volume_id, old)
        self._release_rest(volume_id, now)

    def _destroy_sorted(
        self,
        context: RequestContext,
        volume_id: str,
        columns: Mapping[str, Any],
        retire_maps: Wire,
    ) -> None:
        """``volume_destroy`` when the status has a sorted index: its entry moves to
        ``deleted``, which needs the volume's ``created_at``, so a versioned
        read-modify-write (``rewrite_volume``: new entries, the volume, the metadata ids and
        the old entries, in the seed's order)."""
        mark = self.savepoint()
        try:
            self.rewrite_volume(
                context,
                volume_id,
                lambda _: (
                    changes_to_updates("volume", columns),
                    {USER_METADATA: {}, ADMIN_METADATA: {}},
                ),
                scoped=False,
            )
            return
        except exception.VolumeNotFound:
            self.undo_since(mark)  # what an attempt that lost a race wrote
        self._retire_hidden(volume_id, retire_maps)

    def _retire_hidden(self, volume_id: str, retire_maps: Wire) -> None:
        """A volume missing, or hidden by read_deleted: Liberty still retires its live
        metadata (its maps emptied, its ids taken out of the inverted sets)."""
        old = self.update_if(
            "volumes",
            (volume_id,),
            retire_maps,
            expected={"id": {"exists": True}},
            return_values="ALL_OLD",
        )
        self._remove_metadata_ids(volume_id, old)

    def _remove_metadata_ids(self, volume_id: str, old: Wire | None) -> None:
        """The volume's id out of the inverted set of each metadata pair its maps held."""
        for attribute, table in (USER_METADATA, ADMIN_METADATA) if old else ():
            self.remove_ids(table, string_map(old, attribute).items(), "volume_ids", [volume_id])

    def _release_rest(self, volume_id: str, now: Any) -> None:
        """What Liberty's destroy does to the seed's unchanged tables: iscsi_targets lose the
        volume id, live transfers are soft-deleted. No index: one scan each."""
        on_volume = {"comparison_operator": "EQ", "attribute_value_list": [s(volume_id)]}
        for target in self.scan_all("iscsi_targets", {"volume_id": on_volume}):
            self.update_if(
                "iscsi_targets",
                (target["id"]["N"],),
                {"volume_id": {"action": "DELETE"}},
                expected={"id": {"exists": True}},
            )
        live = {"comparison_operator": "EQ", "attribute_value_list": [n(0)]}
        for transfer in self.scan_all("transfers", {"volume_id": on_volume, "deleted": live}):
            self.update_if(
                "transfers",
                (transfer["id"]["S"],),
                {
                    "deleted": {"action": "PUT", "value": n(1)},
                    "deleted_at": {"action": "PUT", "value": s(now.strftime("%Y-%m-%dT%H:%M:%S"))},
                },
                expected={"id": {"exists": True}},
            )

    # ------------------------------------------------------------ aggregates

    def _live_items(self, index: str, hash_value: str) -> list[Wire]:
        ids = self.index_ids(index, hash_value)
        if not ids:
            return []
        items = self.get_many({"volumes": [(i,) for i in ids]})["volumes"]
        return [item for item in items if item.get("deleted", n(0))["N"] == "0"]

    def volume_data_get_for_host(
        self, context: RequestContext, host: str, count_only: bool = False
    ) -> tuple[int, int] | int:
        """1 query on volumes_by_host + the batch_get_item of its volumes."""
        if not isinstance(host, str):
            raise exception.InvalidInput(reason=f"host must be a string, not {type(host).__name__}")
        items = [
            item
            for item in self._live_items("volumes_by_host", host_base(host))
            if pool_host_matches(item["host"]["S"] if "host" in item else None, host)
        ]
        count = len(items)
        total = sum(int(item["size"]["N"]) for item in items if "size" in item)
        return count if count_only else (count, total)

    def volume_data_get_for_project(
        self, context: RequestContext, project_id: str, volume_type_id: str | None = None
    ) -> tuple[int, int]:
        """1 query on volumes_by_project + the batch_get_item of its volumes."""
        items = self._live_items("volumes_by_project", index_hash("volumes_by_project", project_id))
        if volume_type_id:
            items = [i for i in items if i.get("volume_type_id", {}).get("S") == volume_type_id]
        return len(items), sum(int(i["size"]["N"]) for i in items if "size" in i)

    # ------------------------------------------------------------- migration

    def finish_volume_migration(
        self, context: RequestContext, src_vol_id: str, dest_vol_id: str
    ) -> tuple[Record, Record]:
        """Swap the columns as Liberty does (§4.8): 1 batch_get_item of both volumes, their
        new index entries, one conditional update_item each (versions read; a conflict
        re-reads that volume), old entries removed, 1 batch_get_item for the records."""
        found = {
            i["id"]["S"]: i
            for i in self.get_many({"volumes": [(src_vol_id,), (dest_vol_id,)]})["volumes"]
        }
        src_item, dest_item = found.get(src_vol_id), found.get(dest_vol_id)
        for volume_id, item in ((src_vol_id, src_item), (dest_vol_id, dest_item)):
            if not visible(context, item, scoped=True):
                raise exception.VolumeNotFound(volume_id=volume_id)
        assert src_item is not None
        assert dest_item is not None
        before_src, before_dest = from_item("volume", src_item), from_item("volume", dest_item)
        now = utcnow()

        def swapped(own: Mapping[str, Any], other: Mapping[str, Any], to_dest: bool) -> Wire:
            row: dict[str, Any] = {}
            for key in column_names("volume"):
                if key in ("id", "provider_location"):
                    continue
                if key == "_name_id":
                    if to_dest and not own["_name_id"]:
                        row["_name_id"] = before_src["id"]
                    continue
                value = other[key]
                if key == "migration_status":
                    value = "deleting" if to_dest else None
                elif key == "display_description" and to_dest:
                    value = f"migration src for {before_src['id']}"
                elif key == "status" and to_dest:
                    value = "deleting"
                row[key] = value
            row["updated_at"] = now
            return row

        new_rows = {
            src_vol_id: (swapped(before_src, before_dest, False), dest_item),
            dest_vol_id: (swapped(before_dest, before_src, True), src_item),
        }
        entries = set()
        for volume_id, (row, _) in new_rows.items():
            current = {**from_item("volume", found[volume_id]), **row}
            entries |= index_entries(self.index_rules_for("volumes"), current, volume_id)
        self.add_entries(entries)
        results = {}
        for volume_id, (row, other_item) in new_rows.items():
            updates = {**changes_to_updates("volume", row), **VERSION_BUMP}
            updates["volume_type_name"] = (
                {"action": "PUT", "value": other_item["volume_type_name"]}
                if "volume_type_name" in other_item
                else {"action": "DELETE"}
            )
            item = found[volume_id]
            expected = (
                {"version": {"value": item["version"]}}
                if "version" in item
                else {"id": {"exists": True}, "version": {"exists": False}}
            )
            new = self.update_if(
                "volumes", (volume_id,), updates, expected=expected, return_values="ALL_NEW"
            )
            if new is None:
                new = self._migrate_again(context, volume_id, row, updates, before_src)
            results[volume_id] = new
            self.retire_entries(volume_id, item, new)
        src_record, dest_record = self.volume_records(
            context, [results[src_vol_id], results[dest_vol_id]], extra_specs=True
        )
        return src_record, dest_record

    def _migrate_again(
        self,
        context: RequestContext,
        volume_id: str,
        row: Mapping[str, Any],
        updates: Wire,
        before_src: Mapping[str, Any],
    ) -> Wire:
        """The versioned write of one side lost a race: re-read it and write again
        (its new columns depend only on the other side as first read)."""

        def change(item: Wire | None) -> Wire | None:
            if not visible(context, item, scoped=True):
                raise exception.VolumeNotFound(volume_id=volume_id)
            assert item is not None
            redone = {k: v for k, v in updates.items() if k != "version"}
            if volume_id != before_src["id"] and "_name_id" in row and "_name_id" in item:
                redone.pop("_name_id", None)  # the destination's own name id won meanwhile
            return redone

        new = self.modify("volumes", (volume_id,), change)
        assert new is not None
        return new
