"""Volume types and extra specs (DBAPIVolumeTypeTestCase rewritten, brief §5.1-5.3; access and
QoS links are in ``test_type_access.py`` and ``test_qos_specs.py``)."""

from __future__ import annotations

import pytest

from cinderdb import RequestContext, exception
from cinderdb.base import is_uuid_like
from cinderdb.records import column_names

TYPE_COLUMNS = set(column_names("volume_type"))


def make_type(api, ctx, name="t1", **values):
    return api.volume_type_create(ctx, {"name": name, **values})


def snapshot_of_types(api, ctx):
    """Everything the type functions can show, for "nothing changed" checks."""
    return api.volume_type_get_all(ctx, inactive=True)


# ------------------------------------------------------------------ create


def test_volume_type_create_exists(api, ctx):
    vt = make_type(api, ctx, "n1")
    with pytest.raises(exception.VolumeTypeExists) as by_name:
        api.volume_type_create(ctx, {"name": "n1"})
    assert by_name.value.kwargs["id"] == "n1"
    with pytest.raises(exception.VolumeTypeExists) as by_id:
        api.volume_type_create(ctx, {"name": "n2", "id": vt["id"]})
    assert by_id.value.kwargs["id"] == vt["id"]
    assert list(api.volume_type_get_all(ctx)) == ["n1"]


def test_volume_type_create_record(api, ctx):
    vt = api.volume_type_create(
        ctx, {"name": "gold", "description": "fast", "extra_specs": {"a": "1", "b": "2"}}
    )
    assert set(vt) == TYPE_COLUMNS | {"extra_specs"}
    assert is_uuid_like(vt["id"])
    assert vt["name"] == "gold"
    assert vt["description"] == "fast"
    assert vt["is_public"] is True
    assert vt["qos_specs_id"] is None
    assert vt["deleted"] is False
    assert vt["updated_at"] is None
    assert vt["extra_specs"] == {"a": "1", "b": "2"}
    assert api.volume_type_get(ctx, vt["id"]) == vt


def test_volume_type_create_is_public_none_means_public(api, ctx, user_ctx):
    vt = make_type(api, ctx, "n", is_public=None)
    assert vt["is_public"] is True
    assert set(api.volume_type_get_all(user_ctx, filters={"is_public": True})) == {"n"}


def test_volume_type_create_integer_id_is_text(api, ctx):
    vt = make_type(api, ctx, "n", id=42)
    assert vt["id"] == "42"
    assert api.volume_type_get(ctx, 42)["id"] == "42"


def test_volume_type_create_with_projects_grants_access(api, ctx):
    vt = api.volume_type_create(ctx, {"name": "p", "is_public": False}, projects=["b", "a", "b"])
    assert [row["project_id"] for row in api.volume_type_access_get_all(ctx, vt["id"])] == [
        "a",
        "b",
    ]
    public = api.volume_type_create(ctx, {"name": "pub"}, projects=["c"])  # even when public
    assert api.volume_type_access_get_all(ctx, public["id"]) == [
        {"volume_type_id": public["id"], "project_id": "c"}
    ]


def test_volume_type_name_of_a_deleted_type_can_be_reused(api, ctx):
    old = make_type(api, ctx, "n1")
    api.volume_type_destroy(ctx, old["id"])
    new = make_type(api, ctx, "n1")
    assert new["id"] != old["id"]
    assert api.volume_type_get_by_name(ctx, "n1")["id"] == new["id"]


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"name": None},
        {"name": "x" * 256},
        {"name": "ok", "description": "d" * 256},
        {"name": "ok", "is_public": "maybe"},
        {"name": "ok", "extra_specs": "not a dict"},
        {"name": "ok", "extra_specs": {"k": "v" * 256}},
        {"name": "ok", "extra_specs": {"k" * 256: "v"}},
    ],
)
def test_volume_type_create_bad_input_stores_nothing(api, ctx, values):
    make_type(api, ctx, "existing", extra_specs={"a": "1"})
    before = snapshot_of_types(api, ctx)
    with pytest.raises(exception.InvalidInput):
        api.volume_type_create(ctx, values)
    assert snapshot_of_types(api, ctx) == before


