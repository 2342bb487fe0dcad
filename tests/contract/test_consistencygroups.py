"""Consistency groups (brief §7): create, read, update, destroy, scoping and bad input."""

from __future__ import annotations

import pytest

from cinderdb import RequestContext, exception
from cinderdb.base import is_uuid_like
from cinderdb.records import column_names

GROUP_COLUMNS = set(column_names("consistencygroup"))


def make_group(api, ctx, project="fake_project", **values):
    return api.consistencygroup_create(
        ctx, {"project_id": project, "user_id": "fake_user", **values}
    )


def all_groups(api):
    """Every group, deleted ones included, for "nothing changed" checks."""
    everything = RequestContext(is_admin=True, read_deleted="yes")
    return sorted(api.consistencygroup_get_all(everything), key=lambda g: g["id"])


def test_consistencygroup_create_and_get(api, ctx):
    group = make_group(api, ctx, name="g", description="d", volume_type_id="t1,t2")
    assert set(group) == GROUP_COLUMNS
    assert is_uuid_like(group["id"])
    assert (group["name"], group["description"]) == ("g", "d")
    assert group["volume_type_id"] == "t1,t2"
    assert group["deleted"] is False
    assert group["created_at"] is not None
    assert group["updated_at"] is None
    assert api.consistencygroup_get(ctx, group["id"]) == group


def test_consistencygroup_create_integer_ids_are_text(api, ctx):
    group = api.consistencygroup_create(ctx, {"id": 7, "project_id": 1, "user_id": 2})
    assert (group["id"], group["project_id"], group["user_id"]) == ("7", "1", "2")
    assert api.consistencygroup_get(ctx, 7) == group


def test_consistencygroup_get_not_found(api, ctx):
    with pytest.raises(exception.ConsistencyGroupNotFound) as raised:
        api.consistencygroup_get(ctx, "missing")
    assert raised.value.kwargs["consistencygroup_id"] == "missing"


def test_consistencygroup_user_scoping(api, ctx, user_ctx, other_user_ctx):
    mine = make_group(api, user_ctx)
    theirs = make_group(api, ctx, project="other_project")
    assert api.consistencygroup_get(user_ctx, mine["id"]) == mine
    with pytest.raises(exception.ConsistencyGroupNotFound):
        api.consistencygroup_get(user_ctx, theirs["id"])
    with pytest.raises(exception.ConsistencyGroupNotFound):
        api.consistencygroup_get(other_user_ctx, mine["id"])
    assert api.consistencygroup_get(ctx, mine["id"]) == mine


def test_consistencygroup_create_for_another_project_stores_nothing(api, ctx, user_ctx):
    """Liberty inserts, then fails to re-read it in the user's project scope."""
    make_group(api, user_ctx)
    before = all_groups(api)
    with pytest.raises(exception.ConsistencyGroupNotFound):
        make_group(api, user_ctx, project="other_project")
    assert all_groups(api) == before


@pytest.mark.parametrize(
    "values",
    [
        {"project_id": "p", "name": "n" * 256},
        {"project_id": "p", "status": ["available"]},
        {"project_id": "p", "id": "i" * 37},
        {"project_id": "p", "created_at": "yesterday"},
    ],
)
def test_consistencygroup_create_bad_input_stores_nothing(api, ctx, values):
    make_group(api, ctx)
    before = all_groups(api)
    with pytest.raises(exception.InvalidInput):
        api.consistencygroup_create(ctx, values)
    assert all_groups(api) == before


def test_consistencygroup_get_all_and_by_project(api, ctx, user_ctx):
    a = make_group(api, ctx, project="fake_project")
    b = make_group(api, ctx, project="fake_project")
    c = make_group(api, ctx, project="other_project")
    assert {g["id"] for g in api.consistencygroup_get_all(ctx)} == {a["id"], b["id"], c["id"]}
    mine = api.consistencygroup_get_all_by_project(user_ctx, "fake_project")
    assert {g["id"] for g in mine} == {a["id"], b["id"]}
    assert api.consistencygroup_get_all_by_project(ctx, "other_project") == [c]
    assert api.consistencygroup_get_all_by_project(ctx, "nobody") == []


