"""The split inverted sets (option ``split_hot_sets``) under the dual-write checks.

A store of that design, bulk-loaded and written through the API, holds no
finding (an emptied shard that stays is not one); an id missing from its shard,
or left in another one, is found and repaired; the metadata filter reads the
shards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bench.workload.datasets import build_dataset, load_dataset
from cinderdb import get_admin_context, open_backend
from cinderdb.magneto.hot_sets import SHARDS, shard_of, shard_property
from cinderdb.magneto.lookups import property_of
from tests.validators.dualwrite_support import TINY, Store, repair
from validators.findings import MISSING, ORPHAN


@pytest.fixture(name="store")
def split_store(magnetodb_server_url: str) -> Iterator[Store]:
    project = "h" + uuid.uuid4().hex[:12]
    address = magnetodb_server_url.removeprefix("http://")
    backend = open_backend(f"magnetodb://{address}/{project}?design=seed+split_hot_sets")
    dataset = build_dataset(TINY)
    load_dataset(backend, dataset.data, quiet=True)
    try:
        yield Store(f"magnetodb://{address}/{project}", backend, dataset.data)
    finally:
        backend.drop_schema()


def _volume(store: Store) -> dict[str, Any]:
    return next(v for v in store.data.volumes if v["metadata"] and not v["deleted"])


def test_api_writes_leave_no_finding_and_filters_read_the_shards(store: Store) -> None:
    api, admin = store.backend, get_admin_context()
    volume = _volume(store)
    key, value = next(iter(volume["metadata"].items()))
    found = api.volume_get_all(admin, None, None, filters={"metadata": {key: value}})
    assert volume["id"] in {v["id"] for v in found}
    api.volume_metadata_update(admin, volume["id"], {"solo": "x"}, False)
    api.volume_metadata_delete(admin, volume["id"], "solo")  # its shard stays, empty
    api.volume_admin_metadata_update(admin, volume["id"], {"readonly": "True"}, False)
    api.volume_destroy(admin, volume["id"])
    assert store.validate().ok
    client = store.client()
    prop = shard_property(property_of("solo", "x"), volume["id"])
    item = client.get_item("volume_metadata", {"property": {"S": prop}}).get("item")
    client.close()
    assert item is not None  # the emptied shard stays
    assert "volume_ids" not in item


def test_an_id_in_the_wrong_shard_is_found_and_repaired(store: Store) -> None:
    volume = _volume(store)
    key, value = next(iter(volume["metadata"].items()))
    prop = property_of(key, value)
    right = shard_property(prop, volume["id"])
    wrong = f"{prop}#{(shard_of(volume['id']) + 1) % SHARDS:02d}"
    client = store.client()
    client.update_item(
        "volume_metadata",
        {"property": {"S": right}},
        {"volume_ids": {"action": "DELETE", "value": {"SS": [volume["id"]]}}},
    )
    client.update_item(
        "volume_metadata",
        {"property": {"S": wrong}},
        {
            "volume_ids": {"action": "ADD", "value": {"SS": [volume["id"]]}},
            "key": {"action": "PUT", "value": {"S": key}},
            "value": {"action": "PUT", "value": {"S": value}},
        },
    )
    client.close()
    validation = store.validate()
    found = {(f.check, f.cls, f.key["property"]) for f in validation.findings}
    assert found == {("volume_metadata", MISSING, right), ("volume_metadata", ORPHAN, wrong)}
    assert repair(store, validation).ok
