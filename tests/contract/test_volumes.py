"""Volumes: create, get, update, destroy, aggregates, migration (DBAPIVolumeTestCase, rewritten,
plus authorization and bad input)."""

from __future__ import annotations

import datetime as dt

import pytest

from cinderdb import exception
from cinderdb.base import is_uuid_like
from cinderdb.records import PROPERTIES, column_names
from tests.contract.volume_helpers import at, id_set, meta

NESTED_ADMIN = {
    "volume_metadata",
    "volume_admin_metadata",
    "volume_type",
    "volume_attachment",
    "consistencygroup",
}


# ------------------------------------------------------------------ create


def test_volume_create(api, ctx):
    volume = api.volume_create(ctx, {"host": "host1"})
    assert is_uuid_like(volume["id"])
    assert volume["host"] == "host1"


def test_volume_create_record_shape_and_defaults(api, ctx):
    volume = api.volume_create(
        ctx, {"metadata": {"b": "2", "a": "1"}, "admin_metadata": {"readonly": "True"}}
    )
    assert set(volume) == set(column_names("volume")) | set(PROPERTIES["volume"]) | NESTED_ADMIN
    assert volume["bootable"] is False
    assert volume["multiattach"] is False
    assert volume["deleted"] is False
    assert volume["status"] is None
    assert volume["attach_status"] is None
    assert isinstance(volume["created_at"], dt.datetime)
    assert volume["created_at"].microsecond == 0
    assert volume["updated_at"] is None
    assert volume["deleted_at"] is None
    assert volume["volume_metadata"] == [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]
    assert volume["volume_admin_metadata"] == [{"key": "readonly", "value": "True"}]
    assert volume["volume_type"] is None
    assert volume["volume_attachment"] == []
    assert volume["consistencygroup"] is None


def test_volume_create_by_user_drops_admin_metadata(api, ctx, user_ctx):
    volume = api.volume_create(
        user_ctx,
        {"project_id": "fake_project", "metadata": {"k": "v"}, "admin_metadata": {"x": "y"}},
    )
    assert "volume_admin_metadata" not in volume
    assert api.volume_admin_metadata_get(ctx, volume["id"]) == {}
    assert api.volume_metadata_get(user_ctx, volume["id"]) == {"k": "v"}


def test_volume_create_integer_id_is_text(api, ctx):
    volume = api.volume_create(ctx, {"id": 77})
    assert volume["id"] == "77"
    assert api.volume_get(ctx, 77)["id"] == "77"
    assert api.volume_get(ctx, "77")["id"] == "77"


def test_volume_create_ignores_unknown_keys(api, ctx):
    volume = api.volume_create(ctx, {"host": "h", "qos_specs": {"a": 1}, "attach_host": "x"})
    assert "qos_specs" not in volume
    assert "attach_host" not in volume
    assert api.volume_get(ctx, volume["id"]) == volume


@pytest.mark.parametrize(
    "values",
    [
        {"display_name": "x" * 256},
        {"size": "big"},
        {"size": 2**40},
        {"bootable": "maybe"},
        {"host": ["h1"]},
        {"metadata": "not a dict"},
        {"metadata": {"k": "v" * 256}},
        {"metadata": {"k" * 256: "v"}},
        {"admin_metadata": ["x"]},
        {"launched_at": "yesterday"},
    ],
)
def test_volume_create_bad_values_write_nothing(api, ctx, values):
    with pytest.raises(exception.InvalidInput):
        api.volume_create(ctx, {"id": "bad", **values})
    with pytest.raises(exception.VolumeNotFound):
        api.volume_get(ctx, "bad")
    assert api.volume_get_all(ctx, None, None) == []


def test_volume_create_duplicate_id_keeps_the_first(api, ctx):
    first = api.volume_create(ctx, {"id": "v1", "host": "h1", "metadata": {"a": "1"}})
    with pytest.raises(exception.DBDuplicateEntry):
        api.volume_create(ctx, {"id": "v1", "host": "h2", "metadata": {"b": "2"}})
    assert api.volume_get(ctx, "v1") == first


def test_volume_create_for_another_project_by_user(api, ctx, user_ctx):
    with pytest.raises(exception.VolumeNotFound):
        api.volume_create(user_ctx, {"id": "v1", "project_id": "other_project"})
    assert api.volume_get_all(ctx, None, None) == []


