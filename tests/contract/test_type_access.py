"""Volume type access (brief §5.5; DBAPIVolumeTypeTestCase's two access tests rewritten)."""

from __future__ import annotations

import pytest

from cinderdb import exception


@pytest.fixture
def private(api, ctx):
    return api.volume_type_create(ctx, {"name": "private", "is_public": False})


def projects_of(api, ctx, type_id):
    return [row["project_id"] for row in api.volume_type_access_get_all(ctx, type_id)]


def test_volume_type_access_remove(api, ctx, private):
    api.volume_type_access_add(ctx, private["id"], "fake_project")
    assert len(api.volume_type_access_get_all(ctx, private["id"])) == 1
    assert api.volume_type_access_remove(ctx, private["id"], "fake_project") is None
    assert api.volume_type_access_get_all(ctx, private["id"]) == []


def test_volume_type_access_remove_high_id(api, ctx, private):
    """Cinder's regression test for bug 1496747 forces the access row's id to 150 through a
    raw session; through the API the same happens after enough grants."""
    for n in range(140):
        api.volume_type_access_add(ctx, private["id"], f"p{n:03d}")
    assert len(api.volume_type_access_get_all(ctx, private["id"])) == 140
    api.volume_type_access_remove(ctx, private["id"], "p139")
    api.volume_type_access_remove(ctx, private["id"], "p000")
    assert projects_of(api, ctx, private["id"]) == [f"p{n:03d}" for n in range(1, 139)]


def test_volume_type_access_add_returns_the_access(api, ctx, private):
    added = api.volume_type_access_add(ctx, private["id"], "b")
    assert added == {"volume_type_id": private["id"], "project_id": "b"}
    api.volume_type_access_add(ctx, private["id"], "a")
    assert api.volume_type_access_get_all(ctx, private["id"]) == [
        {"volume_type_id": private["id"], "project_id": "a"},
        {"volume_type_id": private["id"], "project_id": "b"},
    ]


def test_volume_type_access_add_twice(api, ctx, private):
    api.volume_type_access_add(ctx, private["id"], "p")
    with pytest.raises(exception.VolumeTypeAccessExists) as raised:
        api.volume_type_access_add(ctx, private["id"], "p")
    assert raised.value.kwargs["volume_type_id"] == private["id"]
    assert raised.value.kwargs["project_id"] == "p"
    assert projects_of(api, ctx, private["id"]) == ["p"]


def test_volume_type_access_remove_missing(api, ctx, private):
    api.volume_type_access_add(ctx, private["id"], "p")
    with pytest.raises(exception.VolumeTypeAccessNotFound) as raised:
        api.volume_type_access_remove(ctx, private["id"], "other")
    assert raised.value.kwargs == {
        "volume_type_id": private["id"],
        "project_id": "other",
        "code": 404,
    }
    assert projects_of(api, ctx, private["id"]) == ["p"]


def test_volume_type_access_remove_add_remove_again(api, ctx, private):
    """Liberty's Boolean unique key makes the second removal a raw DBDuplicateEntry (quirk 9b);
    it works here, as many times as needed."""
    for _ in range(3):
        api.volume_type_access_add(ctx, private["id"], "p")
        api.volume_type_access_remove(ctx, private["id"], "p")
    assert api.volume_type_access_get_all(ctx, private["id"]) == []
    api.volume_type_access_add(ctx, private["id"], "p")
    assert projects_of(api, ctx, private["id"]) == ["p"]


def test_volume_type_access_unknown_or_deleted_type(api, ctx, private):
    for call in (
        lambda type_id: api.volume_type_access_get_all(ctx, type_id),
        lambda type_id: api.volume_type_access_add(ctx, type_id, "p"),
        lambda type_id: api.volume_type_access_remove(ctx, type_id, "p"),
    ):
        with pytest.raises(exception.VolumeTypeNotFound):
            call("missing")
    api.volume_type_access_add(ctx, private["id"], "p")
    api.volume_type_destroy(ctx, private["id"])
    with pytest.raises(exception.VolumeTypeNotFound):
        api.volume_type_access_get_all(ctx, private["id"])
    with pytest.raises(exception.VolumeTypeNotFound):
        api.volume_type_access_add(ctx, private["id"], "q")
    with pytest.raises(exception.VolumeTypeNotFound):
        api.volume_type_access_remove(ctx, private["id"], "p")


def test_access_grants_and_revokes_visibility(api, ctx, user_ctx, private):
    with pytest.raises(exception.VolumeTypeNotFound):
        api.volume_type_get(user_ctx, private["id"])
    api.volume_type_access_add(ctx, private["id"], "fake_project")
    assert api.volume_type_get(user_ctx, private["id"])["name"] == "private"
    assert set(api.volume_type_get_all(user_ctx)) == {"private"}
    api.volume_type_access_remove(ctx, private["id"], "fake_project")
    with pytest.raises(exception.VolumeTypeNotFound):
        api.volume_type_get(user_ctx, private["id"])
    assert api.volume_type_get_all(user_ctx) == {}


def test_volume_type_access_is_admin_only(api, ctx, user_ctx, private):
    api.volume_type_access_add(ctx, private["id"], "fake_project")
    with pytest.raises(exception.AdminRequired):
        api.volume_type_access_get_all(user_ctx, private["id"])
    with pytest.raises(exception.AdminRequired):
        api.volume_type_access_add(user_ctx, private["id"], "other")
    with pytest.raises(exception.AdminRequired):
        api.volume_type_access_remove(user_ctx, private["id"], "fake_project")
    assert projects_of(api, ctx, private["id"]) == ["fake_project"]


@pytest.mark.parametrize("project", [None, "p" * 256, ["p"]])
def test_volume_type_access_add_bad_project(api, ctx, private, project):
    with pytest.raises(exception.InvalidInput):
        api.volume_type_access_add(ctx, private["id"], project)
    assert api.volume_type_access_get_all(ctx, private["id"]) == []
