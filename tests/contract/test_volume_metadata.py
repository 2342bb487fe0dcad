"""Volume user, image (``meta_type``) and admin metadata (DBAPIVolumeTestCase metadata tests,
rewritten, plus bad input and authorization)."""

from __future__ import annotations

import enum

import pytest

from cinderdb import METADATA_TYPES, exception

FAKE_METADATA_TYPE = enum.Enum("METADATA_TYPES", "fake_type")


def _glance(api, ctx, volume_id):
    return {row["key"]: row["value"] for row in api.volume_glance_metadata_get(ctx, volume_id)}


def test_volume_metadata_get(api, ctx):
    metadata = {"a": "b", "c": "d"}
    api.volume_create(ctx, {"id": 1, "metadata": metadata})
    assert api.volume_metadata_get(ctx, 1) == metadata


def test_volume_metadata_update(api, ctx):
    api.volume_create(ctx, {"id": 1, "metadata": {"a": "1", "c": "2"}})
    result = api.volume_metadata_update(ctx, 1, {"a": "3", "d": "5"}, False)
    assert result == {"a": "3", "c": "2", "d": "5"}
    assert api.volume_metadata_get(ctx, 1) == result


def test_volume_metadata_update_with_metatype(api, ctx):
    api.volume_create(ctx, {"id": 1, "metadata": {"a": "1", "c": "2"}})
    user = api.volume_metadata_update(
        ctx, 1, {"a": "3", "d": "5"}, False, meta_type=METADATA_TYPES.user
    )
    assert user == {"a": "3", "c": "2", "d": "5"}
    image = api.volume_metadata_update(
        ctx, 1, {"e": "1", "f": "2"}, False, meta_type=METADATA_TYPES.image
    )
    assert image == {"e": "1", "f": "2"}
    image = api.volume_metadata_update(
        ctx, 1, {"e": "3", "g": "5"}, False, meta_type=METADATA_TYPES.image
    )
    assert image == {"e": "3", "f": "2", "g": "5"}
    assert _glance(api, ctx, 1) == image
    assert api.volume_metadata_get(ctx, 1) == user
    with pytest.raises(exception.InvalidMetadataType):
        api.volume_metadata_update(ctx, 1, {"e": "1"}, False, FAKE_METADATA_TYPE.fake_type)
    assert _glance(api, ctx, 1) == image


def test_volume_metadata_update_delete(api, ctx):
    api.volume_create(ctx, {"id": 1, "metadata": {"a": "1", "c": "2"}})
    result = api.volume_metadata_update(ctx, 1, {"a": "3", "d": "4"}, True)
    assert result == {"a": "3", "d": "4"}
    assert api.volume_metadata_get(ctx, 1) == result


def test_volume_metadata_update_delete_image_metadata(api, ctx):
    api.volume_create(ctx, {"id": 1})
    api.volume_metadata_update(ctx, 1, {"e": "1", "f": "2"}, False, METADATA_TYPES.image)
    result = api.volume_metadata_update(ctx, 1, {"f": "9"}, True, METADATA_TYPES.image)
    assert result == {"f": "9"}
    assert _glance(api, ctx, 1) == {"f": "9"}


def test_volume_metadata_delete(api, ctx):
    metadata = {"a": "b", "c": "d"}
    api.volume_create(ctx, {"id": 1, "metadata": metadata})
    assert api.volume_metadata_delete(ctx, 1, "c") is None
    assert api.volume_metadata_get(ctx, 1) == {"a": "b"}
    api.volume_metadata_delete(ctx, 1, "no-such-key")  # a silent no-op
    assert api.volume_metadata_get(ctx, 1) == {"a": "b"}


def test_volume_metadata_delete_with_metatype(api, ctx):
    api.volume_create(ctx, {"id": 1, "metadata": {"a": "1", "c": "2"}})
    api.volume_metadata_delete(ctx, 1, "c", meta_type=METADATA_TYPES.user)
    assert api.volume_metadata_get(ctx, 1) == {"a": "1"}
    api.volume_metadata_update(ctx, 1, {"e": "1", "f": "2"}, False, METADATA_TYPES.image)
    api.volume_metadata_delete(ctx, 1, "e", meta_type=METADATA_TYPES.image)
    assert _glance(api, ctx, 1) == {"f": "2"}
    api.volume_metadata_delete(ctx, 1, "zzz", meta_type=METADATA_TYPES.image)
    with pytest.raises(exception.InvalidMetadataType):
        api.volume_metadata_delete(ctx, 1, "f", FAKE_METADATA_TYPE.fake_type)
    assert _glance(api, ctx, 1) == {"f": "2"}
    assert api.volume_metadata_get(ctx, 1) == {"a": "1"}


def test_volume_metadata_key_can_come_back_after_delete(api, ctx):
    api.volume_create(ctx, {"id": 1, "metadata": {"a": "1"}})
    api.volume_metadata_delete(ctx, 1, "a")
    assert api.volume_metadata_update(ctx, 1, {"a": "2"}, False) == {"a": "2"}
    assert api.volume_metadata_get_item(ctx, 1, "a") == {"key": "a", "value": "2"}


def test_volume_metadata_get_item(api, ctx, user_ctx):
    api.volume_create(ctx, {"id": 1, "project_id": "fake_project", "metadata": {"a": "1"}})
    assert api.volume_metadata_get_item(ctx, 1, "a") == {"key": "a", "value": "1"}
    assert api.volume_metadata_get_item(user_ctx, "1", "a") == {"key": "a", "value": "1"}
    with pytest.raises(exception.VolumeMetadataNotFound) as error:
        api.volume_metadata_get_item(ctx, 1, "b")
    assert error.value.kwargs == {"metadata_key": "b", "volume_id": "1", "code": 404}
    with pytest.raises(exception.VolumeNotFound):
        api.volume_metadata_get_item(ctx, "missing", "a")