def test_volume_type_create_bad_project_stores_nothing(api, ctx):
    with pytest.raises(exception.InvalidInput):
        api.volume_type_create(ctx, {"name": "t"}, projects=["p" * 256])
    assert api.volume_type_get_all(ctx) == {}


def test_volume_type_write_functions_are_admin_only(api, ctx, user_ctx):
    vt = make_type(api, ctx)
    with pytest.raises(exception.AdminRequired):
        api.volume_type_create(user_ctx, {"name": "u"})
    with pytest.raises(exception.AdminRequired):
        api.volume_type_update(user_ctx, vt["id"], {"name": "u"})
    with pytest.raises(exception.AdminRequired):
        api.volume_type_destroy(user_ctx, vt["id"])
    assert list(api.volume_type_get_all(ctx)) == ["t1"]


# ------------------------------------------------------------------ update


def test_volume_type_update_changes_the_given_keys(api, ctx):
    vt = make_type(api, ctx, "old", description="d", extra_specs={"k": "v"})
    updated = api.volume_type_update(
        ctx, vt["id"], {"name": "new", "description": "d2", "is_public": False}
    )
    assert updated["name"] == "new"
    assert updated["description"] == "d2"
    assert updated["is_public"] is False
    assert updated["extra_specs"] == {"k": "v"}
    assert updated["updated_at"] is not None
    assert api.volume_type_get(ctx, vt["id"]) == updated
    assert list(api.volume_type_get_all(ctx)) == ["new"]


def test_volume_type_update_none_or_missing_means_unchanged(api, ctx):
    vt = make_type(api, ctx, "n", description="d", is_public=False)
    api.volume_type_update(ctx, vt["id"], {"name": None, "description": None, "is_public": None})
    api.volume_type_update(ctx, vt["id"], {"description": "only this"})  # quirk 9a fixed
    got = api.volume_type_get(ctx, vt["id"])
    assert (got["name"], got["description"], got["is_public"]) == ("n", "only this", False)


def test_volume_type_update_to_a_taken_name_changes_nothing(api, ctx):
    first = make_type(api, ctx, "a")
    make_type(api, ctx, "b")
    before = snapshot_of_types(api, ctx)
    with pytest.raises(exception.VolumeTypeExists) as raised:
        api.volume_type_update(ctx, first["id"], {"name": "b", "description": "x"})
    assert raised.value.kwargs["id"] == "b"
    assert snapshot_of_types(api, ctx) == before
    # its own name is not "taken"
    assert api.volume_type_update(ctx, first["id"], {"name": "a"})["name"] == "a"


def test_volume_type_update_unknown_or_deleted_type(api, ctx):
    with pytest.raises(exception.VolumeTypeNotFound):
        api.volume_type_update(ctx, "missing", {"name": "x"})
    vt = make_type(api, ctx)
    api.volume_type_destroy(ctx, vt["id"])
    with pytest.raises(exception.VolumeTypeNotFound):
        api.volume_type_update(ctx, vt["id"], {"name": "x"})


def test_volume_type_update_bad_input_changes_nothing(api, ctx):
    vt = make_type(api, ctx)
    before = snapshot_of_types(api, ctx)
    for values in ({"name": "x" * 256}, {"is_public": "perhaps"}, "not a dict"):
        with pytest.raises(exception.InvalidInput):
            api.volume_type_update(ctx, vt["id"], values)
    assert snapshot_of_types(api, ctx) == before


# ------------------------------------------------------------------ reads


def test_volume_type_get_admin_and_user_shapes(api, ctx, user_ctx):
    vt = make_type(api, ctx, extra_specs={"k": "v"})
    assert api.volume_type_get(ctx, vt["id"])["extra_specs"] == {"k": "v"}
    as_user = api.volume_type_get(user_ctx, vt["id"])
    assert set(as_user) == TYPE_COLUMNS  # no extra_specs key for users
    assert api.volume_type_get_by_name(user_ctx, "t1") == as_user


