"""Glance (image) metadata of volumes and snapshots: create, get, copy, delete
(DBAPIVolumeTestCase's glance test, rewritten, plus the copy rules, bad input and scoping)."""

from __future__ import annotations

import pytest

from cinderdb import exception


def _pairs(rows):
    return sorted((row["key"], row["value"]) for row in rows)


@pytest.fixture
def image_volume(api, ctx):
    """Volume ``v1`` of ``fake_project`` with two image properties, and its snapshot ``s1``."""
    api.volume_create(ctx, {"id": "v1", "project_id": "fake_project"})
    api.volume_glance_metadata_create(ctx, "v1", "image_id", "img-1")
    api.volume_glance_metadata_create(ctx, "v1", "image_name", "cirros")
    api.snapshot_create(ctx, {"id": "s1", "volume_id": "v1", "project_id": "fake_project"})
    return "v1"


def test_volume_glance_metadata_create(api, ctx):
    volume = api.volume_create(ctx, {"host": "h1"})
    unicode_value = "\xe4\xbd\xa0\xe5\xa5\xbd 你好"
    assert api.volume_glance_metadata_create(ctx, volume["id"], "image_name", unicode_value) is None
    rows = api.volume_glance_metadata_get(ctx, volume["id"])
    assert rows == [
        {
            "volume_id": volume["id"],
            "snapshot_id": None,
            "key": "image_name",
            "value": unicode_value,
        }
    ]


def test_volume_glance_metadata_create_stores_text(api, ctx):
    api.volume_create(ctx, {"id": "v1"})
    api.volume_glance_metadata_create(ctx, "v1", "min_disk", 10)
    api.volume_glance_metadata_create(ctx, "v1", "description", "d" * 2000)
    assert _pairs(api.volume_glance_metadata_get(ctx, "v1")) == [
        ("description", "d" * 2000),
        ("min_disk", "10"),
    ]


def test_volume_glance_metadata_create_rules(api, ctx, other_user_ctx, image_volume):
    before = api.volume_glance_metadata_get(ctx, image_volume)
    with pytest.raises(exception.GlanceMetadataExists) as error:
        api.volume_glance_metadata_create(ctx, image_volume, "image_id", "img-2")
    assert error.value.kwargs["key"] == "image_id"
    with pytest.raises(exception.VolumeNotFound):
        api.volume_glance_metadata_create(ctx, "missing", "k", "v")
    with pytest.raises(exception.VolumeNotFound):
        api.volume_glance_metadata_create(other_user_ctx, image_volume, "k", "v")
    with pytest.raises(exception.InvalidInput):
        api.volume_glance_metadata_create(ctx, image_volume, "k" * 256, "v")
    with pytest.raises(exception.InvalidInput):
        api.volume_glance_metadata_create(ctx, image_volume, "k", ["v"])
    assert api.volume_glance_metadata_get(ctx, image_volume) == before


def test_volume_glance_metadata_create_after_delete(api, ctx, image_volume):
    api.volume_glance_metadata_delete_by_volume(ctx, image_volume)
    api.volume_glance_metadata_create(ctx, image_volume, "image_id", "img-9")
    assert _pairs(api.volume_glance_metadata_get(ctx, image_volume)) == [("image_id", "img-9")]


def test_volume_glance_metadata_get(api, ctx, user_ctx, other_user_ctx, image_volume):
    rows = api.volume_glance_metadata_get(user_ctx, image_volume)
    assert rows == [
        {"volume_id": "v1", "snapshot_id": None, "key": "image_id", "value": "img-1"},
        {"volume_id": "v1", "snapshot_id": None, "key": "image_name", "value": "cirros"},
    ]
    api.volume_create(ctx, {"id": "plain"})
    with pytest.raises(exception.GlanceMetadataNotFound) as error:
        api.volume_glance_metadata_get(ctx, "plain")
    assert error.value.kwargs["id"] == "plain"
    with pytest.raises(exception.VolumeNotFound):
        api.volume_glance_metadata_get(ctx, "missing")
    with pytest.raises(exception.VolumeNotFound):
        api.volume_glance_metadata_get(other_user_ctx, image_volume)


