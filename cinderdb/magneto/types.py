"""Volume types with their extra_specs map and projects set, and type-QoS associations.

One item per type holds what MySQL spreads over volume_types,
volume_type_extra_specs and volume_type_projects, so extra specs and access
change with one atomic update_item each (ADD/DELETE on the map or set,
conditional on a live type; UPDATED_OLD tells "already there" from "added").
Names are unique among live types through the ``volume_types_by_name`` index
(``names.py``): a conditional put-if-absent, atomic where Liberty's
check-then-insert is not. Two pairs are dual-written here:

- ``volume_type_name``: a rename rewrites ``volume_type_name`` on every volume
  of the type. The seed has no index of volumes by type, so they are found by a
  scan of ``volumes`` (and so is ``volume_type_destroy``'s "in use" check); the
  ``type_index`` option adds that index (``volumes_by_type``) and both read it;
- ``qos_type_associations``: the type's ``qos_specs_id`` and the spec's
  ``volume_types`` set. The set is written first (a crash leaves an extra member,
  which readers check against the type), and every writer re-reads what a
  concurrent writer could have undone (see ``docs/magnetodb-design.md``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cinderdb import exception
from cinderdb.base import check_filters, is_uuid_like, new_id
from cinderdb.context import RequestContext
from cinderdb.magneto import names
from cinderdb.magneto.core import MAX_ATTEMPTS, MagnetoCore
from cinderdb.magneto.items import (
    Wire,
    changes_to_updates,
    from_item,
    n,
    s,
    ss,
    ssm,
    string_map,
    string_set,
    to_item,
)
from cinderdb.magneto.journal import UNDONE, Undo
from cinderdb.magneto.qos import LIVE, QOS, associated_types, is_live, set_members
from cinderdb.magneto.shapes import qos_record, type_record
from cinderdb.records import (
    Field,
    Kind,
    Record,
    blank,
    coerce_metadata,
    coerce_value,
    coerce_values,
    utcnow,
)

TYPES = "volume_types"
VOLUMES = "volumes"
#: volumes by type (the ``type_index`` option)
VOLUMES_BY_TYPE = "volumes_by_type"
TYPE_NAMES = names.NameIndex("volume_types_by_name", "volume_type_id", TYPES)
_NAME = Field("name", Kind.STRING, 255, nullable=False)
_PROJECT = Field("project_id", Kind.STRING, 255, nullable=False)
_IS_PUBLIC = Field("is_public", Kind.BOOLEAN)
_VERSION_UP: Wire = {"version": {"action": "ADD", "value": n(1)}}


def _eq(value: Wire) -> Wire:
    return {"comparison_operator": "EQ", "attribute_value_list": [value]}


def _pointer_is(qos_specs_id: str | None) -> Wire:
    """``expected`` for "the type's qos_specs_id is still this" (None: has none)."""
    if qos_specs_id is None:
        return {"qos_specs_id": {"exists": False}}
    return {"qos_specs_id": {"value": s(qos_specs_id)}}


def _pointer(item: Wire) -> str | None:
    return item.get("qos_specs_id", {}).get("S")


def _visible(context: RequestContext, item: Wire) -> bool:
    """Liberty's type visibility: admins see all; users see public types and private
    types their project has access to."""
    if context.is_admin:
        return True
    public = item.get("is_public", {}).get("N") == "1"
    return public or context.project_id in string_set(item, "projects")


def _unchanged(item: Wire) -> Wire:
    """``expected`` for "still the live version that was read"."""
    version = item.get("version")
    return {**LIVE, "version": {"value": version} if version else {"exists": False}}


class VolumeTypeFunctions(MagnetoCore):
    """Volume types, extra specs, type access and type-QoS associations."""

    # ------------------------------------------------------------- helpers

    @staticmethod
    def _record(context: RequestContext, item: Wire, projects: bool = False) -> Record:
        """A type dict; ``extra_specs`` only for admins (Liberty removes the key for users)."""
        return type_record(item, extra_specs=bool(context.is_admin), projects=projects)

    def _type(self, context: RequestContext, type_id: str, inactive: bool = False) -> Wire:
        """A visible type (live unless ``inactive``), or ``VolumeTypeNotFound``."""
        item = self.get(TYPES, type_id) if isinstance(type_id, str) else None
        if item is None or not (inactive or is_live(item)) or not _visible(context, item):
            raise exception.VolumeTypeNotFound(volume_type_id=type_id)
        return item

    def _type_by_name(self, context: RequestContext, name: str) -> Wire:
        """By name, without visibility (quirk §14.8 kept), under the context's read_deleted.

        The index entry and the item it names (two get_items). The index holds live
        names only, so deleted types of that name are found by a scan (live first,
        then the newest, as the SQL backend orders them).
        """
        if isinstance(name, str):
            if context.read_deleted != "only":
                holder = names.holder(self, TYPE_NAMES, name)
                item = self.get(TYPES, holder) if holder is not None else None
                if names.confirmed(item, name):
                    return item  # type: ignore[return-value]
            if context.read_deleted != "no":
                deleted = self.scan_all(TYPES, {"name": _eq(s(name)), "deleted": _eq(n(1))})
                if deleted:
                    return min(deleted, key=lambda i: names.by_name_order(i, "volume_type"))
        raise exception.VolumeTypeNotFoundByName(volume_type_name=name)

    def _sync_type_names(self, type_id: str, name: str) -> None:
        """Give every volume of the type the type's ``name`` in ``volume_type_name``.

        ``_volumes_of_type`` finds the volumes (a scan on the seed); each update is
        conditional on the volume still having the type. Then the type is read again:
        if a concurrent rename changed the name meanwhile, the volumes are brought to
        the newer name, so the last rename to finish leaves every volume consistent.
        """
        for _ in range(MAX_ATTEMPTS):
            volumes = self._volumes_of_type(type_id, ["id", "volume_type_name"])
            for volume in volumes:
                if volume.get("volume_type_name", {}).get("S") != name:
                    self.update_if(
                        VOLUMES,
                        (volume["id"]["S"],),
                        {"volume_type_name": {"action": "PUT", "value": s(name)}},
                        expected={"volume_type_id": {"value": s(type_id)}},
                    )
            current = self.get(TYPES, type_id)
            if current is None or current["name"]["S"] == name:
                return
            name = current["name"]["S"]
            self.note_contention("retry")  # renamed meanwhile: bring the volumes along again
        self.note_contention("give_up")
        raise exception.DBConflict(target=f"volume_type_name of {type_id}", attempts=MAX_ATTEMPTS)

    # ------------------------------------------------------- types: write

    def volume_type_create(
        self,
        context: RequestContext,
        values: Mapping[str, Any],
        projects: Sequence[str] | None = None,
    ) -> Record:
        """Claim the name (put-if-absent on the index), then put the item if its id is free.

        A crash between the two leaves a name entry naming nothing; ``names.claim``
        takes it over once it is old.
        """
        columns = coerce_values("volume_type", values)
        columns["name"] = coerce_value(_NAME, columns.get("name"))
        if columns.get("is_public") is None:
            columns["is_public"] = True
        specs = coerce_metadata(values.get("extra_specs") or {})
        access = list(dict.fromkeys(coerce_value(_PROJECT, p) for p in projects or ()))
        type_id = columns.get("id") or new_id()
        fresh = {"created_at": utcnow(), "deleted": False}
        record = {
            **blank("volume_type"),
            **columns,
            **{k: v for k, v in fresh.items() if columns.get(k) is None},
            "id": type_id,
        }
        if record["deleted"]:
            # Liberty re-reads the new type as a live one and rolls back: nothing is stored.
            raise exception.VolumeTypeNotFound(volume_type_id=type_id)
        item = to_item("volume_type", record)
        if specs:
            item["extra_specs"] = ssm(specs)
        if access:
            item["projects"] = ss(access)
        item["version"] = n(1)
        if not names.claim(self, TYPE_NAMES, record["name"], type_id):
            raise exception.VolumeTypeExists(id=record["name"])
        if not self.put_if(TYPES, item, {"id": {"exists": False}}):  # the claim is undone
            if is_live(self.get(TYPES, type_id)):
                raise exception.VolumeTypeExists(id=type_id)
            raise exception.DBDuplicateEntry(reason=f"volume type id {type_id} was used before")
        return self._record(context, item)

    def volume_type_update(
        self, context: RequestContext, volume_type_id: str, values: Mapping[str, Any]
    ) -> Record:
        """Read, then a conditional update on the version read (retried on conflict).

        A rename first claims the new name, then updates the type, then releases
        the old name and rewrites ``volume_type_name`` on the type's volumes. (A claim
        a failed call made is taken back by its journal.)
        """
        if not isinstance(values, Mapping):
            raise exception.InvalidInput(reason="values must be a dict")
        wanted = {key: values[key] for key in ("name", "description", "is_public") if key in values}
        changes = {k: v for k, v in coerce_values("volume_type", wanted).items() if v is not None}
        claimed: str | None = None
        for attempt in range(MAX_ATTEMPTS):
            item = self._type(context, volume_type_id)
            current = from_item("volume_type", item)
            diff = {k: v for k, v in changes.items() if current[k] != v}
            if not diff:
                return self._record(context, item)
            if "name" in diff and claimed != diff["name"]:
                if not names.claim(self, TYPE_NAMES, diff["name"], current["id"]):
                    if names.confirmed(self.get(TYPES, current["id"]), diff["name"]):
                        self.note_contention("retry")
                        continue  # renamed so meanwhile by another call: read it again
                    raise exception.VolumeTypeExists(id=diff["name"])
                claimed = diff["name"]
            updates = {
                **changes_to_updates("volume_type", {**diff, "updated_at": utcnow()}),
                **_VERSION_UP,
            }
            new = self.update_if(
                TYPES, (current["id"],), updates, _unchanged(item), return_values="ALL_NEW"
            )
            if new is not None:
                break
            self.retrying(attempt)
        else:
            self.note_contention("give_up")
            raise exception.DBConflict(
                target=f"volume type {volume_type_id}", attempts=MAX_ATTEMPTS
            )
        if "name" in diff:
            names.release(self, TYPE_NAMES, current["name"], current["id"])
            self._sync_type_names(current["id"], diff["name"])
        elif claimed is not None and claimed != new["name"]["S"]:
            names.release(self, TYPE_NAMES, claimed, current["id"])  # claimed, then not used
        return self._record(context, new)

    def volume_type_destroy(self, context: RequestContext, id: str) -> None:
        """ "In use" is a scan of ``volumes`` with a filter (the type's index entries with
        ``type_index``),
        then one conditional update soft-deletes the type and drops its extra specs, then
        the name entry goes (a crash before that leaves an entry naming a deleted type,
        which ``names.claim`` takes over at once)."""
        if self._in_use(context, id):
            self._type(context, id)  # NotFound comes before InUse, as in Liberty
            raise exception.VolumeTypeInUse(volume_type_id=id)
        updates = {
            **changes_to_updates("volume_type", {"deleted": True, "deleted_at": utcnow()}),
            "extra_specs": {"action": "DELETE"},
            **_VERSION_UP,
        }
        old = self.update_if(TYPES, (id,), updates, expected=LIVE, return_values="ALL_OLD")
        if old is None:
            raise exception.VolumeTypeNotFound(volume_type_id=id)
        names.release(self, TYPE_NAMES, old["name"]["S"], id)

    def _volumes_of_type(self, type_id: str, attributes: Sequence[str]) -> list[Wire]:
        """The volumes (deleted ones too) whose ``volume_type_id`` is ``type_id``: a scan of
        ``volumes`` on the seed; with ``type_index``, the type's entries in
        ``volumes_by_type`` and one batch get of their volumes (an entry a crash left,
        naming a volume of another type, is skipped: readers check entries)."""
        if not self.design.has("type_index"):
            return self.scan_all(
                VOLUMES, {"volume_type_id": _eq(s(type_id))}, attributes_to_get=list(attributes)
            )
        ids = self.index_ids(VOLUMES_BY_TYPE, type_id)
        if not ids:
            return []
        volumes = self.get_many({VOLUMES: [(volume_id,) for volume_id in ids]})[VOLUMES]
        return [v for v in volumes if v.get("volume_type_id", {}).get("S") == type_id]

    def _in_use(self, context: RequestContext, type_id: str) -> bool:
        """Whether a volume visible under the context's read_deleted has the type."""
        volumes = self._volumes_of_type(type_id, ["id", "deleted"])
        wanted = {"no": (False,), "only": (True,), "yes": (False, True)}[context.read_deleted]
        return any((volume.get("deleted", {}).get("N") == "1") in wanted for volume in volumes)

    # -------------------------------------------------------- types: read

    def volume_type_get_all(
        self,
        context: RequestContext,
        inactive: bool = False,
        filters: Mapping[str, Any] | None = None,
    ) -> dict[str, Record]:
        """A scan of ``volume_types`` (live ones unless ``inactive``); visibility and the
        ``is_public`` filter are applied to the items read."""
        check_filters(filters)
        is_public = coerce_value(_IS_PUBLIC, (filters or {}).get("is_public"))
        items = self.scan_all(TYPES, None if inactive else {"deleted": _eq(n(0))})
        chosen = []
        for item in items:
            if not _visible(context, item):
                continue
            if is_public is not None:
                public = item.get("is_public", {}).get("N") == "1"
                granted = context.project_id is not None and context.project_id in string_set(
                    item, "projects"
                )
                if not (public == is_public or (is_public and granted)):
                    continue
            chosen.append(item)
        # By name; should deleted types share a name (``inactive``), the one the SQL
        # backend's ORDER BY puts last wins: the live one, else the newest.
        records = [from_item("volume_type", item) | {"_item": item} for item in chosen]
        records.sort(
            key=lambda r: (
                r["name"],
                not r["deleted"],
                r["created_at"] is not None,
                r["created_at"] or 0,
                r["id"],
            )
        )
        return {r["name"]: self._record(context, r["_item"]) for r in records}

    def volume_type_get(
        self,
        context: RequestContext,
        id: str,
        inactive: bool = False,
        expected_fields: Sequence[str] | None = None,
    ) -> Record:
        projects = "projects" in (expected_fields or ())
        return self._record(context, self._type(context, id, inactive), projects=projects)

    def volume_type_get_by_name(self, context: RequestContext, name: str) -> Record:
        return self._record(context, self._type_by_name(context, name))

    def volume_types_get_by_name_or_id(
        self, context: RequestContext, volume_type_list: Sequence[str]
    ) -> list[Record]:
        """Ids and name entries in one batch_get_item, then the named types in a second."""
        if isinstance(volume_type_list, str) or not isinstance(volume_type_list, Sequence):
            raise exception.InvalidInput(reason="volume_type_list must be a list")
        entries = list(volume_type_list)
        if context.read_deleted != "no":
            return [
                self._record(
                    context,
                    self._type(context, e) if is_uuid_like(e) else self._type_by_name(context, e),
                )
                for e in entries
            ]
        ids = {e for e in entries if is_uuid_like(e)}
        by_name = {e for e in entries if isinstance(e, str)} - ids
        first = self.get_many(
            {TYPES: [(i,) for i in ids], TYPE_NAMES.table: [(k,) for k in by_name]}
        )
        types = {item["id"]["S"]: item for item in first[TYPES]}
        holders = {
            entry["name"]["S"]: entry[TYPE_NAMES.id_attribute]["S"]
            for entry in first[TYPE_NAMES.table]
        }
        missing = sorted(set(holders.values()) - types.keys())
        if missing:
            types.update(
                (item["id"]["S"], item)
                for item in self.get_many({TYPES: [(i,) for i in missing]})[TYPES]
            )
        result = []
        for entry in entries:
            if is_uuid_like(entry):
                item = types.get(entry)
                if item is None or not is_live(item) or not _visible(context, item):
                    raise exception.VolumeTypeNotFound(volume_type_id=entry)
            else:
                key = entry if isinstance(entry, str) else None
                item = types.get(holders.get(key, ""))  # type: ignore[arg-type]
                if not names.confirmed(item, entry):
                    raise exception.VolumeTypeNotFoundByName(volume_type_name=entry)
            result.append(self._record(context, item))  # type: ignore[arg-type]
        return result

    # --------------------------------------------------------- QoS links

    def volume_type_qos_associations_get(
        self, context: RequestContext, qos_specs_id: str, inactive: bool = False
    ) -> list[Record]:
        """The spec's ``volume_types`` set, then those types (get_item + batch_get_item)."""
        return associated_types(self, self.get(QOS, qos_specs_id), qos_specs_id, inactive)

    def volume_type_qos_associate(
        self, context: RequestContext, type_id: str, qos_specs_id: str
    ) -> None:
        """Add the type to the spec's set (conditional on a live spec: QoSSpecsNotFound), then
        point the type at the spec (conditional on the pointer read), then reconcile the
        spec's set and the previous spec's set with the pointer (``_reconcile``). Undone,
        the set ADD is a reconcile too: the member stays exactly if the pointer names it."""
        added = False
        for attempt in range(MAX_ATTEMPTS):
            item = self._type(context, type_id)
            if not added:
                relink = Undo(
                    lambda: f"make {qos_specs_id}'s set agree with {type_id}'s pointer",
                    lambda: self._reconcile([qos_specs_id], type_id, None) or UNDONE,
                )
                if (
                    self.update_if(
                        QOS,
                        (qos_specs_id,),
                        _add_member(type_id),
                        LIVE,
                        compensate=lambda _old, _new, undo=relink: undo,
                    )
                    is None
                ):
                    raise exception.QoSSpecsNotFound(specs_id=qos_specs_id)
                added = True
            previous = _pointer(item)
            updates = {
                "qos_specs_id": {"action": "PUT", "value": s(qos_specs_id)},
                **changes_to_updates("volume_type", {"updated_at": utcnow()}),
                **_VERSION_UP,
            }
            expected = {**LIVE, **_pointer_is(previous)}
            new = self.update_if(TYPES, (type_id,), updates, expected, "ALL_NEW")
            if new is not None:
                break
            self.retrying(attempt)
        else:
            self.note_contention("give_up")
            raise exception.DBConflict(target=f"volume type {type_id}", attempts=MAX_ATTEMPTS)
        touched = [qos_specs_id] + ([previous] if previous not in (None, qos_specs_id) else [])
        self._reconcile(touched, type_id, new)

    def volume_type_qos_disassociate(
        self, context: RequestContext, qos_specs_id: str, type_id: str
    ) -> None:
        """Clear the pointer if it is this spec (one conditional update), then reconcile the
        spec's set with it."""
        updates = {
            "qos_specs_id": {"action": "DELETE"},
            **changes_to_updates("volume_type", {"updated_at": utcnow()}),
            **_VERSION_UP,
        }
        expected = {**LIVE, **_pointer_is(qos_specs_id)}
        new = None
        if isinstance(type_id, str):
            new = self.update_if(TYPES, (type_id,), updates, expected, "ALL_NEW")
        if new is None:
            self._type(context, type_id)  # VolumeTypeNotFound, or "not this spec": no change
            return
        self._reconcile([qos_specs_id], type_id, new)

    def volume_type_qos_disassociate_all(self, context: RequestContext, qos_specs_id: str) -> None:
        """Every type of the spec's set (deleted ones too) loses the pointer if it is still
        this spec (a conditional update each), then the set is emptied of them, then the
        types are read again (one batch_get_item) and any pointing back is reconciled."""
        spec = self.get(QOS, qos_specs_id)
        members = sorted(string_set(spec, "volume_types")) if spec is not None else []
        if not members:
            return
        updates = {
            "qos_specs_id": {"action": "DELETE"},
            **changes_to_updates("volume_type", {"updated_at": utcnow()}),
            **_VERSION_UP,
        }
        for type_id in members:
            self.update_if(TYPES, (type_id,), updates, _pointer_is(qos_specs_id))
        self.update_if(QOS, (qos_specs_id,), set_members("volume_types", members, "DELETE"))
        for item in self.get_many({TYPES: [(t,) for t in members]})[TYPES]:
            if _pointer(item) == qos_specs_id:  # associated again meanwhile
                self._reconcile([qos_specs_id], item["id"]["S"], item)

    def _reconcile(self, spec_ids: Sequence[str], type_id: str, seen: Wire | None) -> None:
        """Make each spec's ``volume_types`` set agree with the type's pointer.

        The set change (ADD if the pointer names the spec, else DELETE) is unconditional;
        then the type is read again, and if its version moved meanwhile (a concurrent
        association write), the check is redone with what it says now. Every pointer
        write is followed by its writer's reconcile, so the last set change of a pair is
        always one made against the pointer's current version.
        """
        for attempt in range(MAX_ATTEMPTS):
            item = seen if seen is not None else self.get(TYPES, type_id)
            pointer = _pointer(item) if item is not None else None
            for spec_id in spec_ids:
                if pointer == spec_id:  # ADD only to a spec item that exists (maybe deleted)
                    self.update_if(QOS, (spec_id,), _add_member(type_id), {"id": {"exists": True}})
                else:
                    self.update_if(
                        QOS, (spec_id,), set_members("volume_types", [type_id], "DELETE")
                    )
            seen = self.get(TYPES, type_id)
            if (seen or {}).get("version") == (item or {}).get("version"):
                return
            self.retrying(attempt)
        self.note_contention("give_up")
        raise exception.DBConflict(target=f"QoS links of {type_id}", attempts=MAX_ATTEMPTS)

    def volume_type_qos_specs_get(
        self, context: RequestContext, type_id: str
    ) -> dict[str, Record | None]:
        """The type, then its spec (two get_items); a deleted spec reads as None."""
        qos_specs_id = _pointer(self._type(context, type_id))
        spec = self.get(QOS, qos_specs_id) if qos_specs_id is not None else None
        return {"qos_specs": qos_record(spec) if is_live(spec) else None}  # type: ignore[arg-type]

    # ------------------------------------------------------------- access

    def volume_type_access_get_all(self, context: RequestContext, type_id: str) -> list[Record]:
        item = self._type(context, type_id)
        return [
            {"volume_type_id": item["id"]["S"], "project_id": project}
            for project in sorted(string_set(item, "projects"))
        ]

    def volume_type_access_add(
        self, context: RequestContext, type_id: str, project_id: str
    ) -> Record:
        """One update_item: ADD to the set, conditional on a live type; UPDATED_OLD tells
        whether the project was there already (then nothing changed)."""
        project_id = coerce_value(_PROJECT, project_id)
        old = self._update_access(type_id, project_id, "ADD")
        if project_id in string_set(old, "projects"):
            raise exception.VolumeTypeAccessExists(volume_type_id=type_id, project_id=project_id)
        return {"volume_type_id": type_id, "project_id": project_id}

    def volume_type_access_remove(
        self, context: RequestContext, type_id: str, project_id: str
    ) -> None:
        """One update_item: DELETE from the set, conditional on a live type. A revocation
        leaves no row behind, so remove, add, remove works (quirk §14.9b fixed)."""
        if isinstance(project_id, str):
            old = self._update_access(type_id, project_id, "DELETE")
            found = project_id in string_set(old, "projects")
        else:
            self._type(context, type_id)
            found = False
        if not found:
            raise exception.VolumeTypeAccessNotFound(volume_type_id=type_id, project_id=project_id)

    def _update_access(self, type_id: str, project_id: str, action: str) -> Wire:
        old = None
        if isinstance(type_id, str):
            updates = set_members("projects", [project_id], action)
            old = self.update_if(TYPES, (type_id,), updates, LIVE, "UPDATED_OLD")
        if old is None:
            raise exception.VolumeTypeNotFound(volume_type_id=type_id)
        return old

    # -------------------------------------------------------- extra specs

    def volume_type_extra_specs_get(
        self, context: RequestContext, volume_type_id: str
    ) -> dict[str, str]:
        item = self.get(TYPES, volume_type_id) if isinstance(volume_type_id, str) else None
        return string_map(item, "extra_specs") if item is not None else {}

    def volume_type_extra_specs_delete(
        self, context: RequestContext, volume_type_id: str, key: str
    ) -> None:
        """One update_item removing the key; UPDATED_OLD says whether it was there. (A
        destroyed type has no specs left: they are dropped with it.)"""
        found = False
        if isinstance(volume_type_id, str) and isinstance(key, str):
            updates = {"extra_specs": {"action": "DELETE", "value": {"SS": [key]}}}
            old = self.update_if(TYPES, (volume_type_id,), updates, return_values="UPDATED_OLD")
            found = key in string_map(old or {}, "extra_specs")
        if not found:
            raise exception.VolumeTypeExtraSpecsNotFound(
                extra_specs_key=key, volume_type_id=volume_type_id
            )

    def volume_type_extra_specs_update_or_create(
        self, context: RequestContext, volume_type_id: str, extra_specs: Mapping[str, str]
    ) -> dict[str, str]:
        """One update_item merging the specs into the map (ADD), conditional on a live type."""
        specs = coerce_metadata(extra_specs)
        if not specs:
            self._type(context.elevated(), volume_type_id)
        elif not isinstance(volume_type_id, str) or (
            self.update_if(
                TYPES,
                (volume_type_id,),
                {"extra_specs": {"action": "ADD", "value": ssm(specs)}},
                LIVE,
            )
            is None
        ):
            raise exception.VolumeTypeNotFound(volume_type_id=volume_type_id)
        return specs


def _add_member(*type_ids: str) -> Wire:
    return set_members("volume_types", type_ids, "ADD")
