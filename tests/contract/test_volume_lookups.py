"""Lookups by a column after it changed, lookups of None, and metadata filters on the longest
keys and values: behaviour a backend that keeps second copies (index tables, inverted
metadata) must maintain on every write, pinned here for all backends."""

from __future__ import annotations

from tests.contract.volume_helpers import id_set, ids, make_volumes


def _by_project(api, ctx, project_id):
    return id_set(api.volume_get_all_by_project(ctx, project_id, None, None))


def test_lists_follow_a_volume_update(api, ctx):
    api.consistencygroup_create(ctx, {"id": "g1", "user_id": "u", "project_id": "p"})
    api.consistencygroup_create(ctx, {"id": "g2", "user_id": "u", "project_id": "p"})
    api.volume_create(
        ctx, {"id": "v1", "project_id": "p1", "host": "h1#a", "consistencygroup_id": "g1"}
    )
    api.volume_update(
        ctx, "v1", {"project_id": "p2", "host": "h2#b", "consistencygroup_id": "g2", "size": 3}
    )
    assert (_by_project(api, ctx, "p1"), _by_project(api, ctx, "p2")) == (set(), {"v1"})
    assert api.volume_get_all_by_host(ctx, "h1") == []
    assert ids(api.volume_get_all_by_host(ctx, "h2")) == ["v1"]
    assert api.volume_get_all_by_group(ctx, "g1") == []
    assert ids(api.volume_get_all_by_group(ctx, "g2")) == ["v1"]
    assert api.volume_data_get_for_host(ctx, "h2#b") == (1, 3)
    assert api.volume_data_get_for_project(ctx, "p1") == (0, 0)


def test_lists_follow_a_metadata_replacement(api, ctx):
    make_volumes(api, ctx, {"id": "v1", "metadata": {"a": "1", "b": "2"}})
    api.volume_update(ctx, "v1", {"metadata": {"a": "9"}})
    api.volume_admin_metadata_update(ctx, "v1", {"b": "2"}, True)

    def listed(pairs):
        return ids(api.volume_get_all(ctx, None, None, filters={"metadata": pairs}))

    assert listed({"a": "1"}) == []
    assert listed({"a": "9"}) == ["v1"]
    assert listed({"b": "2"}) == ["v1"]  # now as admin metadata
    api.volume_admin_metadata_delete(ctx, "v1", "b")
    assert listed({"b": "2"}) == []


def test_lists_follow_a_migration(api, ctx):
    make_volumes(
        api,
        ctx,
        {"id": "src", "project_id": "p1", "host": "old", "size": 1},
        {"id": "dest", "project_id": "p2", "host": "new", "size": 2},
    )
    api.finish_volume_migration(ctx, "src", "dest")
    assert ids(api.volume_get_all_by_host(ctx, "new")) == ["src"]
    assert ids(api.volume_get_all_by_host(ctx, "old")) == ["dest"]
    assert _by_project(api, ctx, "p2") == {"src"}


def test_lists_of_a_destroyed_volume_under_read_deleted(api, ctx):
    api.volume_create(ctx, {"id": "v1", "project_id": "p1", "host": "h1", "metadata": {"a": "1"}})
    api.volume_destroy(ctx, "v1")
    deleted = ctx.with_read_deleted("yes")
    assert api.volume_get_all_by_host(ctx, "h1") == []
    assert ids(api.volume_get_all_by_host(deleted, "h1")) == ["v1"]
    assert _by_project(api, deleted, "p1") == {"v1"}
    assert api.volume_get_all(deleted, None, None, filters={"metadata": {"a": "1"}}) == []


def test_lists_of_none(api, ctx):
    """A None project or group lists the volumes that have none (SQL's ``IS NULL``)."""
    api.consistencygroup_create(ctx, {"id": "g1", "user_id": "u", "project_id": "p"})
    make_volumes(
        api,
        ctx,
        {"id": "v1"},
        {"id": "v2", "project_id": "p1", "consistencygroup_id": "g1", "size": 4},
        {"id": "v3", "size": 5},
    )
    assert _by_project(api, ctx, None) == {"v1", "v3"}
    assert api.volume_data_get_for_project(ctx, None) == (2, 5)
    assert id_set(api.volume_get_all_by_group(ctx, None)) == {"v1", "v3"}
    api.snapshot_create(ctx, {"id": "s1", "volume_id": "v2"})
    api.snapshot_create(ctx, {"id": "s2", "volume_id": "v2", "project_id": "p1"})
    assert ids(api.snapshot_get_all_by_project(ctx, None)) == ["s1"]
    assert id_set(api.snapshot_get_all_for_cgsnapshot(ctx, None)) == {"s1", "s2"}
    assert api.snapshot_data_get_for_project(ctx, None) == (1, 0)


def test_snapshot_lists_follow_an_update(api, ctx):
    make_volumes(api, ctx, {"id": "v1"}, {"id": "v2"})
    api.snapshot_create(ctx, {"id": "s1", "volume_id": "v1", "project_id": "p1"})
    api.snapshot_update(ctx, "s1", {"volume_id": "v2", "project_id": "p2"})
    assert api.snapshot_get_all_for_volume(ctx, "v1") == []
    assert ids(api.snapshot_get_all_for_volume(ctx, "v2")) == ["s1"]
    assert api.snapshot_get_all_by_project(ctx, "p1") == []
    assert ids(api.snapshot_get_all_by_project(ctx, "p2")) == ["s1"]


def test_metadata_filter_on_the_longest_keys_and_values(api, ctx):
    long_key, long_value = "k" * 255, "\u00e9" * 255
    make_volumes(
        api,
        ctx,
        {"id": "v1", "metadata": {long_key: long_value}},
        {"id": "v2", "metadata": {long_key: "short"}, "admin_metadata": {"a" * 255: "v" * 255}},
    )
    listed = api.volume_get_all(ctx, None, None, filters={"metadata": {long_key: long_value}})
    assert ids(listed) == ["v1"]
    admin = api.volume_get_all(ctx, None, None, filters={"metadata": {"a" * 255: "v" * 255}})
    assert ids(admin) == ["v2"]
    api.volume_metadata_delete(ctx, "v1", long_key)
    assert api.volume_get_all(ctx, None, None, filters={"metadata": {long_key: long_value}}) == []


def test_metadata_filter_values_that_are_numbers(api, ctx):
    make_volumes(api, ctx, {"id": "v1", "metadata": {"n": "1"}})
    assert ids(api.volume_get_all(ctx, None, None, filters={"metadata": {"n": 1}})) == ["v1"]
    assert api.volume_get_all(ctx, None, None, filters={"metadata": {"n": True}}) == []
    assert api.volume_get_all(ctx, None, None, filters={"metadata": {"n": None}}) == []