def test_volume_create_in_unknown_group(api, ctx):
    with pytest.raises(exception.ConsistencyGroupNotFound):
        api.volume_create(ctx, {"id": "v1", "consistencygroup_id": "no-such-group"})
    assert api.volume_get_all(ctx, None, None) == []


def test_volume_create_without_context_is_refused(api):
    with pytest.raises(exception.NotAuthorized):
        api.volume_create(None, {})


# --------------------------------------------------------------------- get


def test_volume_get(api, ctx):
    volume = api.volume_create(ctx, {})
    assert api.volume_get(ctx, volume["id"]) == volume


def test_volume_get_not_found(api, ctx):
    with pytest.raises(exception.VolumeNotFound) as error:
        api.volume_get(ctx, "missing")
    assert error.value.kwargs["volume_id"] == "missing"


def test_volume_get_is_project_scoped_for_users(api, ctx, user_ctx, other_user_ctx):
    volume = api.volume_create(ctx, {"project_id": "fake_project", "metadata": {"a": "b"}})
    mine = api.volume_get(user_ctx, volume["id"])
    assert "volume_admin_metadata" not in mine
    assert {k: v for k, v in volume.items() if k != "volume_admin_metadata"} == mine
    with pytest.raises(exception.VolumeNotFound):
        api.volume_get(other_user_ctx, volume["id"])


def test_volume_get_type_with_extra_specs(api, ctx):
    vtype = api.volume_type_create(ctx, {"name": "n1", "extra_specs": {"mock_key": "mock_value"}})
    volume = api.volume_create(ctx, {"volume_type_id": vtype["id"]})
    loaded = api.volume_get(ctx, volume["id"])
    assert loaded["volume_type"]["id"] == vtype["id"]
    assert loaded["volume_type"]["name"] == "n1"
    assert loaded["volume_type"]["extra_specs"] == {"mock_key": "mock_value"}
    assert set(loaded["volume_type"]) == set(column_names("volume_type")) | {"extra_specs"}


def test_volume_get_hides_a_deleted_type(api, ctx):
    vtype = api.volume_type_create(ctx, {"name": "gone"})
    api.volume_type_destroy(ctx, vtype["id"])
    volume = api.volume_create(ctx, {"volume_type_id": vtype["id"]})
    assert volume["volume_type"] is None
    assert api.volume_get(ctx, volume["id"])["volume_type_id"] == vtype["id"]


def test_volume_get_shows_its_group_even_deleted(api, ctx):
    group = api.consistencygroup_create(
        ctx, {"name": "g", "user_id": "u", "project_id": "p", "status": "available"}
    )
    volume = api.volume_create(ctx, {"consistencygroup_id": group["id"]})
    assert volume["consistencygroup"]["id"] == group["id"]
    assert volume["consistencygroup"]["name"] == "g"
    api.consistencygroup_destroy(ctx, group["id"])
    shown = api.volume_get(ctx, volume["id"])["consistencygroup"]
    assert shown["id"] == group["id"]
    assert shown["deleted"] is True


# ------------------------------------------------------------------ update


def test_volume_update(api, ctx):
    volume = api.volume_create(ctx, {"host": "h1"})
    updated = api.volume_update(ctx, volume["id"], {"host": "h2", "metadata": {"m1": "v1"}})
    loaded = api.volume_get(ctx, volume["id"])
    assert loaded["host"] == "h2"
    assert meta(loaded) == {"m1": "v1"}
    assert updated == loaded
    assert loaded["updated_at"] is not None


def test_volume_update_nonexistent(api, ctx):
    with pytest.raises(exception.VolumeNotFound):
        api.volume_update(ctx, 42, {})


def test_volume_update_metadata_replaces(api, ctx):
    volume = api.volume_create(ctx, {"metadata": {"a": "1", "b": "2"}})
    updated = api.volume_update(ctx, volume["id"], {"metadata": {"b": "3", "c": "4"}})
    assert meta(updated) == {"b": "3", "c": "4"}
    assert api.volume_metadata_get(ctx, volume["id"]) == {"b": "3", "c": "4"}


def test_volume_update_admin_metadata_only_for_admins(api, ctx, user_ctx):
    volume = api.volume_create(
        ctx, {"project_id": "fake_project", "admin_metadata": {"readonly": "True"}}
    )
    api.volume_update(user_ctx, volume["id"], {"admin_metadata": {"x": "y"}, "status": "s"})
    assert api.volume_admin_metadata_get(ctx, volume["id"]) == {"readonly": "True"}
    updated = api.volume_update(ctx, volume["id"], {"admin_metadata": {"attached_mode": "rw"}})
    assert meta(updated, "volume_admin_metadata") == {"attached_mode": "rw"}
    assert updated["status"] == "s"