def test_volume_glance_metadata_get_all(api, ctx, user_ctx, other_user_ctx, image_volume):
    api.volume_create(ctx, {"id": "v2", "project_id": "other_project"})
    api.volume_glance_metadata_create(ctx, "v2", "image_id", "img-2")
    api.volume_glance_metadata_copy_to_snapshot(ctx, "s1", image_volume)
    everything = api.volume_glance_metadata_get_all(ctx)
    assert len(everything) == 5
    assert [(r["volume_id"], r["snapshot_id"]) for r in everything] == [
        (None, "s1"), (None, "s1"), ("v1", None), ("v1", None), ("v2", None),
    ]  # fmt: skip
    mine = api.volume_glance_metadata_get_all(user_ctx)
    assert mine == [r for r in everything if r["volume_id"] == "v1"]
    theirs = api.volume_glance_metadata_get_all(other_user_ctx)
    assert _pairs(theirs) == [("image_id", "img-2")]
    api.volume_glance_metadata_delete_by_volume(ctx, "v2")
    assert api.volume_glance_metadata_get_all(other_user_ctx) == []
    assert api.volume_glance_metadata_get_all(ctx.with_read_deleted("yes")) == [
        r for r in everything if r["volume_id"] != "v2"
    ]


def test_volume_glance_metadata_get_all_of_a_project(api, ctx, user_ctx, image_volume):
    """A user's listing: every row of the project's volumes, repeated copies and deleted
    volumes included (Liberty's join does not filter on the volume's ``deleted``), in the
    admin listing's order; a volume moved to another project leaves it."""
    api.volume_create(ctx, {"id": "v0", "project_id": "fake_project"})
    api.volume_glance_metadata_copy_from_volume_to_volume(ctx, image_volume, "v0")
    api.volume_glance_metadata_copy_from_volume_to_volume(ctx, image_volume, "v0")
    api.volume_create(ctx, {"id": "v9", "project_id": "fake_project"})
    api.volume_glance_metadata_create(ctx, "v9", "image_id", "img-9")
    api.volume_destroy(ctx, "v9")
    api.volume_create(ctx, {"id": "v5", "project_id": "fake_project"})
    api.volume_glance_metadata_create(ctx, "v5", "image_id", "img-5")
    api.volume_update(ctx, "v5", {"project_id": "other_project"})
    mine = api.volume_glance_metadata_get_all(user_ctx)
    assert [(r["volume_id"], r["key"], r["value"]) for r in mine] == [
        ("v0", "image_id", "img-1"), ("v0", "image_id", "img-1"),
        ("v0", "image_name", "cirros"), ("v0", "image_name", "cirros"),
        ("v1", "image_id", "img-1"), ("v1", "image_name", "cirros"),
        ("v9", "image_id", "img-9"),
    ]  # fmt: skip
    assert mine == [
        r for r in api.volume_glance_metadata_get_all(ctx) if r["volume_id"] in {"v0", "v1", "v9"}
    ]


def test_volume_glance_metadata_copy_to_snapshot(api, ctx, image_volume):
    assert api.volume_glance_metadata_copy_to_snapshot(ctx, "s1", image_volume) is None
    rows = api.volume_snapshot_glance_metadata_get(ctx, "s1")
    assert rows == [
        {"volume_id": None, "snapshot_id": "s1", "key": "image_id", "value": "img-1"},
        {"volume_id": None, "snapshot_id": "s1", "key": "image_name", "value": "cirros"},
    ]
    assert len(api.volume_glance_metadata_get(ctx, image_volume)) == 2


def test_volume_glance_metadata_copy_to_snapshot_rules(api, ctx, image_volume):
    api.volume_create(ctx, {"id": "plain"})
    with pytest.raises(exception.SnapshotNotFound):
        api.volume_glance_metadata_copy_to_snapshot(ctx, "missing", "missing")
    with pytest.raises(exception.VolumeNotFound):
        api.volume_glance_metadata_copy_to_snapshot(ctx, "s1", "missing")
    with pytest.raises(exception.GlanceMetadataNotFound):
        api.volume_glance_metadata_copy_to_snapshot(ctx, "s1", "plain")
    with pytest.raises(exception.GlanceMetadataNotFound):
        api.volume_snapshot_glance_metadata_get(ctx, "s1")


