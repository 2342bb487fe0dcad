"""Consistency groups and cgsnapshots: items keyed by id, listed through index tables.

``consistencygroups_by_project``, ``cgsnapshots_by_project`` and
``cgsnapshots_by_group`` hold keys only; a soft-deleted group or cgsnapshot keeps
its entries (Liberty lists deleted rows under ``read_deleted``), and an item
whose column is None has no entry. Every reader checks the items it fetched
(project, group, ``read_deleted``, filters), so an entry a crash left behind is
never returned. Writes: the entries before the item on create, the item before
the entries' removal on a move; the visibility rules become ``expected``
conditions of the one update_item an update or destroy is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cinderdb import exception
from cinderdb.base import NO_MATCH, new_id, plan_equality_filters
from cinderdb.context import RequestContext
from cinderdb.magneto.core import MagnetoCore
from cinderdb.magneto.entries import index_entries, rules_for
from cinderdb.magneto.items import Wire, changes_to_updates, encode_value, from_item, n, s, to_item
from cinderdb.records import FIELDS, Record, blank, coerce_values, utcnow

GROUPS = "consistencygroups"
CGSNAPSHOTS = "cgsnapshots"
GROUPS_BY_PROJECT = "consistencygroups_by_project"
CGSNAPSHOTS_BY_PROJECT = "cgsnapshots_by_project"
CGSNAPSHOTS_BY_GROUP = "cgsnapshots_by_group"

_GROUP = "consistencygroup"
_CGSNAPSHOT = "cgsnapshot"
_BASE = {_GROUP: GROUPS, _CGSNAPSHOT: CGSNAPSHOTS}
_NOT_FOUND = {
    _GROUP: lambda i: exception.ConsistencyGroupNotFound(consistencygroup_id=i),
    _CGSNAPSHOT: lambda i: exception.CgSnapshotNotFound(cgsnapshot_id=i),
}
_KINDS = {f.name: f.kind for kind in (_GROUP, _CGSNAPSHOT) for f in FIELDS[kind]}


def _deleted_ok(context: RequestContext, record: Record) -> bool:
    """Whether ``read_deleted`` shows the record."""
    return {"no": not record["deleted"], "only": bool(record["deleted"]), "yes": True}[
        context.read_deleted
    ]


def _visible(context: RequestContext, record: Record) -> bool:
    """``model_query(project_only=True)``: read_deleted, and a user's own project."""
    if context.is_user_context and record["project_id"] != context.project_id:
        return False
    return _deleted_ok(context, record)


def _visibility_expected(context: RequestContext) -> Wire:
    """The same rule as ``expected`` conditions of a write (an update sees what a get sees)."""
    expected: Wire = {"id": {"exists": True}}
    if context.read_deleted == "no":
        expected = {"deleted": {"value": n(0)}}
    elif context.read_deleted == "only":
        expected = {"deleted": {"value": n(1)}}
    if context.is_user_context:
        expected["project_id"] = {"value": s(context.project_id)}
    return expected


def _ordered(records: list[Record]) -> list[Record]:
    """Liberty-free order the SQL backend uses for these lists: created_at (NULL first), id."""
    return sorted(
        records, key=lambda r: (r["created_at"] is not None, r["created_at"] or 0, r["id"])
    )