def test_volume_update_ignores_unknown_keys(api, ctx):
    volume = api.volume_create(ctx, {})
    updated = api.volume_update(ctx, volume["id"], {"status": "available", "bogus": 1})
    assert "bogus" not in updated
    assert updated["status"] == "available"


@pytest.mark.parametrize(
    "values",
    [
        {"display_name": "x" * 256},
        {"size": "large"},
        {"multiattach": "often"},
        {"status": "fine", "metadata": {"k": "v" * 256}},
        {"status": "fine", "metadata": ["a"]},
    ],
)
def test_volume_update_bad_values_change_nothing(api, ctx, values):
    volume = api.volume_create(ctx, {"status": "available", "metadata": {"a": "1"}})
    with pytest.raises(exception.InvalidInput):
        api.volume_update(ctx, volume["id"], values)
    assert api.volume_get(ctx, volume["id"]) == volume


def test_volume_update_by_other_project_user(api, ctx, other_user_ctx):
    volume = api.volume_create(ctx, {"project_id": "fake_project", "status": "available"})
    with pytest.raises(exception.VolumeNotFound):
        api.volume_update(other_user_ctx, volume["id"], {"status": "error"})
    assert api.volume_get(ctx, volume["id"]) == volume


def test_volume_update_into_unknown_group_changes_nothing(api, ctx):
    volume = api.volume_create(ctx, {"status": "available"})
    with pytest.raises(exception.ConsistencyGroupNotFound):
        api.volume_update(ctx, volume["id"], {"consistencygroup_id": "nope", "status": "x"})
    assert api.volume_get(ctx, volume["id"]) == volume


# ----------------------------------------------------------------- destroy


def test_volume_destroy(api, ctx):
    volume = api.volume_create(ctx, {})
    api.volume_destroy(ctx, volume["id"])
    with pytest.raises(exception.VolumeNotFound):
        api.volume_get(ctx, volume["id"])


def test_volume_destroy_soft_deletes_volume_and_metadata(api, ctx):
    volume = api.volume_create(
        ctx,
        {"migration_status": "success", "metadata": {"a": "1"}, "admin_metadata": {"b": "2"}},
    )
    other = api.volume_create(ctx, {"metadata": {"a": "1"}})
    api.volume_destroy(ctx, volume["id"])
    gone = api.volume_get(ctx.with_read_deleted("yes"), volume["id"])
    assert gone["status"] == "deleted"
    assert gone["deleted"] is True
    assert gone["deleted_at"] is not None
    assert gone["migration_status"] is None
    assert gone["updated_at"] is None  # bulk soft delete keeps updated_at (Liberty)
    assert gone["volume_metadata"] == []
    assert gone["volume_admin_metadata"] == []
    assert id_set(api.volume_get_all(ctx.with_read_deleted("only"), None, None)) == {volume["id"]}
    assert api.volume_get(ctx, other["id"]) == other


def test_volume_destroy_missing_or_twice_is_no_error(api, ctx):
    api.volume_destroy(ctx, "missing")
    volume = api.volume_create(ctx, {})
    api.volume_destroy(ctx, volume["id"])
    first = api.volume_get(ctx.with_read_deleted("yes"), volume["id"])
    api.volume_destroy(ctx, volume["id"])
    assert api.volume_get(ctx.with_read_deleted("yes"), volume["id"]) == first


def test_volume_destroy_needs_admin(api, ctx, user_ctx):
    volume = api.volume_create(ctx, {"project_id": "fake_project"})
    with pytest.raises(exception.AdminRequired):
        api.volume_destroy(user_ctx, volume["id"])
    assert api.volume_get(ctx, volume["id"]) == volume


# -------------------------------------------------------------- aggregates


def test_volume_data_get_for_host(api, ctx):
    for i in range(3):
        for _ in range(3):
            api.volume_create(ctx, {"host": f"h{i}", "size": 100})
    for i in range(3):
        assert api.volume_data_get_for_host(ctx, f"h{i}") == (3, 300)
    assert api.volume_data_get_for_host(ctx, "h0", count_only=True) == 3
    assert api.volume_data_get_for_host(ctx, "nowhere") == (0, 0)


