"""Snapshots and snapshot metadata (DBAPISnapshotTestCase, rewritten: the seven tests not about
snapshot_get_by_host), plus lists, pagination, bad input and authorization."""

from __future__ import annotations

import pytest

from cinderdb import exception
from cinderdb.records import PROPERTIES, column_names
from tests.contract.volume_helpers import at, id_set, ids, meta

SNAPSHOT_KEYS = set(column_names("snapshot")) | set(PROPERTIES["snapshot"]) | {"snapshot_metadata"}
VOLUME_KEYS = (*column_names("volume"), *PROPERTIES["volume"])


def _without_volume(snapshot):
    """A snapshot as a list returns it: no ``volume``, so no ``volume_name`` either."""
    return {k: v for k, v in snapshot.items() if k not in ("volume", "volume_name")}


def test_snapshot_data_get_for_project(api, ctx):
    assert api.snapshot_data_get_for_project(ctx, "project1") == (0, 0)
    api.volume_create(ctx, {"id": 1, "project_id": "project1", "size": 42})
    api.snapshot_create(ctx, {"id": 1, "volume_id": 1, "project_id": "project1", "volume_size": 42})
    assert api.snapshot_data_get_for_project(ctx, "project1") == (1, 42)


def test_snapshot_data_get_for_project_by_volume_type(api, ctx, user_ctx):
    api.volume_create(ctx, {"id": "a", "volume_type_id": "t1"})
    api.volume_create(ctx, {"id": "b", "volume_type_id": "t2"})
    for sid, vid, size in (("s1", "a", 1), ("s2", "a", 2), ("s3", "b", 4)):
        # the snapshot's own type column is not what is matched: the volume's is
        api.snapshot_create(
            ctx,
            {"id": sid, "volume_id": vid, "project_id": "fake_project", "volume_size": size,
             "volume_type_id": "t2"},
        )  # fmt: skip
    api.snapshot_destroy(ctx, "s2")
    assert api.snapshot_data_get_for_project(ctx, "fake_project", "t1") == (1, 1)
    assert api.snapshot_data_get_for_project(user_ctx, "fake_project") == (2, 5)
    with pytest.raises(exception.NotAuthorized):
        api.snapshot_data_get_for_project(user_ctx, "other_project")


def test_snapshot_get_all_by_filter(api, ctx):
    api.volume_create(ctx, {"id": 1})
    api.volume_create(ctx, {"id": 2})
    s1 = api.snapshot_create(
        ctx, {"id": 1, "volume_id": 1, "display_name": "one", "status": "available"}
    )
    s2 = api.snapshot_create(
        ctx, {"id": 2, "volume_id": 1, "display_name": "two", "status": "creating"}
    )
    s3 = api.snapshot_create(
        ctx, {"id": 3, "volume_id": 2, "display_name": "three", "status": "available"}
    )
    assert len(api.snapshot_get_all(ctx, filters={})) == 3
    listed = api.snapshot_get_all(ctx, {"display_name": "two"})
    assert listed == [_without_volume(s2)]
    for filters, expected in (
        ({"volume_id": 2}, [s3]),
        ({"volume_id": 5}, []),
        ({"status": "error"}, []),
        ({"volume_id": 1}, [s1, s2]),
        ({"status": "available"}, [s1, s3]),
        ({"volume_id": 1, "status": "available"}, [s1]),
        ({"fake_key": "fake"}, []),
        ({"volume": "x"}, []),
        ({"snapshot_metadata": "x"}, []),
    ):
        assert id_set(api.snapshot_get_all(ctx, filters)) == id_set(expected), filters


def test_snapshot_get_all_by_project(api, ctx):
    api.volume_create(ctx, {"id": 1})
    api.volume_create(ctx, {"id": 2})
    s1 = api.snapshot_create(ctx, {"id": 1, "volume_id": 1, "project_id": "project1"})
    s2 = api.snapshot_create(
        ctx, {"id": 2, "volume_id": 2, "status": "error", "project_id": "project2"}
    )
    by_project = api.snapshot_get_all_by_project
    assert by_project(ctx, "project1") == [_without_volume(s1)]
    assert by_project(ctx, "project2") == [_without_volume(s2)]
    assert by_project(ctx, "project2", {"status": "available"}) == []
    assert ids(by_project(ctx, "project2", {"status": "error"})) == [s2["id"]]
    assert by_project(ctx, "project2", {"fake_key": "fake"}) == []
    assert ids(by_project(ctx, "project2", {"project_id": "project1"})) == [s2["id"]]


def test_snapshot_lists_authorization(api, ctx, user_ctx):
    api.volume_create(ctx, {"id": "v1"})
    mine = api.snapshot_create(user_ctx, {"volume_id": "v1", "project_id": "fake_project"})
    assert api.snapshot_get_all_by_project(user_ctx, "fake_project") == [_without_volume(mine)]
    with pytest.raises(exception.NotAuthorized):
        api.snapshot_get_all_by_project(user_ctx, "other_project")
    with pytest.raises(exception.AdminRequired):
        api.snapshot_get_all(user_ctx)