class GroupFunctions(MagnetoCore):
    """Consistency groups and cgsnapshots."""

    # ------------------------------------------------------------- helpers

    def _get_visible(self, context: RequestContext, kind: str, item_id: str) -> Record:
        item = self.get(_BASE[kind], item_id) if isinstance(item_id, str) else None
        record = None if item is None else from_item(kind, item)
        if record is None or not _visible(context, record):
            raise _NOT_FOUND[kind](item_id)
        return record

    def _create(self, context: RequestContext, kind: str, values: Mapping[str, Any]) -> Record:
        """Index entries first (one batch_write_item), then the item if its id is free.

        A user naming another project gets NotFound before anything is written
        (Liberty inserts, fails its project-scoped re-read, and rolls back).
        """
        columns = coerce_values(kind, values)
        columns["id"] = columns.get("id") or new_id()
        fresh = {"created_at": utcnow(), "deleted": False}
        record = {
            **blank(kind),
            **columns,
            **{k: v for k, v in fresh.items() if columns.get(k) is None},
        }
        if not _visible(context, record):
            raise _NOT_FOUND[kind](record["id"])
        rules = rules_for(_BASE[kind], self.index_rules)
        self.add_entries(index_entries(rules, record, record["id"]))
        if not self.put_if(_BASE[kind], to_item(kind, record), {"id": {"exists": False}}):
            raise exception.DBDuplicateEntry(reason=f"{kind} id {record['id']} exists")
        return record

    def _update(
        self, context: RequestContext, kind: str, item_id: str, values: Mapping[str, Any]
    ) -> Record:
        """One update_item, conditional on what a get would show (NotFound otherwise), with
        ``updated_at`` now. A change of an indexed column writes the new entry before the
        item and removes the old one after it."""
        changes = coerce_values(kind, values)
        changes.pop("id", None)
        changes["updated_at"] = utcnow()
        if not isinstance(item_id, str):
            raise _NOT_FOUND[kind](item_id)
        rules = rules_for(_BASE[kind], self.index_rules)
        moved = [rule for rule in rules if rule.column in changes]
        new_entries = index_entries(moved, changes, item_id)
        self.add_entries(new_entries)
        old = self.update_if(
            _BASE[kind],
            (item_id,),
            changes_to_updates(kind, changes),
            _visibility_expected(context),
            return_values="ALL_OLD",
        )
        if old is None:
            raise _NOT_FOUND[kind](item_id)
        before = from_item(kind, old)
        self.remove_entries(index_entries(moved, before, item_id) - new_entries)
        return {**before, **changes}

    def _destroy(self, kind: str, item_id: str) -> None:
        """One conditional update_item (status 'deleted', ``updated_at`` kept); a missing or
        already deleted item is not an error (quirk §14.6 kept). Index entries stay."""
        if not isinstance(item_id, str):
            return
        changes = {"status": "deleted", "deleted": True, "deleted_at": utcnow()}
        self.update_if(
            _BASE[kind],
            (item_id,),
            changes_to_updates(kind, changes),
            {"deleted": {"value": n(0)}},
        )

    # ------------------------------------------------------------- groups

    def consistencygroup_create(self, context: RequestContext, values: Mapping[str, Any]) -> Record:
        return self._create(context, _GROUP, values)

    def consistencygroup_get(self, context: RequestContext, consistencygroup_id: str) -> Record:
        return self._get_visible(context, _GROUP, consistencygroup_id)

    def consistencygroup_get_all(self, context: RequestContext) -> list[Record]:
        """A scan: no key lists every group."""
        items = self.scan_all(GROUPS, _deleted_filter(context))
        records = [from_item(_GROUP, item) for item in items]
        return _ordered([r for r in records if _deleted_ok(context, r)])

    def consistencygroup_get_all_by_project(
        self, context: RequestContext, project_id: str
    ) -> list[Record]:
        records = listed(self, _GROUP, GROUPS_BY_PROJECT, project_id)
        return _ordered(
            [r for r in records if r["project_id"] == project_id and _deleted_ok(context, r)]
        )

    def consistencygroup_update(
        self, context: RequestContext, consistencygroup_id: str, values: Mapping[str, Any]
    ) -> Record:
        return self._update(context, _GROUP, consistencygroup_id, values)

    def consistencygroup_destroy(self, context: RequestContext, consistencygroup_id: str) -> None:
        self._destroy(_GROUP, consistencygroup_id)

    def consistencygroup_data_get_for_project(
        self, context: RequestContext, project_id: str
    ) -> tuple[int, int]:
        return (0, group_count(self, project_id))

    # --------------------------------------------------------- cgsnapshots

    def cgsnapshot_create(self, context: RequestContext, values: Mapping[str, Any]) -> Record:
        """The group must exist, deleted or not (the seed's foreign key): one get_item first."""
        group_id = coerce_values(_CGSNAPSHOT, values).get("consistencygroup_id")
        if group_id is None or self.get(GROUPS, group_id) is None:
            raise exception.ConsistencyGroupNotFound(consistencygroup_id=group_id)
        return self._create(context, _CGSNAPSHOT, values)

    def cgsnapshot_get(self, context: RequestContext, cgsnapshot_id: str) -> Record:
        return self._get_visible(context, _CGSNAPSHOT, cgsnapshot_id)

    def cgsnapshot_get_all(
        self, context: RequestContext, filters: Mapping[str, Any] | None = None
    ) -> list[Record]:
        """A scan; the equality filters go to the server as a scan filter."""
        plan = plan_equality_filters(_CGSNAPSHOT, filters)
        if plan is NO_MATCH:
            return []
        scan_filter = _deleted_filter(context) or {}
        for column, value in plan.equal.items():
            if column != "deleted":
                scan_filter[column] = (
                    {"comparison_operator": "NULL"}
                    if value is None
                    else _eq(encode_value(_KINDS[column], value))
                )
        items = self.scan_all(CGSNAPSHOTS, scan_filter or None)
        return self._cgsnapshots([from_item(_CGSNAPSHOT, i) for i in items], context, plan.equal)

    def cgsnapshot_get_all_by_group(
        self, context: RequestContext, group_id: str, filters: Mapping[str, Any] | None = None
    ) -> list[Record]:
        plan = plan_equality_filters(_CGSNAPSHOT, filters)
        if plan is NO_MATCH:
            return []
        records = listed(self, _CGSNAPSHOT, CGSNAPSHOTS_BY_GROUP, group_id)
        return self._cgsnapshots(records, context, {**plan.equal}, consistencygroup_id=group_id)

    def cgsnapshot_get_all_by_project(
        self, context: RequestContext, project_id: str, filters: Mapping[str, Any] | None = None
    ) -> list[Record]:
        plan = plan_equality_filters(_CGSNAPSHOT, filters)
        if plan is NO_MATCH:
            return []
        records = listed(self, _CGSNAPSHOT, CGSNAPSHOTS_BY_PROJECT, project_id)
        return self._cgsnapshots(records, context, {**plan.equal}, project_id=project_id)

    @staticmethod
    def _cgsnapshots(
        records: Sequence[Record],
        context: RequestContext,
        equal: Mapping[str, Any],
        **restrictions: str,
    ) -> list[Record]:
        """The filters ANDed with the restrictions (a conflicting pair matches nothing)."""
        kept = [
            r
            for r in records
            if _deleted_ok(context, r)
            and all(r[c] == v for c, v in equal.items())
            and all(r[c] == v for c, v in restrictions.items())
        ]
        return _ordered(kept)

    def cgsnapshot_update(
        self, context: RequestContext, cgsnapshot_id: str, values: Mapping[str, Any]
    ) -> Record:
        group_id = coerce_values(_CGSNAPSHOT, values).get("consistencygroup_id")
        if group_id is not None and self.get(GROUPS, group_id) is None:
            # The seed's foreign key refuses a move to a group that does not exist (after
            # the cgsnapshot's own NotFound, as Liberty's flush comes after its read).
            self._get_visible(context, _CGSNAPSHOT, cgsnapshot_id)
            raise exception.DBReferenceError(reason=f"no consistency group {group_id}")
        return self._update(context, _CGSNAPSHOT, cgsnapshot_id, values)

    def cgsnapshot_destroy(self, context: RequestContext, cgsnapshot_id: str) -> None:
        self._destroy(_CGSNAPSHOT, cgsnapshot_id)


def listed(core: MagnetoCore, kind: str, index: str, hash_value: str) -> list[Record]:
    """The items an index lists under ``hash_value``: one query, one batch_get_item (none
    when the index lists nothing). Callers check each item against what they asked for."""
    ids = core.index_ids(index, hash_value)
    if not ids:
        return []
    items = core.get_many({_BASE[kind]: [(i,) for i in ids]})[_BASE[kind]]
    return [from_item(kind, item) for item in items]


def group_count(core: MagnetoCore, project_id: str) -> int:
    """Live groups of a project (``_sync_consistencygroups`` too): the index, then the items."""
    records = listed(core, _GROUP, GROUPS_BY_PROJECT, project_id)
    return sum(1 for r in records if r["project_id"] == project_id and not r["deleted"])


def _eq(value: Wire) -> Wire:
    return {"comparison_operator": "EQ", "attribute_value_list": [value]}


def _deleted_filter(context: RequestContext) -> dict[str, Wire] | None:
    """The scan filter ``read_deleted`` implies (None for 'yes')."""
    if context.read_deleted == "yes":
        return None
    return {"deleted": _eq(n(1 if context.read_deleted == "only" else 0))}
