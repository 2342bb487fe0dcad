"""QoS specs: one item per spec (name, consumer, ``specs`` map, ``volume_types`` set).

The SQL layout (a root row plus one child row per key) becomes one item, so
every QoS write is a single atomic update_item: keys are merged with an ADD on
the map and removed with a DELETE of map keys; conditions (``expected``) stand
in for the existence checks. Names are unique among live specs through the
``qos_specs_by_name`` index (``names.py``). The ``volume_types`` set is the
second copy of the types' ``qos_specs_id`` (pair ``qos_type_associations``);
the association functions in ``types.py`` write both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cinderdb import exception
from cinderdb.base import new_id
from cinderdb.context import RequestContext
from cinderdb.magneto import names
from cinderdb.magneto.core import MagnetoCore
from cinderdb.magneto.items import (
    Wire,
    changes_to_updates,
    n,
    s,
    ss,
    ssm,
    string_map,
    string_set,
    to_item,
)
from cinderdb.magneto.shapes import qos_record, type_record
from cinderdb.records import Field, Kind, Record, coerce_metadata, coerce_value, utcnow

QOS = "quality_of_service_specs"
TYPES = "volume_types"
QOS_NAMES = names.NameIndex("qos_specs_by_name", "qos_specs_id", QOS)
#: The key Liberty's root row uses for the name (``cinderdb.sql.qos.ROOT_KEY``): reserved.
ROOT_KEY = "QoS_Specs_Name"
#: ``expected`` that holds only for a live item.
LIVE: Wire = {"deleted": {"value": n(0)}}
_NAME = Field("name", Kind.STRING, 255, nullable=False)


def is_live(item: Wire | None) -> bool:
    return item is not None and item.get("deleted", {}).get("N", "0") == "0"


def checked_specs(specs: Any) -> dict[str, str]:
    """Spec pairs checked as the SQL key/value columns check them; the root's key is reserved."""
    checked = coerce_metadata(specs)
    if ROOT_KEY in checked:
        raise exception.InvalidInput(reason=f"{ROOT_KEY} is reserved for the spec's name")
    return checked


def associated_types(
    core: MagnetoCore, spec: Wire | None, qos_specs_id: str, inactive: bool
) -> list[Record]:
    """The types of a spec's ``volume_types`` set that point at it (one batch_get_item).

    The set may hold a type that no longer points here (a crash between the two
    writes of a disassociation): the type item is the authority, so it is checked.
    """
    members = sorted(string_set(spec, "volume_types")) if spec is not None else []
    if not members:
        return []
    items = core.get_many({TYPES: [(type_id,) for type_id in members]})[TYPES]
    records = [
        type_record(item, extra_specs=False)
        for item in items
        if item.get("qos_specs_id", {}).get("S") == qos_specs_id and (inactive or is_live(item))
    ]
    return sorted(records, key=lambda r: (r["name"] or "", r["id"]))


def set_members(attribute: str, ids: Iterable[str], action: str) -> Wire:
    """An ``attribute_updates`` entry that adds or removes ids of an SS attribute."""
    return {attribute: {"action": action, "value": ss(ids)}}