def test_snapshot_list_filter_values(api, ctx):
    api.volume_create(ctx, {"id": "v1"})
    snap = api.snapshot_create(ctx, {"volume_id": "v1", "volume_size": 3})
    assert ids(api.snapshot_get_all(ctx, {"volume_size": "3"})) == [snap["id"]]
    assert api.snapshot_get_all(ctx, {"volume_size": "three"}) == []
    assert ids(api.snapshot_get_all(ctx, {"display_name": None})) == [snap["id"]]
    # no IN for snapshots; Liberty gave a raw DB error (quirk #4, fixed)
    with pytest.raises(exception.InvalidInput):
        api.snapshot_get_all(ctx, {"status": ["available", "error"]})


def test_snapshot_list_sort_and_pagination(api, ctx):
    api.volume_create(ctx, {"id": "v1"})
    created = [
        api.snapshot_create(
            ctx, {"id": f"s{i}", "volume_id": "v1", "volume_size": size, "created_at": at(i)}
        )
        for i, size in enumerate([2, None, 1, 2])
    ]
    s0, s1, s2, s3 = ids(created)
    assert ids(api.snapshot_get_all(ctx)) == [s3, s2, s1, s0]
    order = [s1, s2, s0, s3]  # volume_size asc (NULL lowest), then created_at asc
    keys, dirs = ["volume_size"], ["asc"]
    assert ids(api.snapshot_get_all(ctx, sort_keys=keys, sort_dirs=dirs)) == order
    walked, marker = [], None
    while page := api.snapshot_get_all(ctx, marker=marker, limit=1, sort_keys=keys, sort_dirs=dirs):
        walked += ids(page)
        marker = page[-1]["id"]
    assert walked == order
    assert ids(api.snapshot_get_all(ctx, limit=2, offset=1)) == [s2, s1]
    assert api.snapshot_get_all(ctx, limit=0) == []
    by_project = api.snapshot_get_all_by_project(ctx, None, marker=s3, limit=2)
    assert ids(by_project) == [s2, s1]


def test_snapshot_list_bad_arguments(api, ctx):
    api.volume_create(ctx, {"id": "v1"})
    api.snapshot_create(ctx, {"id": "s1", "volume_id": "v1"})
    with pytest.raises(exception.InvalidInput):
        api.snapshot_get_all(ctx, sort_keys=["volume"])
    with pytest.raises(exception.InvalidInput):
        api.snapshot_get_all(ctx, sort_keys=["status"], sort_dirs=["sideways"])
    with pytest.raises(exception.InvalidInput):
        api.snapshot_get_all(ctx, limit=-1)
    with pytest.raises(exception.SnapshotNotFound):
        api.snapshot_get_all(ctx, marker="missing")
    with pytest.raises(exception.InvalidInput):
        api.snapshot_get_all_by_project(ctx, "p", filters="status=x")


# --------------------------------------------------------- create and get


def test_snapshot_create_and_get(api, ctx):
    volume = api.volume_create(ctx, {"id": "v1", "size": 5, "metadata": {"a": "1"}})
    snapshot = api.snapshot_create(
        ctx, {"volume_id": "v1", "status": "creating", "progress": "0%", "metadata": {"k": "v"}}
    )
    assert set(snapshot) == SNAPSHOT_KEYS | {"volume", "volume_name"}
    assert snapshot["deleted"] is False
    assert snapshot["created_at"] is not None
    assert snapshot["snapshot_metadata"] == [{"key": "k", "value": "v"}]
    assert set(snapshot["volume"]) == set(VOLUME_KEYS)
    assert snapshot["volume"] == {k: volume[k] for k in VOLUME_KEYS}
    assert api.snapshot_get(ctx, snapshot["id"]) == snapshot


def test_snapshot_get_shows_a_deleted_volume(api, ctx):
    api.volume_create(ctx, {"id": "v1"})
    snapshot = api.snapshot_create(ctx, {"id": "s1", "volume_id": "v1"})
    api.volume_destroy(ctx, "v1")
    loaded = api.snapshot_get(ctx, "s1")
    assert loaded["volume"]["deleted"] is True
    assert _without_volume(loaded) == _without_volume(snapshot)