@pytest.mark.parametrize(
    "call",
    [
        lambda api, c, v: api.volume_metadata_get(c, v),
        lambda api, c, v: api.volume_metadata_get_item(c, v, "a"),
        lambda api, c, v: api.volume_metadata_update(c, v, {"x": "y"}, False),
        lambda api, c, v: api.volume_metadata_update(c, v, {"x": "y"}, False, METADATA_TYPES.image),
        lambda api, c, v: api.volume_metadata_delete(c, v, "a"),
    ],
)
def test_volume_metadata_needs_a_visible_volume(api, ctx, other_user_ctx, call):
    api.volume_create(ctx, {"id": "v1", "project_id": "fake_project", "metadata": {"a": "1"}})
    with pytest.raises(exception.VolumeNotFound):
        call(api, ctx, "missing")
    with pytest.raises(exception.VolumeNotFound):
        call(api, other_user_ctx, "v1")
    assert api.volume_metadata_get(ctx, "v1") == {"a": "1"}


def test_volume_metadata_user_of_the_project(api, ctx, user_ctx):
    api.volume_create(ctx, {"id": "v1", "project_id": "fake_project", "metadata": {"a": "1"}})
    assert api.volume_metadata_update(user_ctx, "v1", {"b": "2"}, False) == {"a": "1", "b": "2"}
    api.volume_metadata_delete(user_ctx, "v1", "a")
    assert api.volume_metadata_get(user_ctx, "v1") == {"b": "2"}


@pytest.mark.parametrize(
    "metadata",
    [{"k": "v" * 256}, {"k" * 256: "v"}, {"k": ["v"]}, "k=v", ["k", "v"], {"ok": "1", "bad": {}}],
)
def test_volume_metadata_update_bad_values_change_nothing(api, ctx, metadata):
    api.volume_create(ctx, {"id": "v1", "metadata": {"a": "1"}, "admin_metadata": {"b": "2"}})
    with pytest.raises(exception.InvalidInput):
        api.volume_metadata_update(ctx, "v1", metadata, True)
    with pytest.raises(exception.InvalidInput):
        api.volume_admin_metadata_update(ctx, "v1", metadata, True)
    assert api.volume_metadata_get(ctx, "v1") == {"a": "1"}
    assert api.volume_admin_metadata_get(ctx, "v1") == {"b": "2"}


def test_volume_metadata_image_values_may_be_long_text(api, ctx):
    api.volume_create(ctx, {"id": "v1"})
    long_value = "x" * 1000
    api.volume_metadata_update(ctx, "v1", {"k": long_value}, False, METADATA_TYPES.image)
    assert _glance(api, ctx, "v1") == {"k": long_value}


# ---------------------------------------------------------- admin metadata


def test_volume_admin_metadata_get_update_delete(api, ctx):
    api.volume_create(ctx, {"id": "v1", "admin_metadata": {"readonly": "False"}})
    assert api.volume_admin_metadata_get(ctx, "v1") == {"readonly": "False"}
    merged = api.volume_admin_metadata_update(ctx, "v1", {"attached_mode": "rw"}, False)
    assert merged == {"readonly": "False", "attached_mode": "rw"}
    replaced = api.volume_admin_metadata_update(ctx, "v1", {"readonly": "True"}, True)
    assert replaced == {"readonly": "True"}
    api.volume_admin_metadata_delete(ctx, "v1", "readonly")
    api.volume_admin_metadata_delete(ctx, "v1", "never-there")
    assert api.volume_admin_metadata_get(ctx, "v1") == {}
    assert api.volume_metadata_get(ctx, "v1") == {}


def test_volume_admin_metadata_is_admin_only(api, ctx, user_ctx):
    api.volume_create(ctx, {"id": "v1", "project_id": "fake_project", "admin_metadata": {"a": "1"}})
    for call in (
        lambda: api.volume_admin_metadata_get(user_ctx, "v1"),
        lambda: api.volume_admin_metadata_update(user_ctx, "v1", {"a": "2"}, False),
        lambda: api.volume_admin_metadata_delete(user_ctx, "v1", "a"),
    ):
        with pytest.raises(exception.AdminRequired):
            call()
    assert api.volume_admin_metadata_get(ctx, "v1") == {"a": "1"}


def test_volume_admin_metadata_unknown_volume(api, ctx):
    with pytest.raises(exception.VolumeNotFound):
        api.volume_admin_metadata_get(ctx, "missing")
    with pytest.raises(exception.VolumeNotFound):
        api.volume_admin_metadata_update(ctx, "missing", {"a": "1"}, False)
    with pytest.raises(exception.VolumeNotFound):
        api.volume_admin_metadata_delete(ctx, "missing", "a")


def test_volume_metadata_replace_records_when_keys_went(api, ctx):
    """A replacing update retires the dropped keys: gone from the record and from filters."""
    api.volume_create(ctx, {"id": "v1", "metadata": {"a": "1", "b": "2"}})
    api.volume_metadata_update(ctx, "v1", {"b": "2"}, True)
    volume = api.volume_get(ctx, "v1")
    assert volume["volume_metadata"] == [{"key": "b", "value": "2"}]
    assert api.volume_get_all(ctx, None, None, filters={"metadata": {"a": "1"}}) == []
