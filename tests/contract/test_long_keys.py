"""The longest values the SQL schema accepts, in every column the MagnetoDB design keys by,
stored and found through the public API on every backend.

MySQL's ``VARCHAR(255)`` (utf8mb4) holds 255 four-byte characters: 1,020 bytes. A MagnetoDB
storage key holds 511 (LMDB's limit), and the design keys by project ids, hosts, names,
quota resources and metadata pairs (``cinderdb/magneto/keys.py`` stores the long ones in
digest form). Each test fills the keyed columns to their SQL length with four-byte
characters and reads them back by every lookup the API offers.
"""

from __future__ import annotations

from cinderdb import RequestContext
from cinderdb.quota import default_resources
from tests.contract.quota_helpers import later
from tests.contract.volume_helpers import id_set, ids

#: Four bytes in UTF-8 (U+1D11E, the G clef).
WIDE = "\U0001d11e"


def wide(length: int = 255, prefix: str = "") -> str:
    """``length`` characters: ``prefix`` then four-byte ones."""
    return prefix + WIDE * (length - len(prefix))


PROJECT = wide(prefix="p")
OTHER_PROJECT = wide(prefix="q")


def test_volumes_by_the_longest_id_project_and_host(api, ctx):
    volume_id = wide(36)
    host = wide()
    pool_host = wide(250) + "#pool"
    api.volume_create(ctx, {"id": volume_id, "project_id": PROJECT, "host": host, "size": 2})
    api.volume_create(ctx, {"id": "v2", "project_id": PROJECT, "host": pool_host, "size": 3})
    api.volume_create(ctx, {"id": "v3", "project_id": OTHER_PROJECT, "host": host, "size": 5})
    assert api.volume_get(ctx, volume_id)["project_id"] == PROJECT
    assert id_set(api.volume_get_all_by_project(ctx, PROJECT, None, None)) == {volume_id, "v2"}
    assert id_set(api.volume_get_all_by_host(ctx, host)) == {volume_id, "v3"}
    assert ids(api.volume_get_all_by_host(ctx, wide(250))) == ["v2"]
    assert api.volume_data_get_for_project(ctx, PROJECT) == (2, 5)
    assert api.volume_data_get_for_host(ctx, host) == (2, 7)
    user = RequestContext(user_id="u", project_id=PROJECT)
    assert api.volume_get(user, "v2")["host"] == pool_host
    assert id_set(api.volume_get_all_by_project(user, PROJECT, None, None)) == {volume_id, "v2"}
    api.volume_update(ctx, "v2", {"project_id": OTHER_PROJECT, "host": host})
    assert ids(api.volume_get_all_by_project(ctx, PROJECT, None, None)) == [volume_id]
    assert id_set(api.volume_get_all_by_host(ctx, host)) == {volume_id, "v2", "v3"}


def test_snapshots_groups_and_cgsnapshots_of_the_longest_project(api, ctx):
    group_id, cgsnapshot_id = wide(36), wide(36, prefix="c")
    api.consistencygroup_create(ctx, {"id": group_id, "project_id": PROJECT})
    api.cgsnapshot_create(
        ctx, {"id": cgsnapshot_id, "consistencygroup_id": group_id, "project_id": PROJECT}
    )
    api.volume_create(ctx, {"id": "v1", "project_id": PROJECT, "consistencygroup_id": group_id})
    api.snapshot_create(
        ctx,
        {
            "id": "s1",
            "volume_id": "v1",
            "project_id": PROJECT,
            "cgsnapshot_id": cgsnapshot_id,
            "volume_size": 4,
        },
    )
    assert ids(api.volume_get_all_by_group(ctx, group_id)) == ["v1"]
    assert ids(api.snapshot_get_all_by_project(ctx, PROJECT)) == ["s1"]
    assert ids(api.snapshot_get_all_for_cgsnapshot(ctx, cgsnapshot_id)) == ["s1"]
    assert api.snapshot_data_get_for_project(ctx, PROJECT) == (1, 4)
    assert ids(api.consistencygroup_get_all_by_project(ctx, PROJECT)) == [group_id]
    assert ids(api.cgsnapshot_get_all_by_project(ctx, PROJECT)) == [cgsnapshot_id]
    assert ids(api.cgsnapshot_get_all_by_group(ctx, group_id)) == [cgsnapshot_id]


