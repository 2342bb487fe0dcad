"""What each check calls a finding, and what it must not.

The design's own states are not findings: index entries of soft-deleted
items, a host keyed by its base name, a None project under ``NULL_KEY``,
retired attachment rows in no map, a deleted type without a name entry, a
QoS set that still lists a deleted type. Then every class of every kind is
forced by writing one copy directly (no API call), found with the values of
both copies, and repaired.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from cinderdb import get_admin_context
from cinderdb.magneto.lookups import property_of
from cinderdb.magneto.tables import NULL_KEY
from tests.validators.dualwrite_support import (
    Store,
    repair,
    store_fixture,  # noqa: F401 - the ``store`` fixture
)
from validators.findings import MISSING, ORPHAN, STALE

GHOST = "dead0000-0000-4000-8000-000000000000"


def test_the_designs_own_states_are_not_findings(store: Store) -> None:
    api, admin = store.backend, get_admin_context()
    volume = next(v for v in store.data.volumes if v["multiattach"] and not v["deleted"])
    api.volume_create(
        admin, {"id": GHOST, "project_id": None, "host": "node@lvm#pool-2", "size": 1}
    )
    api.volume_destroy(admin, GHOST)  # soft-deleted: its entries stay (read_deleted lists it)
    attachment = api.volume_attach(admin, {"volume_id": volume["id"]})
    api.volume_attached(admin, attachment["id"], None, "node", "/dev/vdz", "rw")
    api.volume_detached(admin, volume["id"], attachment["id"])  # a retired row, in no map
    vtype = api.volume_type_create(admin, {"name": "to-delete"})
    api.volume_type_qos_associate(admin, vtype["id"], store.data.qos_specs[0]["id"])
    api.volume_type_destroy(admin, vtype["id"])  # deleted: no name entry, still in the set
    validation = store.validate()
    assert validation.ok, validation.findings
    client = store.client()
    entry = client.get_item(
        "volumes_by_project", {"project_id": {"S": NULL_KEY}, "volume_id": {"S": GHOST}}
    )
    assert "item" in entry  # the state checked above really holds a NULL_KEY entry
    client.close()


def _volume(store: Store) -> dict[str, Any]:
    return next(
        v
        for v in store.data.volumes
        if v["metadata"] and v["attachments"] and v["volume_type_id"] and not v["deleted"]
    )


def _entry_missing(client: Any, store: Store) -> dict[str, Any]:
    volume = _volume(store)
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


def _member_orphan(client: Any, store: Store) -> dict[str, Any]:
    volume = _volume(store)
    key, value = sorted(volume["metadata"].items())[0]
    client.update_item(
        "volume_metadata",
        {"property": {"S": property_of(key, value)}},
        {"volume_ids": {"action": "ADD", "value": {"SS": [GHOST]}}},
    )
    return {"check": "volume_metadata", "cls": ORPHAN, "actual": [key, value]}


def _row_stale(client: Any, store: Store) -> dict[str, Any]:
    attachment = next(a for a in _volume(store)["attachments"] if not a["deleted"])
    client.update_item(
        "volume_attachment",
        {"id": {"S": attachment["id"]}},
        {"mountpoint": {"action": "PUT", "value": {"S": "/dev/changed"}}},
    )
    return {"check": "volume_attachments", "cls": STALE, "field": "mountpoint"}


def _row_missing(client: Any, store: Store) -> dict[str, Any]:
    attachment = next(a for a in _volume(store)["attachments"] if not a["deleted"])
    client.delete_item("volume_attachment", {"id": {"S": attachment["id"]}})
    return {"check": "volume_attachments", "cls": MISSING}


def _name_copy_stale(client: Any, store: Store) -> dict[str, Any]:
    volume = _volume(store)
    client.update_item(
        "volumes",
        {"id": {"S": volume["id"]}},
        {"volume_type_name": {"action": "PUT", "value": {"S": "old-name"}}},
    )
    return {"check": "volume_type_name", "cls": STALE, "actual": "old-name"}


def _name_copy_missing(client: Any, store: Store) -> dict[str, Any]:
    volume = _volume(store)
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
    "set member for no item": _member_orphan,
    "row changed behind its map": _row_stale,
    "row deleted": _row_missing,
    "copied name changed": _name_copy_stale,
    "copied name removed": _name_copy_missing,
    "association removed from the set": _set_member_missing,
    "name entry pointing elsewhere": _name_entry_stale,
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_copy_written_behind_the_designs_back_is_found_and_repaired(
    store: Store, corruption: str
) -> None:
    client = store.client()
    try:
        wanted = CORRUPTIONS[corruption](client, store)
    finally:
        client.close()
    validation = store.validate()
    (finding,) = validation.findings
    assert (finding.check, finding.cls) == (wanted.pop("check"), wanted.pop("cls"))
    for name, value in wanted.items():
        assert getattr(finding, name) == value, (name, finding)
    assert finding.expected != finding.actual
    assert repair(store, validation).ok


def test_examples_show_what_the_base_item_says_now(store: Store) -> None:
    client = store.client()
    wanted = _member_orphan(client, store)
    volume = _volume(store)
    key = wanted["actual"][0]
    client.update_item(
        "volume_metadata",
        {"property": {"S": property_of(key, "elsewhere")}},
        {"volume_ids": {"action": "ADD", "value": {"SS": [volume["id"]]}}},
    )
    client.close()
    findings = {orjson.dumps(f.key).decode(): f for f in store.validate().findings}
    described = [f.expected for f in findings.values()]
    assert f"no volumes item {GHOST}" in described  # an id naming nothing
    assert [key, volume["metadata"][key]] in described  # the value the volume really has
