"""The sorted project indexes (option ``sorted_project_index``) under the dual-write checks.

A store of that design, bulk-loaded and then written through the API (create,
status changes, attach/detach, destroy, migration), holds no finding; an entry
removed, added or left at a volume's old place behind the design's back is
found as missing, orphan or stale, and the repair clears it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cinderdb import get_admin_context
from cinderdb.magneto.items import from_item
from cinderdb.magneto.sorted_index import SORTED_RULE_BY_COLUMN
from tests.validators.dualwrite_support import TINY, Store, loaded_store, repair
from validators.findings import MISSING, ORPHAN, STALE

GHOST = "dead0000-0000-4000-8000-00000000beef"
STATUS = SORTED_RULE_BY_COLUMN["status"]


@pytest.fixture(name="store")
def sorted_store(magnetodb_server_url: str) -> Iterator[Store]:
    with loaded_store(magnetodb_server_url, TINY, "s", "seed+sorted_project_index") as store:
        yield store


def _live_volume(store: Store) -> dict[str, Any]:
    return next(v for v in store.data.volumes if not v["deleted"] and not v["attachments"])


def _status_entry(store: Store, volume_id: str) -> dict[str, Any]:
    client = store.client()
    try:
        item = client.get_item("volumes", {"id": {"S": volume_id}})["item"]
    finally:
        client.close()
    _, project, sort_key = STATUS.entry(from_item("volume", item), volume_id)
    return {"project_id": {"S": project}, "sort_key": {"S": sort_key}}


def test_writes_through_the_api_leave_no_finding(store: Store) -> None:
    api, admin = store.backend, get_admin_context()
    volume = _live_volume(store)
    api.volume_create(admin, {"id": GHOST, "project_id": None, "status": "creating", "size": 1})
    api.volume_update(admin, GHOST, {"status": "available", "display_name": "renamed"})
    attachment = api.volume_attach(admin, {"volume_id": volume["id"]})
    api.volume_attached(admin, attachment["id"], None, "node", "/dev/vdz", "rw")
    api.volume_detached(admin, volume["id"], attachment["id"])
    api.volume_destroy(admin, GHOST)  # soft-deleted: its entries stay, under status deleted
    validation = store.validate()
    assert validation.ok, validation.findings
    assert any(c.name == STATUS.table and c.checked for c in validation.checks)


def test_a_missing_entry_is_found_and_repaired(store: Store) -> None:
    volume = _live_volume(store)
    key = _status_entry(store, volume["id"])
    client = store.client()
    client.delete_item(STATUS.table, key)
    client.close()
    validation = store.validate()
    (finding,) = validation.findings
    assert (finding.check, finding.cls) == (STATUS.table, MISSING)
    assert finding.key["sort_key"] == key["sort_key"]["S"]
    assert repair(store, validation).ok


def test_an_orphan_entry_is_found_and_repaired(store: Store) -> None:
    _, project, sort_key = STATUS.entry({"project_id": "p", "status": "error"}, GHOST)
    client = store.client()
    client.put_item(STATUS.table, {"project_id": {"S": project}, "sort_key": {"S": sort_key}})
    client.close()
    validation = store.validate()
    (finding,) = validation.findings
    assert (finding.check, finding.cls, finding.actual) == (STATUS.table, ORPHAN, sort_key)
    assert repair(store, validation).ok


def test_an_entry_left_at_the_old_place_is_stale_and_repaired(store: Store) -> None:
    volume = _live_volume(store)
    key = _status_entry(store, volume["id"])
    client = store.client()
    # The status changes behind the design's back: the entry stays at the old status.
    client.update_item(
        "volumes", {"id": {"S": volume["id"]}}, {"status": {"action": "PUT", "value": {"S": "zz"}}}
    )
    client.close()
    validation = store.validate()
    (finding,) = validation.findings
    assert (finding.check, finding.cls) == (STATUS.table, STALE)
    assert finding.actual == key["sort_key"]["S"]
    assert finding.expected == _status_entry(store, volume["id"])["sort_key"]["S"]
    assert repair(store, validation).ok