class QosFunctions(MagnetoCore):
    """QoS specs; the associations delegate to ``types.py``, which writes both copies."""

    def _spec(self, qos_specs_id: str, inactive: bool = False) -> Wire:
        item = self.get(QOS, qos_specs_id)
        if item is None or not (inactive or is_live(item)):
            raise exception.QoSSpecsNotFound(specs_id=qos_specs_id)
        return item

    # ----------------------------------------------------------------- API

    def qos_specs_create(self, context: RequestContext, values: Mapping[str, Any]) -> Record:
        """Claim the name (conditional put on the index), then put the item: a crash between
        the two leaves a name entry that names nothing, which ``names.claim`` takes over."""
        if not isinstance(values, Mapping):
            raise exception.InvalidInput(reason="values must be a dict")
        name = coerce_value(_NAME, values.get("name"))
        specs = checked_specs(values.get("qos_specs") or {})
        consumer = specs.pop("consumer", None)
        spec_id = new_id()
        if not names.claim(self, QOS_NAMES, name, spec_id):
            raise exception.QoSSpecsExists(specs_id=name)
        record = {"id": spec_id, "name": name, "consumer": consumer}
        item = to_item("qos_specs", {**record, "created_at": utcnow(), "deleted": False})
        if specs:
            item["specs"] = ssm(specs)
        item["version"] = n(1)
        if not self.put_if(QOS, item, {"id": {"exists": False}}):  # the claim is undone
            raise exception.DBDuplicateEntry(reason=f"QoS specs id {spec_id} exists")
        return {"id": spec_id, "name": name}

    def qos_specs_get(
        self, context: RequestContext, qos_specs_id: str, inactive: bool = False
    ) -> Record:
        return qos_record(self._spec(qos_specs_id, inactive))

    def qos_specs_get_all(
        self,
        context: RequestContext,
        inactive: bool = False,
        filters: Mapping[str, Any] | None = None,
    ) -> list[Record]:
        # A scan: no key lists every spec. ``filters`` is ignored, as in Liberty.
        scan_filter = None if inactive else {"deleted": _eq(n(0))}
        records = [qos_record(item) for item in self.scan_all(QOS, scan_filter)]
        return sorted(records, key=lambda r: (r["name"] or "", r["id"]))

    def qos_specs_get_by_name(
        self, context: RequestContext, name: str, inactive: bool = False
    ) -> Record:
        """The index entry and the item it names (two get_items); with ``inactive`` and no
        live spec of that name, a scan for deleted ones (the index holds live names only)."""
        if isinstance(name, str):
            holder = names.holder(self, QOS_NAMES, name)
            item = self.get(QOS, holder) if holder is not None else None
            if names.confirmed(item, name):
                return qos_record(item)  # type: ignore[arg-type]
            if inactive:
                deleted = self.scan_all(QOS, {"name": _eq(s(name)), "deleted": _eq(n(1))})
                if deleted:
                    return qos_record(
                        min(deleted, key=lambda i: names.by_name_order(i, "qos_specs"))
                    )
        raise exception.QoSSpecsNotFound(specs_id=name)

    def qos_specs_associations_get(
        self, context: RequestContext, qos_specs_id: str
    ) -> list[Record]:
        spec = self._spec(qos_specs_id)
        return associated_types(self, spec, qos_specs_id, inactive=False)

    def qos_specs_associate(self, context: RequestContext, qos_specs_id: str, type_id: str) -> None:
        self.volume_type_qos_associate(context, type_id, qos_specs_id)  # type: ignore[attr-defined]

    def qos_specs_disassociate(
        self, context: RequestContext, qos_specs_id: str, type_id: str
    ) -> None:
        self.volume_type_qos_disassociate(context, qos_specs_id, type_id)  # type: ignore[attr-defined]

    def qos_specs_disassociate_all(self, context: RequestContext, qos_specs_id: str) -> None:
        self.volume_type_qos_disassociate_all(context, qos_specs_id)  # type: ignore[attr-defined]

    def qos_specs_item_delete(self, context: RequestContext, qos_specs_id: str, key: str) -> None:
        """One update_item removing the key; its UPDATED_OLD says whether the key was there.
        (A deleted spec has no keys left, as Liberty's children are deleted with the root.)"""
        found = False
        if isinstance(key, str):
            if key == "consumer":
                updates: Wire = {"consumer": {"action": "DELETE"}}
            else:
                updates = {"specs": {"action": "DELETE", "value": {"SS": [key]}}}
            old = self.update_if(QOS, (qos_specs_id,), updates, return_values="UPDATED_OLD")
            if key == "consumer":
                found = bool(old and "consumer" in old)
            else:
                found = key in string_map(old or {}, "specs")
        if not found:
            raise exception.QoSSpecsKeyNotFound(specs_key=key, specs_id=qos_specs_id)

    def qos_specs_delete(self, context: RequestContext, qos_specs_id: str) -> None:
        """Soft-delete the item and drop its keys (one conditional update), then the name entry.

        Associations are left alone (Liberty): types keep pointing at the spec and the
        spec keeps its ``volume_types`` set.
        """
        updates = {
            **changes_to_updates("qos_specs", {"deleted": True, "deleted_at": utcnow()}),
            "consumer": {"action": "DELETE"},
            "specs": {"action": "DELETE"},
        }
        old = self.update_if(QOS, (qos_specs_id,), updates, expected=LIVE, return_values="ALL_OLD")
        if old is None:
            raise exception.QoSSpecsNotFound(specs_id=qos_specs_id)
        names.release(self, QOS_NAMES, old["name"]["S"], qos_specs_id)

    def qos_specs_update(
        self, context: RequestContext, qos_specs_id: str, specs: Mapping[str, str]
    ) -> Mapping[str, str]:
        """Merge keys into the map (an ADD) and set ``consumer``, conditional on a live spec."""
        checked = checked_specs(specs)
        others = {k: v for k, v in checked.items() if k != "consumer"}
        updates: Wire = {}
        if others:
            updates["specs"] = {"action": "ADD", "value": ssm(others)}
        if "consumer" in checked:
            updates["consumer"] = {"action": "PUT", "value": s(checked["consumer"])}
        if not updates:
            self._spec(qos_specs_id)
        elif self.update_if(QOS, (qos_specs_id,), updates, expected=LIVE) is None:
            raise exception.QoSSpecsNotFound(specs_id=qos_specs_id)
        return checked


def _eq(value: Wire) -> Wire:
    return {"comparison_operator": "EQ", "attribute_value_list": [value]}