def test_volume_data_get_for_host_counts_pools_and_skips_deleted(api, ctx):
    api.volume_create(ctx, {"host": "h0@lvm#pool1", "size": 5})
    api.volume_create(ctx, {"host": "h0@lvm", "size": 7})
    api.volume_create(ctx, {"host": "h0@lvmx", "size": 11})
    api.volume_create(ctx, {"host": "h0@lvm#pool2"})
    gone = api.volume_create(ctx, {"host": "h0@lvm", "size": 100})
    api.volume_destroy(ctx, gone["id"])
    assert api.volume_data_get_for_host(ctx, "h0@lvm") == (3, 12)
    assert api.volume_data_get_for_host(ctx, "h0@lvm#pool1") == (1, 5)


def test_volume_data_get_for_host_rules(api, ctx, user_ctx):
    with pytest.raises(exception.AdminRequired):
        api.volume_data_get_for_host(user_ctx, "h")
    with pytest.raises(exception.InvalidInput):
        api.volume_data_get_for_host(ctx, 42)


def test_volume_data_get_for_project(api, ctx):
    for i in range(3):
        for j in range(3):
            api.volume_create(ctx, {"project_id": f"p{i}", "size": 100, "host": f"h-{i}-{j}"})
    for i in range(3):
        assert api.volume_data_get_for_project(ctx, f"p{i}") == (3, 300)
    assert api.volume_data_get_for_project(ctx, "nobody") == (0, 0)


def test_volume_data_get_for_project_by_type(api, ctx, user_ctx):
    api.volume_create(ctx, {"project_id": "p", "size": 1, "volume_type_id": "t1"})
    api.volume_create(ctx, {"project_id": "p", "size": 2, "volume_type_id": "t2"})
    api.volume_create(ctx, {"project_id": "p", "size": 4, "volume_type_id": "t1"})
    assert api.volume_data_get_for_project(ctx, "p", "t1") == (2, 5)
    assert api.volume_data_get_for_project(ctx, "p") == (3, 7)
    with pytest.raises(exception.AdminRequired):
        api.volume_data_get_for_project(user_ctx, "fake_project")


# --------------------------------------------------------------- migration


def test_finish_volume_migration_swaps_columns(api, ctx):
    src = api.volume_create(
        ctx,
        {
            "id": "src",
            "host": "old",
            "status": "available",
            "display_description": "mine",
            "migration_status": "migrating",
            "provider_location": "loc-src",
            "size": 1,
            "created_at": at(0),
            "metadata": {"a": "1"},
        },
    )
    dest = api.volume_create(
        ctx,
        {
            "id": "dest",
            "host": "new",
            "status": "migration-target",
            "display_description": "temp",
            "migration_status": "target:src",
            "provider_location": "loc-dest",
            "size": 2,
            "created_at": at(5),
        },
    )
    new_src, new_dest = api.finish_volume_migration(ctx, "src", "dest")
    assert (new_src["id"], new_dest["id"]) == ("src", "dest")
    assert (new_src["host"], new_dest["host"]) == ("new", "old")
    assert (new_src["size"], new_dest["size"]) == (2, 1)
    assert (new_src["created_at"], new_dest["created_at"]) == (
        dest["created_at"],
        src["created_at"],
    )
    assert (new_src["provider_location"], new_dest["provider_location"]) == ("loc-src", "loc-dest")
    assert (new_src["migration_status"], new_dest["migration_status"]) == (None, "deleting")
    assert (new_src["status"], new_dest["status"]) == ("migration-target", "deleting")
    assert new_src["display_description"] == "temp"
    assert new_dest["display_description"] == "migration src for src"
    assert new_src["_name_id"] is None
    assert new_dest["_name_id"] == "src"
    assert meta(new_src) == {"a": "1"}  # relationships stay with their ids
    assert api.volume_get(ctx, "src") == new_src
    assert api.volume_get(ctx, "dest") == new_dest


def test_finish_volume_migration_keeps_a_set_name_id(api, ctx):
    api.volume_create(ctx, {"id": "src"})
    api.volume_create(ctx, {"id": "dest", "_name_id": "keep"})
    _src, dest = api.finish_volume_migration(ctx, "src", "dest")
    assert dest["_name_id"] == "keep"


def test_finish_volume_migration_rules(api, ctx, user_ctx):
    src = api.volume_create(ctx, {"id": "src", "project_id": "fake_project"})
    with pytest.raises(exception.VolumeNotFound):
        api.finish_volume_migration(ctx, "src", "missing")
    with pytest.raises(exception.AdminRequired):
        api.finish_volume_migration(user_ctx, "src", "src")
    assert api.volume_get(ctx, "src") == src