def test_metadata_of_the_longest_keys_and_values(api, ctx):
    key, value = wide(prefix="k"), wide(prefix="v")
    api.volume_create(ctx, {"id": "v1", "metadata": {key: value}})
    api.volume_create(ctx, {"id": "v2", "metadata": {key: "short"}, "admin_metadata": {key: value}})

    def listed() -> set[str]:
        return id_set(api.volume_get_all(ctx, None, None, filters={"metadata": {key: value}}))

    assert listed() == {"v1", "v2"}  # user or admin metadata, as Liberty
    assert api.volume_metadata_get(ctx, "v1") == {key: value}
    api.volume_metadata_update(ctx, "v2", {key: value}, False)
    api.volume_admin_metadata_delete(ctx, "v2", key)
    assert listed() == {"v1", "v2"}
    api.volume_metadata_delete(ctx, "v1", key)
    assert listed() == {"v2"}


def test_image_metadata_of_the_longest_key_and_a_long_text_value(api, ctx):
    key, value = wide(), WIDE * 1000  # the value is TEXT
    api.volume_create(ctx, {"id": "v1"})
    api.volume_create(ctx, {"id": "v2"})
    api.snapshot_create(ctx, {"id": "s1", "volume_id": "v1"})
    api.volume_glance_metadata_create(ctx, "v1", key, value)
    api.volume_glance_metadata_copy_to_snapshot(ctx, "s1", "v1")
    api.volume_glance_metadata_copy_to_volume(ctx, "v2", "s1")
    for rows in (
        api.volume_glance_metadata_get(ctx, "v1"),
        api.volume_snapshot_glance_metadata_get(ctx, "s1"),
        api.volume_glance_metadata_get(ctx, "v2"),
    ):
        assert [(row["key"], row["value"]) for row in rows] == [(key, value)]
    api.volume_glance_metadata_delete_by_volume(ctx, "v1")
    rows = api.volume_glance_metadata_get_all(ctx)
    assert {(row["volume_id"], row["snapshot_id"]) for row in rows} == {("v2", None), (None, "s1")}


def test_type_and_qos_names_of_the_longest_length(api, ctx):
    name, renamed, qos_name = wide(prefix="t"), wide(prefix="u"), wide(prefix="q")
    type_id = api.volume_type_create(ctx, {"name": name})["id"]
    assert api.volume_type_get_by_name(ctx, name)["id"] == type_id
    assert [t["id"] for t in api.volume_types_get_by_name_or_id(ctx, [name])] == [type_id]
    api.volume_create(ctx, {"id": "v1", "volume_type_id": type_id})
    api.volume_type_update(ctx, type_id, {"name": renamed})
    assert api.volume_type_get_by_name(ctx, renamed)["id"] == type_id
    assert api.volume_get(ctx, "v1")["volume_type"]["name"] == renamed
    spec_id = api.qos_specs_create(ctx, {"name": qos_name})["id"]
    assert api.qos_specs_get_by_name(ctx, qos_name)["id"] == spec_id
    api.qos_specs_associate(ctx, spec_id, type_id)
    assert [t["id"] for t in api.qos_specs_associations_get(ctx, spec_id)] == [type_id]


def test_quotas_classes_usages_and_reservations_of_the_longest_keys(api, ctx):
    resource, class_name = wide(prefix="r"), wide(prefix="c")
    api.quota_create(ctx, PROJECT, resource, 7)
    assert api.quota_get(ctx, PROJECT, resource)["hard_limit"] == 7
    assert api.quota_get_all_by_project(ctx, PROJECT) == {"project_id": PROJECT, resource: 7}
    api.quota_class_create(ctx, class_name, resource, 9)
    assert api.quota_class_get(ctx, class_name, resource)["hard_limit"] == 9
    assert api.quota_class_get_all_by_name(ctx, class_name) == {
        "class_name": class_name,
        resource: 9,
    }
    # A type whose name makes the per-type resources (``gigabytes_<name>``) 255 long.
    type_name = wide(245, prefix="t")
    type_id = api.volume_type_create(ctx, {"name": type_name})["id"]
    resources = default_resources([{"id": type_id, "name": type_name}])
    typed = f"gigabytes_{type_name}"
    assert len(typed) == 255
    deltas = {"gigabytes": 2, typed: 2}
    reservations = api.quota_reserve(
        ctx, resources, dict.fromkeys(deltas, -1), deltas, later(), None, None, PROJECT
    )
    usages = api.quota_usage_get_all_by_project(ctx, PROJECT)
    assert usages[typed] == {"in_use": 0, "reserved": 2}
    api.reservation_commit(ctx, reservations, PROJECT)
    assert api.quota_usage_get(ctx, PROJECT, typed)["in_use"] == 2
    api.quota_destroy_all_by_project(ctx, PROJECT)
    assert api.quota_get_all_by_project(ctx, PROJECT) == {"project_id": PROJECT}