def test_consistencygroup_listing_authorization(api, ctx, user_ctx):
    make_group(api, ctx)
    with pytest.raises(exception.AdminRequired):
        api.consistencygroup_get_all(user_ctx)
    with pytest.raises(exception.NotAuthorized):
        api.consistencygroup_get_all_by_project(user_ctx, "other_project")
    with pytest.raises(exception.AdminRequired):
        api.consistencygroup_data_get_for_project(user_ctx, "fake_project")


def test_consistencygroup_update(api, ctx, user_ctx):
    group = make_group(api, user_ctx, status="creating")
    updated = api.consistencygroup_update(
        user_ctx, group["id"], {"status": "available", "name": "n", "bogus": 1}
    )
    assert (updated["status"], updated["name"]) == ("available", "n")
    assert "bogus" not in updated
    assert updated["updated_at"] is not None
    assert api.consistencygroup_get(user_ctx, group["id"]) == updated


def test_consistencygroup_update_refused_changes_nothing(api, ctx, user_ctx, other_user_ctx):
    group = make_group(api, user_ctx, status="creating")
    before = all_groups(api)
    with pytest.raises(exception.ConsistencyGroupNotFound) as raised:
        api.consistencygroup_update(ctx, "missing", {"status": "x"})
    assert raised.value.kwargs["consistencygroup_id"] == "missing"
    with pytest.raises(exception.ConsistencyGroupNotFound):
        api.consistencygroup_update(other_user_ctx, group["id"], {"status": "x"})
    with pytest.raises(exception.InvalidInput):
        api.consistencygroup_update(user_ctx, group["id"], {"name": "n" * 256})
    assert all_groups(api) == before


def test_consistencygroup_destroy(api, ctx):
    group = make_group(api, ctx, status="available")
    keep = make_group(api, ctx)
    assert api.consistencygroup_destroy(ctx, group["id"]) is None
    with pytest.raises(exception.ConsistencyGroupNotFound):
        api.consistencygroup_get(ctx, group["id"])
    assert api.consistencygroup_get_all(ctx) == [keep]
    deleted = api.consistencygroup_get(
        RequestContext(is_admin=True, read_deleted="yes"), group["id"]
    )
    assert deleted["status"] == "deleted"
    assert deleted["deleted"] is True
    assert deleted["deleted_at"] is not None
    assert deleted["updated_at"] is None  # a destroy keeps updated_at
    only = RequestContext(is_admin=True, read_deleted="only")
    assert [g["id"] for g in api.consistencygroup_get_all(only)] == [group["id"]]
    # destroying a missing or deleted group is not an error (quirk 6 kept)
    api.consistencygroup_destroy(ctx, group["id"])
    api.consistencygroup_destroy(ctx, "missing")
    with pytest.raises(exception.AdminRequired):
        api.consistencygroup_destroy(RequestContext(user_id="u", project_id="p"), keep["id"])
    assert api.consistencygroup_get_all(ctx) == [keep]


def test_consistencygroup_destroy_leaves_its_volumes(api, ctx):
    group = make_group(api, ctx)
    volume = api.volume_create(ctx, {"consistencygroup_id": group["id"]})
    api.consistencygroup_destroy(ctx, group["id"])
    after = api.volume_get(ctx, volume["id"])
    assert after["consistencygroup_id"] == group["id"]
    assert after["consistencygroup"]["status"] == "deleted"


def test_consistencygroup_data_get_for_project(api, ctx):
    assert api.consistencygroup_data_get_for_project(ctx, "fake_project") == (0, 0)
    first = make_group(api, ctx)
    make_group(api, ctx)
    make_group(api, ctx, project="other_project")
    assert api.consistencygroup_data_get_for_project(ctx, "fake_project") == (0, 2)
    api.consistencygroup_destroy(ctx, first["id"])
    assert api.consistencygroup_data_get_for_project(ctx, "fake_project") == (0, 1)