def test_volume_type_get_projects_on_request(api, ctx):
    vt = api.volume_type_create(ctx, {"name": "p", "is_public": False}, projects=["y", "x"])
    got = api.volume_type_get(ctx, vt["id"], expected_fields=["projects"])
    assert got["projects"] == ["x", "y"]
    assert "projects" not in api.volume_type_get(ctx, vt["id"])


def test_volume_type_get_not_found(api, ctx):
    with pytest.raises(exception.VolumeTypeNotFound) as raised:
        api.volume_type_get(ctx, "missing")
    assert raised.value.kwargs["volume_type_id"] == "missing"
    with pytest.raises(exception.VolumeTypeNotFoundByName) as by_name:
        api.volume_type_get_by_name(ctx, "missing")
    assert by_name.value.kwargs["volume_type_name"] == "missing"
    assert isinstance(by_name.value, exception.VolumeTypeNotFound)


def test_volume_type_get_inactive_shows_deleted(api, ctx):
    vt = make_type(api, ctx, extra_specs={"k": "v"})
    api.volume_type_destroy(ctx, vt["id"])
    with pytest.raises(exception.VolumeTypeNotFound):
        api.volume_type_get(ctx, vt["id"])
    deleted = api.volume_type_get(ctx, vt["id"], inactive=True)
    assert deleted["deleted"] is True
    assert deleted["deleted_at"] is not None
    assert deleted["extra_specs"] == {}  # destroyed with the type
    with pytest.raises(exception.VolumeTypeNotFoundByName):
        api.volume_type_get_by_name(ctx, "t1")


def test_private_type_visibility_for_users(api, ctx, user_ctx, other_user_ctx):
    public = make_type(api, ctx, "public")
    private = api.volume_type_create(
        ctx, {"name": "private", "is_public": False}, projects=["fake_project"]
    )
    hidden = make_type(api, ctx, "hidden", is_public=False)
    assert set(api.volume_type_get_all(user_ctx)) == {"public", "private"}
    assert set(api.volume_type_get_all(other_user_ctx)) == {"public"}
    assert api.volume_type_get(user_ctx, private["id"])["name"] == "private"
    with pytest.raises(exception.VolumeTypeNotFound):
        api.volume_type_get(other_user_ctx, private["id"])
    with pytest.raises(exception.VolumeTypeNotFound):
        api.volume_type_get(user_ctx, hidden["id"])
    # by name there is no visibility check (Liberty, quirk 8 kept)
    assert api.volume_type_get_by_name(other_user_ctx, "hidden")["id"] == hidden["id"]
    assert api.volume_type_get(other_user_ctx, public["id"])["name"] == "public"


def test_volume_type_get_all_is_public_filter(api, ctx, user_ctx):
    make_type(api, ctx, "pub")
    api.volume_type_create(ctx, {"name": "mine", "is_public": False}, projects=["fake_project"])
    make_type(api, ctx, "theirs", is_public=False)
    assert set(api.volume_type_get_all(ctx, filters={"is_public": True})) == {"pub"}
    assert set(api.volume_type_get_all(ctx, filters={"is_public": False})) == {"mine", "theirs"}
    assert set(api.volume_type_get_all(ctx, filters={"is_public": None})) == {
        "pub",
        "mine",
        "theirs",
    }
    assert set(api.volume_type_get_all(user_ctx, filters={"is_public": True})) == {"pub", "mine"}
    assert set(api.volume_type_get_all(user_ctx, filters={"is_public": False})) == {"mine"}
    admin_of_project = RequestContext(user_id="a", project_id="fake_project", is_admin=True)
    assert set(api.volume_type_get_all(admin_of_project, filters={"is_public": True})) == {
        "pub",
        "mine",
    }
    assert set(api.volume_type_get_all(ctx, filters={"unknown": 1})) == {"pub", "mine", "theirs"}
    with pytest.raises(exception.InvalidInput):
        api.volume_type_get_all(ctx, filters={"is_public": "sometimes"})


