"""Every class of every dual-write pair kind, forced by writing one copy directly (no API
call): each corruption returns the pair, class and values of the finding it must give
(``test_dualwrite_checks``; ``test_dualwrite_digests`` applies them all at once)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cinderdb.magneto.lookups import property_of
from tests.validators.dualwrite_support import Store
from validators.findings import MISSING, ORPHAN, STALE

GHOST = "dead0000-0000-4000-8000-000000000000"


def full_volume(store: Store) -> dict[str, Any]:
    return next(
        v
        for v in store.data.volumes
        if v["metadata"] and v["attachments"] and v["volume_type_id"] and not v["deleted"]
    )


def _entry_missing(client: Any, store: Store) -> dict[str, Any]:
    volume = full_volume(store)
    key = {"project_id": {"S": volume["project_id"]}, "volume_id": {"S": volume["id"]}}
    client.delete_item("volumes_by_project", key)
    return {"check": "volumes_by_project", "cls": MISSING, "expected": volume["project_id"]}


def _entry_orphan(client: Any, store: Store) -> dict[str, Any]:
    item = {"host": {"S": "ghost-host"}, "volume_id": {"S": GHOST}}
    client.put_item("volumes_by_host", item)
    return {"check": "volumes_by_host", "cls": ORPHAN, "actual": "ghost-host"}


def _member_missing(client: Any, store: Store) -> dict[str, Any]:
    holders: dict[tuple[str, str], list[str]] = {}
    for volume in store.data.volumes:
        for pair in volume["metadata"].items():
            holders.setdefault(pair, []).append(volume["id"])
    (key, value), ids = next((p, ids) for p, ids in sorted(holders.items()) if len(ids) > 1)
    volume = {"id": ids[0]}  # others still hold the pair: the property item stays
    client.update_item(
        "volume_metadata",
        {"property": {"S": property_of(key, value)}},
        {"volume_ids": {"action": "DELETE", "value": {"SS": [volume["id"]]}}},
    )
    return {"check": "volume_metadata", "cls": MISSING, "expected": [key, value]}


def member_orphan(client: Any, store: Store) -> dict[str, Any]:
    volume = full_volume(store)
    key, value = sorted(volume["metadata"].items())[0]
    client.update_item(
        "volume_metadata",
        {"property": {"S": property_of(key, value)}},
        {"volume_ids": {"action": "ADD", "value": {"SS": [GHOST]}}},
    )
    return {"check": "volume_metadata", "cls": ORPHAN, "actual": [key, value]}


def _row_stale(client: Any, store: Store) -> dict[str, Any]:
    attachment = next(a for a in full_volume(store)["attachments"] if not a["deleted"])
    client.update_item(
        "volume_attachment",
        {"id": {"S": attachment["id"]}},
        {"mountpoint": {"action": "PUT", "value": {"S": "/dev/changed"}}},
    )
    return {"check": "volume_attachments", "cls": STALE, "field": "mountpoint"}


def _row_missing(client: Any, store: Store) -> dict[str, Any]:
    attachment = next(a for a in full_volume(store)["attachments"] if not a["deleted"])
    client.delete_item("volume_attachment", {"id": {"S": attachment["id"]}})
    return {"check": "volume_attachments", "cls": MISSING}


def _name_copy_stale(client: Any, store: Store) -> dict[str, Any]:
    volume = full_volume(store)
    client.update_item(
        "volumes",
        {"id": {"S": volume["id"]}},
        {"volume_type_name": {"action": "PUT", "value": {"S": "old-name"}}},
    )
    return {"check": "volume_type_name", "cls": STALE, "actual": "old-name"}


def _name_copy_missing(client: Any, store: Store) -> dict[str, Any]:
    volume = full_volume(store)
    client.update_item(
        "volumes", {"id": {"S": volume["id"]}}, {"volume_type_name": {"action": "DELETE"}}
    )
    return {"check": "volume_type_name", "cls": MISSING, "actual": None}


def _set_member_missing(client: Any, store: Store) -> dict[str, Any]:
    vtype = next(t for t in store.data.volume_types if t["qos_specs_id"])
    client.update_item(
        "quality_of_service_specs",
        {"id": {"S": vtype["qos_specs_id"]}},
        {"volume_types": {"action": "DELETE", "value": {"SS": [vtype["id"]]}}},
    )
    return {"check": "qos_type_associations", "cls": MISSING, "expected": vtype["qos_specs_id"]}


def _name_entry_stale(client: Any, store: Store) -> dict[str, Any]:
    first, second = store.data.volume_types[:2]
    client.put_item(
        "volume_types_by_name",
        {
            "name": {"S": first["name"]},
            "volume_type_id": {"S": second["id"]},
            "created_at": {"S": "2015-10-15T00:00:00"},
        },
    )
    return {"check": "volume_types_by_name", "cls": STALE, "expected": first["id"]}


CORRUPTIONS: dict[str, Callable[[Any, Store], dict[str, Any]]] = {
    "index entry deleted": _entry_missing,
    "index entry for no item": _entry_orphan,
    "set member deleted": _member_missing,
    "set member for no item": member_orphan,
    "row changed behind its map": _row_stale,
    "row deleted": _row_missing,
    "copied name changed": _name_copy_stale,
    "copied name removed": _name_copy_missing,
    "association removed from the set": _set_member_missing,
    "name entry pointing elsewhere": _name_entry_stale,
}