def test_volume_glance_metadata_copy_to_volume(api, ctx, image_volume):
    api.volume_glance_metadata_copy_to_snapshot(ctx, "s1", image_volume)
    api.volume_create(ctx, {"id": "restored"})
    assert api.volume_glance_metadata_copy_to_volume(ctx, "restored", "s1") is None
    assert _pairs(api.volume_glance_metadata_get(ctx, "restored")) == [
        ("image_id", "img-1"),
        ("image_name", "cirros"),
    ]
    with pytest.raises(exception.VolumeNotFound):
        api.volume_glance_metadata_copy_to_volume(ctx, "missing", "s1")
    with pytest.raises(exception.SnapshotNotFound):
        api.volume_glance_metadata_copy_to_volume(ctx, "restored", "missing")
    api.snapshot_create(ctx, {"id": "s2", "volume_id": image_volume})
    with pytest.raises(exception.GlanceMetadataNotFound):
        api.volume_glance_metadata_copy_to_volume(ctx, "restored", "s2")


def test_volume_glance_metadata_copy_from_volume_to_volume(api, ctx, image_volume):
    api.volume_create(ctx, {"id": "clone"})
    api.volume_glance_metadata_copy_from_volume_to_volume(ctx, image_volume, "clone")
    assert _pairs(api.volume_glance_metadata_get(ctx, "clone")) == [
        ("image_id", "img-1"),
        ("image_name", "cirros"),
    ]
    # no duplicate check: a second copy doubles the rows (quirk #12, kept)
    api.volume_glance_metadata_copy_from_volume_to_volume(ctx, image_volume, "clone")
    assert len(api.volume_glance_metadata_get(ctx, "clone")) == 4


def test_volume_glance_metadata_copy_from_volume_to_volume_rules(api, ctx, image_volume):
    api.volume_create(ctx, {"id": "plain"})
    with pytest.raises(exception.VolumeNotFound):
        api.volume_glance_metadata_copy_from_volume_to_volume(ctx, "missing", "plain")
    with pytest.raises(exception.GlanceMetadataNotFound):
        api.volume_glance_metadata_copy_from_volume_to_volume(ctx, "plain", image_volume)
    with pytest.raises(exception.VolumeNotFound):
        api.volume_glance_metadata_copy_from_volume_to_volume(ctx, image_volume, "missing")
    with pytest.raises(exception.GlanceMetadataNotFound):
        api.volume_glance_metadata_get(ctx, "plain")
    assert len(api.volume_glance_metadata_get_all(ctx)) == 2


def test_volume_glance_metadata_delete_by_volume(api, ctx, image_volume):
    api.volume_glance_metadata_copy_to_snapshot(ctx, "s1", image_volume)
    assert api.volume_glance_metadata_delete_by_volume(ctx, image_volume) is None
    with pytest.raises(exception.GlanceMetadataNotFound):
        api.volume_glance_metadata_get(ctx, image_volume)
    assert len(api.volume_snapshot_glance_metadata_get(ctx, "s1")) == 2
    api.volume_glance_metadata_delete_by_volume(ctx, image_volume)  # nothing left: fine
    api.volume_glance_metadata_delete_by_volume(ctx, "missing")


def test_volume_glance_metadata_delete_by_snapshot(api, ctx, user_ctx, image_volume):
    api.volume_glance_metadata_copy_to_snapshot(ctx, "s1", image_volume)
    assert api.volume_glance_metadata_delete_by_snapshot(user_ctx, "s1") is None
    with pytest.raises(exception.GlanceMetadataNotFound):
        api.volume_snapshot_glance_metadata_get(ctx, "s1")
    assert len(api.volume_glance_metadata_get(ctx, image_volume)) == 2
    api.volume_glance_metadata_delete_by_snapshot(ctx, "missing")


def test_volume_snapshot_glance_metadata_get_is_project_scoped(
    api, ctx, user_ctx, other_user_ctx, image_volume
):
    api.volume_glance_metadata_copy_to_snapshot(ctx, "s1", image_volume)
    assert len(api.volume_snapshot_glance_metadata_get(user_ctx, "s1")) == 2
    with pytest.raises(exception.SnapshotNotFound):
        api.volume_snapshot_glance_metadata_get(other_user_ctx, "s1")
    with pytest.raises(exception.SnapshotNotFound):
        api.volume_snapshot_glance_metadata_get(ctx, "missing")