def test_volume_type_get_all_shapes_and_inactive(api, ctx, user_ctx):
    a = make_type(api, ctx, "a", extra_specs={"x": "1"})
    b = make_type(api, ctx, "b")
    types = api.volume_type_get_all(ctx)
    assert list(types) == ["a", "b"]
    assert types["a"] == api.volume_type_get(ctx, a["id"])
    assert set(api.volume_type_get_all(user_ctx)["a"]) == TYPE_COLUMNS
    api.volume_type_destroy(ctx, b["id"])
    assert list(api.volume_type_get_all(ctx)) == ["a"]
    assert api.volume_type_get_all(ctx, inactive=True)["b"]["deleted"] is True


def test_volume_type_get_all_inactive_prefers_the_live_type_of_a_name(api, ctx):
    old = make_type(api, ctx, "n")
    api.volume_type_destroy(ctx, old["id"])
    new = make_type(api, ctx, "n")
    assert api.volume_type_get_all(ctx, inactive=True)["n"]["id"] == new["id"]
    read_all = RequestContext(is_admin=True, read_deleted="yes")
    assert api.volume_type_get_by_name(read_all, "n")["id"] == new["id"]


def test_volume_types_get_by_name_or_id(api, ctx, user_ctx):
    a = make_type(api, ctx, "a")
    b = make_type(api, ctx, "b", is_public=False)
    got = api.volume_types_get_by_name_or_id(ctx, [a["id"], "b", "a"])
    assert [t["id"] for t in got] == [a["id"], b["id"], a["id"]]
    with pytest.raises(exception.VolumeTypeNotFound):
        api.volume_types_get_by_name_or_id(ctx, ["a", "missing"])
    with pytest.raises(exception.VolumeTypeNotFound):  # a uuid is looked up by id
        api.volume_types_get_by_name_or_id(ctx, ["aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"])
    # users: a private type is visible by name, not by id (Liberty)
    assert api.volume_types_get_by_name_or_id(user_ctx, ["b"])[0]["id"] == b["id"]
    with pytest.raises(exception.VolumeTypeNotFound):
        api.volume_types_get_by_name_or_id(user_ctx, [b["id"]])
    with pytest.raises(exception.InvalidInput):
        api.volume_types_get_by_name_or_id(ctx, "a")
    assert api.volume_types_get_by_name_or_id(ctx, []) == []


def test_volume_type_reads_need_a_user_or_admin(api, ctx):
    make_type(api, ctx)
    nobody = RequestContext()
    with pytest.raises(exception.NotAuthorized):
        api.volume_type_get_all(nobody)
    with pytest.raises(exception.NotAuthorized):
        api.volume_type_get_by_name(nobody, "t1")


# ----------------------------------------------------------------- destroy


def test_volume_type_destroy(api, ctx):
    vt = api.volume_type_create(ctx, {"name": "t", "extra_specs": {"k": "v"}}, projects=["p1"])
    assert api.volume_type_destroy(ctx, vt["id"]) is None
    with pytest.raises(exception.VolumeTypeNotFound):
        api.volume_type_get(ctx, vt["id"])
    assert api.volume_type_extra_specs_get(ctx, vt["id"]) == {}
    # access rows are left alone (Liberty)
    kept = api.volume_type_get(ctx, vt["id"], inactive=True, expected_fields=["projects"])
    assert kept["projects"] == ["p1"]
    with pytest.raises(exception.VolumeTypeNotFound):
        api.volume_type_destroy(ctx, vt["id"])
    with pytest.raises(exception.VolumeTypeNotFound):
        api.volume_type_destroy(ctx, "missing")