def test_snapshot_get_is_project_scoped(api, ctx, user_ctx, other_user_ctx):
    api.volume_create(ctx, {"id": "v1"})
    api.snapshot_create(ctx, {"id": "s1", "volume_id": "v1", "project_id": "fake_project"})
    assert api.snapshot_get(user_ctx, "s1")["id"] == "s1"
    with pytest.raises(exception.SnapshotNotFound):
        api.snapshot_get(other_user_ctx, "s1")
    with pytest.raises(exception.SnapshotNotFound) as error:
        api.snapshot_get(ctx, "missing")
    assert error.value.kwargs["snapshot_id"] == "missing"


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"volume_id": "no-such-volume"}, exception.VolumeNotFound),
        ({"volume_id": "v1", "cgsnapshot_id": "no-such-cgsnapshot"}, exception.CgSnapshotNotFound),
        ({}, exception.InvalidInput),
        ({"volume_id": "v1", "volume_size": "huge"}, exception.InvalidInput),
        ({"volume_id": "v1", "display_name": "n" * 256}, exception.InvalidInput),
        ({"volume_id": "v1", "metadata": {"k": "v" * 256}}, exception.InvalidInput),
    ],
)
def test_snapshot_create_bad_input_writes_nothing(api, ctx, values, error):
    api.volume_create(ctx, {"id": "v1"})
    with pytest.raises(error):
        api.snapshot_create(ctx, {"id": "s1", **values})
    assert api.snapshot_get_all(ctx) == []


def test_snapshot_create_duplicate_and_other_project(api, ctx, user_ctx):
    api.volume_create(ctx, {"id": "v1"})
    first = api.snapshot_create(ctx, {"id": "s1", "volume_id": "v1", "display_name": "a"})
    with pytest.raises(exception.DBDuplicateEntry):
        api.snapshot_create(ctx, {"id": "s1", "volume_id": "v1", "display_name": "b"})
    with pytest.raises(exception.SnapshotNotFound):
        api.snapshot_create(user_ctx, {"id": "s2", "volume_id": "v1", "project_id": "other"})
    assert api.snapshot_get_all(ctx) == [_without_volume(first)]


# ----------------------------------------------------- volume, cgsnapshot


def test_snapshot_get_all_for_volume(api, ctx, user_ctx, other_user_ctx):
    api.volume_create(ctx, {"id": "v1"})
    api.volume_create(ctx, {"id": "v2"})
    s1 = api.snapshot_create(ctx, {"id": "s1", "volume_id": "v1", "project_id": "fake_project"})
    api.snapshot_create(ctx, {"id": "s2", "volume_id": "v1", "project_id": "fake_project"})
    api.snapshot_create(ctx, {"id": "s3", "volume_id": "v2", "project_id": "fake_project"})
    api.snapshot_destroy(ctx, "s2")
    assert api.snapshot_get_all_for_volume(ctx, "v1") == [_without_volume(s1)]
    assert ids(api.snapshot_get_all_for_volume(user_ctx, "v1")) == ["s1"]
    assert api.snapshot_get_all_for_volume(other_user_ctx, "v1") == []
    assert api.snapshot_get_all_for_volume(ctx.with_read_deleted("yes"), "v1") == [
        _without_volume(s1)
    ]
    assert api.snapshot_get_all_for_volume(ctx, "missing") == []


def test_snapshot_get_all_for_cgsnapshot(api, ctx, other_user_ctx):
    group = api.consistencygroup_create(ctx, {"user_id": "u", "project_id": "fake_project"})
    cgsnap = api.cgsnapshot_create(
        ctx, {"consistencygroup_id": group["id"], "user_id": "u", "project_id": "fake_project"}
    )
    api.volume_create(ctx, {"id": "v1"})
    inside = api.snapshot_create(
        ctx, {"volume_id": "v1", "cgsnapshot_id": cgsnap["id"], "project_id": "fake_project"}
    )
    api.snapshot_create(ctx, {"volume_id": "v1", "project_id": "fake_project"})
    assert api.snapshot_get_all_for_cgsnapshot(ctx, cgsnap["id"]) == [inside]
    assert api.snapshot_get_all_for_cgsnapshot(other_user_ctx, cgsnap["id"]) == []


# ------------------------------------------------------ update, destroy


def test_snapshot_update(api, ctx):
    api.volume_create(ctx, {"id": "v1"})
    api.volume_create(ctx, {"id": "v2"})
    api.snapshot_create(ctx, {"id": "s1", "volume_id": "v1", "metadata": {"a": "1"}})
    updated = api.snapshot_update(
        ctx, "s1", {"status": "available", "progress": "100%", "metadata": {"ignored": "x"}}
    )
    assert (updated["status"], updated["progress"]) == ("available", "100%")
    assert meta(updated, "snapshot_metadata") == {"a": "1"}
    assert updated["updated_at"] is not None
    assert api.snapshot_get(ctx, "s1") == updated
    moved = api.snapshot_update(ctx, "s1", {"volume_id": "v2"})
    assert moved["volume"]["id"] == "v2"


