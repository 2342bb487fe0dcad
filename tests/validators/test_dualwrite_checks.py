"""What each check calls a finding, and what it must not.

The design's own states are not findings: index entries of soft-deleted
items, a host keyed by its base name, a None project under ``NULL_KEY``,
retired attachment rows in no map, a deleted type without a name entry, a
QoS set that still lists a deleted type. Then every class of every kind is
forced by writing one copy directly (no API call), found with the values of
both copies, and repaired.
"""

from __future__ import annotations

import orjson
import pytest

from cinderdb import get_admin_context
from cinderdb.magneto.lookups import property_of
from cinderdb.magneto.tables import NULL_KEY
from tests.validators.corruptions_support import (
    CORRUPTIONS,
    GHOST,
    full_volume,
    member_orphan,
)
from tests.validators.dualwrite_support import (
    Store,
    repair,
    store_fixture,  # noqa: F401 - the ``store`` fixture
)


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
    wanted = member_orphan(client, store)
    volume = full_volume(store)
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