def test_volume_type_destroy_in_use(api, ctx):
    vt = make_type(api, ctx)
    volume = api.volume_create(ctx, {"volume_type_id": vt["id"]})
    before = snapshot_of_types(api, ctx)
    with pytest.raises(exception.VolumeTypeInUse) as raised:
        api.volume_type_destroy(ctx, vt["id"])
    assert raised.value.kwargs["volume_type_id"] == vt["id"]
    assert snapshot_of_types(api, ctx) == before
    api.volume_destroy(ctx, volume["id"])
    api.volume_type_destroy(ctx, vt["id"])
    assert api.volume_type_get_all(ctx) == {}


# ------------------------------------------------------------- extra specs


def test_get_volume_type_extra_specs_through_the_volume(api, ctx):
    """Cinder's test reads the specs through a volume after the session is closed; the
    contract equivalent: the volume's type carries its extra specs."""
    specs = {"mock_key": "mock_value"}
    vt = make_type(api, ctx, "n1", extra_specs=specs)
    volume = api.volume_create(ctx, {"volume_type_id": vt["id"]})
    assert api.volume_get(ctx, volume["id"])["volume_type"]["extra_specs"] == specs


def test_extra_specs_update_or_create_merges(api, ctx):
    vt = make_type(api, ctx, extra_specs={"a": "1", "b": "2"})
    assert api.volume_type_extra_specs_update_or_create(ctx, vt["id"], {"b": "3", "c": "4"}) == {
        "b": "3",
        "c": "4",
    }
    assert api.volume_type_extra_specs_get(ctx, vt["id"]) == {"a": "1", "b": "3", "c": "4"}
    assert api.volume_type_get(ctx, vt["id"])["extra_specs"] == {"a": "1", "b": "3", "c": "4"}


def test_extra_specs_delete(api, ctx):
    vt = make_type(api, ctx, extra_specs={"a": "1", "b": "2"})
    assert api.volume_type_extra_specs_delete(ctx, vt["id"], "a") is None
    assert api.volume_type_extra_specs_get(ctx, vt["id"]) == {"b": "2"}
    with pytest.raises(exception.VolumeTypeExtraSpecsNotFound) as raised:
        api.volume_type_extra_specs_delete(ctx, vt["id"], "a")
    assert raised.value.kwargs == {
        "extra_specs_key": "a",
        "volume_type_id": vt["id"],
        "code": 404,
    }
    api.volume_type_extra_specs_update_or_create(ctx, vt["id"], {"a": "again"})
    assert api.volume_type_extra_specs_get(ctx, vt["id"]) == {"a": "again", "b": "2"}


def test_extra_specs_functions_accept_any_user(api, ctx, other_user_ctx):
    vt = make_type(api, ctx, is_public=False)
    api.volume_type_extra_specs_update_or_create(other_user_ctx, vt["id"], {"k": "v"})
    assert api.volume_type_extra_specs_get(other_user_ctx, vt["id"]) == {"k": "v"}
    api.volume_type_extra_specs_delete(other_user_ctx, vt["id"], "k")
    assert api.volume_type_extra_specs_get(ctx, vt["id"]) == {}


def test_extra_specs_of_an_unknown_type(api, ctx):
    assert api.volume_type_extra_specs_get(ctx, "missing") == {}
    with pytest.raises(exception.VolumeTypeExtraSpecsNotFound):
        api.volume_type_extra_specs_delete(ctx, "missing", "k")
    with pytest.raises(exception.VolumeTypeNotFound):
        api.volume_type_extra_specs_update_or_create(ctx, "missing", {"k": "v"})
    assert api.volume_type_extra_specs_get(ctx, "missing") == {}


@pytest.mark.parametrize("specs", ["k=v", {"k": "v" * 256}, {"k" * 256: "v"}, {"k": ["v"]}])
def test_extra_specs_bad_input_changes_nothing(api, ctx, specs):
    vt = make_type(api, ctx, extra_specs={"a": "1"})
    with pytest.raises(exception.InvalidInput):
        api.volume_type_extra_specs_update_or_create(ctx, vt["id"], specs)
    assert api.volume_type_extra_specs_get(ctx, vt["id"]) == {"a": "1"}