def test_snapshot_update_bad_input_changes_nothing(api, ctx, other_user_ctx):
    api.volume_create(ctx, {"id": "v1"})
    snapshot = api.snapshot_create(ctx, {"id": "s1", "volume_id": "v1", "project_id": "p"})
    with pytest.raises(exception.SnapshotNotFound):
        api.snapshot_update(ctx, "missing", {"status": "x"})
    with pytest.raises(exception.SnapshotNotFound):
        api.snapshot_update(other_user_ctx, "s1", {"status": "x"})
    with pytest.raises(exception.InvalidInput):
        api.snapshot_update(ctx, "s1", {"status": "x", "volume_size": "big"})
    with pytest.raises(exception.VolumeNotFound):
        api.snapshot_update(ctx, "s1", {"status": "x", "volume_id": "no-such-volume"})
    assert api.snapshot_get(ctx, "s1") == snapshot


def test_snapshot_destroy(api, ctx, user_ctx):
    api.volume_create(ctx, {"id": "v1"})
    api.snapshot_create(ctx, {"id": "s1", "volume_id": "v1", "metadata": {"a": "1"}})
    api.snapshot_create(ctx, {"id": "s2", "volume_id": "v1", "project_id": "fake_project"})
    with pytest.raises(exception.AdminRequired):
        api.snapshot_destroy(user_ctx, "s2")
    api.snapshot_destroy(ctx, "s1")
    with pytest.raises(exception.SnapshotNotFound):
        api.snapshot_get(ctx, "s1")
    gone = api.snapshot_get(ctx.with_read_deleted("yes"), "s1")
    assert (gone["status"], gone["deleted"]) == ("deleted", True)
    assert gone["deleted_at"] is not None
    assert gone["updated_at"] is None
    assert gone["snapshot_metadata"] == []
    api.snapshot_destroy(ctx, "s1")  # again: no error
    api.snapshot_destroy(ctx, "missing")
    assert ids(api.snapshot_get_all(ctx)) == ["s2"]


# ---------------------------------------------------------------- metadata


def test_snapshot_metadata_get(api, ctx):
    metadata = {"a": "b", "c": "d"}
    api.volume_create(ctx, {"id": 1})
    api.snapshot_create(ctx, {"id": 1, "volume_id": 1, "metadata": metadata})
    assert api.snapshot_metadata_get(ctx, 1) == metadata


def test_snapshot_metadata_update(api, ctx):
    api.volume_create(ctx, {"id": 1})
    api.snapshot_create(ctx, {"id": 1, "volume_id": 1, "metadata": {"a": "1", "c": "2"}})
    result = api.snapshot_metadata_update(ctx, 1, {"a": "3", "d": "5"}, False)
    assert result == {"a": "3", "c": "2", "d": "5"}


def test_snapshot_metadata_update_delete(api, ctx):
    api.volume_create(ctx, {"id": 1})
    api.snapshot_create(ctx, {"id": 1, "volume_id": 1, "metadata": {"a": "1", "c": "2"}})
    result = api.snapshot_metadata_update(ctx, 1, {"a": "3", "d": "5"}, True)
    assert result == {"a": "3", "d": "5"}
    assert meta(api.snapshot_get(ctx, 1), "snapshot_metadata") == result


def test_snapshot_metadata_delete(api, ctx):
    api.volume_create(ctx, {"id": 1})
    api.snapshot_create(ctx, {"id": 1, "volume_id": 1, "metadata": {"a": "1", "c": "2"}})
    assert api.snapshot_metadata_delete(ctx, 1, "c") is None
    api.snapshot_metadata_delete(ctx, 1, "never-there")
    assert api.snapshot_metadata_get(ctx, 1) == {"a": "1"}


def test_snapshot_metadata_rules(api, ctx, user_ctx, other_user_ctx):
    api.volume_create(ctx, {"id": "v1"})
    api.snapshot_create(
        ctx, {"id": "s1", "volume_id": "v1", "project_id": "fake_project", "metadata": {"a": "1"}}
    )
    assert api.snapshot_metadata_update(user_ctx, "s1", {"b": "2"}, False) == {"a": "1", "b": "2"}
    for call in (
        lambda c: api.snapshot_metadata_get(c, "s1"),
        lambda c: api.snapshot_metadata_update(c, "s1", {"x": "y"}, True),
        lambda c: api.snapshot_metadata_delete(c, "s1", "a"),
    ):
        with pytest.raises(exception.SnapshotNotFound):
            call(other_user_ctx)
    with pytest.raises(exception.SnapshotNotFound):
        api.snapshot_metadata_get(ctx, "missing")
    with pytest.raises(exception.InvalidInput):
        api.snapshot_metadata_update(ctx, "s1", {"x": "y" * 256}, True)
    with pytest.raises(exception.InvalidInput):
        api.snapshot_metadata_update(ctx, "s1", [("x", "y")], True)
    assert api.snapshot_metadata_get(ctx, "s1") == {"a": "1", "b": "2"}
