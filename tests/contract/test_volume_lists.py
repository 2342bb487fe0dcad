"""Volume lists: volume_get_all, _by_project, _by_host, _by_group with Liberty's filters,
sorting and keyset pagination (DBAPIVolumeTestCase list tests, rewritten, plus bad input)."""

from __future__ import annotations

import pytest

from cinderdb import exception
from tests.contract.volume_helpers import id_set, ids, make_volumes


def _group(api, ctx, name):
    return api.consistencygroup_create(
        ctx, {"id": name, "name": name, "user_id": "u", "project_id": "p", "status": "available"}
    )["id"]


def test_volume_get_all(api, ctx):
    volumes = [api.volume_create(ctx, {"host": f"h{i}", "size": i}) for i in range(3)]
    listed = api.volume_get_all(ctx, None, None, ["host"], None)
    assert sorted(listed, key=lambda v: v["id"]) == sorted(
        [{**v, "volume_type": None} for v in volumes], key=lambda v: v["id"]
    )


def test_volume_get_all_marker_passed(api, ctx):
    for i in (1, 2, 3, 4):
        api.volume_create(ctx, {"id": i})
    assert ids(api.volume_get_all(ctx, 2, 2, ["id"], ["asc"])) == ["3", "4"]


def test_volume_get_all_by_host(api, ctx):
    created = [[api.volume_create(ctx, {"host": f"h{i}"}) for _ in range(3)] for i in range(3)]
    for i in range(3):
        assert id_set(api.volume_get_all_by_host(ctx, f"h{i}")) == id_set(created[i])


def test_volume_get_all_by_host_with_pools(api, ctx):
    expected = [api.volume_create(ctx, {"host": "foo"}) for _ in range(3)]
    expected.append(api.volume_create(ctx, {"host": "foo#pool0"}))
    api.volume_create(ctx, {"host": "foobar"})
    api.volume_create(ctx, {"host": "fo_"})
    assert id_set(api.volume_get_all_by_host(ctx, "foo")) == id_set(expected)
    assert id_set(api.volume_get_all_by_host(ctx, "fo_")) == {
        v["id"] for v in api.volume_get_all(ctx, None, None, filters={"host": "fo_"})
    }


def test_volume_get_all_by_host_with_filters(api, ctx):
    v1 = api.volume_create(ctx, {"host": "h1", "display_name": "v1", "status": "available"})
    v2 = api.volume_create(ctx, {"host": "h1", "display_name": "v2", "status": "available"})
    v3 = api.volume_create(ctx, {"host": "h2", "display_name": "v1", "status": "available"})
    by_host = api.volume_get_all_by_host
    assert ids(by_host(ctx, "h1", filters={"display_name": "v1"})) == [v1["id"]]
    assert id_set(by_host(ctx, "h1", filters={"display_name": ["v1", "v2", "foo"]})) == id_set(
        [v1, v2]
    )
    assert id_set(by_host(ctx, "h1", filters={"status": "available"})) == id_set([v1, v2])
    assert ids(by_host(ctx, "h2", filters={"display_name": "v1"})) == [v3["id"]]
    assert by_host(ctx, "h1", filters={"status": "foo"}) == []
    assert by_host(ctx, "h1", filters={"foo": "bar"}) == []


def test_volume_get_all_by_host_rules(api, ctx, user_ctx):
    api.volume_create(ctx, {"host": "h1"})
    assert api.volume_get_all_by_host(ctx, "") == []
    assert api.volume_get_all_by_host(ctx, None) == []
    with pytest.raises(exception.InvalidInput):
        api.volume_get_all_by_host(ctx, 42)
    with pytest.raises(exception.AdminRequired):
        api.volume_get_all_by_host(user_ctx, "h1")


def test_volume_get_all_by_group(api, ctx):
    created = []
    for i in range(3):
        group = _group(api, ctx, f"g{i}")
        created.append([api.volume_create(ctx, {"consistencygroup_id": group}) for _ in range(3)])
    for i in range(3):
        assert id_set(api.volume_get_all_by_group(ctx, f"g{i}")) == id_set(created[i])


def test_volume_get_all_by_group_with_filters(api, ctx):
    _group(api, ctx, "g1")
    _group(api, ctx, "g2")
    v1 = api.volume_create(ctx, {"consistencygroup_id": "g1", "display_name": "v1"})
    v2 = api.volume_create(ctx, {"consistencygroup_id": "g1", "display_name": "v2"})
    v3 = api.volume_create(ctx, {"consistencygroup_id": "g2", "display_name": "v1"})
    by_group = api.volume_get_all_by_group
    assert ids(by_group(ctx, "g1", filters={"display_name": "v1"})) == [v1["id"]]
    assert id_set(by_group(ctx, "g1", filters={"display_name": ["v1", "v2"]})) == id_set([v1, v2])
    assert ids(by_group(ctx, "g2", filters={"display_name": "v1"})) == [v3["id"]]
    assert by_group(ctx, "g1", filters={"display_name": "foo"}) == []
    assert by_group(ctx, "g1", filters={"foo": "bar"}) == []


def test_volume_get_all_by_group_is_not_project_scoped(api, ctx, other_user_ctx):
    _group(api, ctx, "g1")
    volume = api.volume_create(ctx, {"consistencygroup_id": "g1", "project_id": "fake_project"})
    listed = api.volume_get_all_by_group(other_user_ctx, "g1")
    assert ids(listed) == [volume["id"]]
    assert "volume_admin_metadata" not in listed[0]


def test_volume_get_all_by_project(api, ctx):
    created = [
        [api.volume_create(ctx, {"project_id": f"p{i}"}) for _ in range(3)] for i in range(3)
    ]
    for i in range(3):
        listed = api.volume_get_all_by_project(ctx, f"p{i}", None, None, ["host"], None)
        assert id_set(listed) == id_set(created[i])


def test_volume_get_all_by_project_rules(api, ctx, user_ctx):
    mine = api.volume_create(ctx, {"project_id": "fake_project", "admin_metadata": {"a": "b"}})
    api.volume_create(ctx, {"project_id": "other_project"})
    listed = api.volume_get_all_by_project(user_ctx, "fake_project", None, None)
    assert ids(listed) == [mine["id"]]
    assert "volume_admin_metadata" not in listed[0]
    with pytest.raises(exception.NotAuthorized):
        api.volume_get_all_by_project(user_ctx, "other_project", None, None)
    # the project argument overrides a project filter
    assert ids(
        api.volume_get_all_by_project(ctx, "fake_project", None, None, filters={"project_id": "x"})
    ) == [mine["id"]]
    with pytest.raises(exception.InvalidInput):
        api.volume_get_all_by_project(ctx, "fake_project", None, None, filters=["status"])


def test_volume_get_all_needs_admin(api, ctx, user_ctx):
    api.volume_create(ctx, {"project_id": "fake_project"})
    with pytest.raises(exception.AdminRequired):
        api.volume_get_all(user_ctx, None, None)


def test_volume_list_record_shape(api, ctx):
    vtype = api.volume_type_create(ctx, {"name": "t", "extra_specs": {"k": "v"}})
    volume = api.volume_create(ctx, {"volume_type_id": vtype["id"], "metadata": {"a": "1"}})
    (listed,) = api.volume_get_all(ctx, None, None)
    assert "extra_specs" not in listed["volume_type"]
    assert listed["volume_type"]["name"] == "t"
    expected = {**volume, "volume_type": {**volume["volume_type"]}}
    del expected["volume_type"]["extra_specs"]
    assert listed == expected


def test_volume_get_by_name(api, ctx):
    make_volumes(
        api, ctx, {"display_name": "vol1"}, {"display_name": "vol2"}, {"display_name": "vol3"}
    )
    assert len(api.volume_get_all(ctx, None, None, ["created_at"], ["asc"])) == 3
    found = api.volume_get_all(ctx, None, None, ["created_at"], ["asc"], {"display_name": "vol2"})
    assert [v["display_name"] for v in found] == ["vol2"]
    assert (
        api.volume_get_all(ctx, None, None, ["created_at"], ["asc"], {"display_name": "vol4"}) == []
    )


def test_volume_list_by_status(api, ctx):
    make_volumes(
        api,
        ctx,
        {"display_name": "vol1", "status": "available"},
        {"display_name": "vol2", "status": "available"},
        {"display_name": "vol3", "status": "in-use"},
    )

    def names(filters=None):
        found = api.volume_get_all(ctx, None, None, ["created_at"], ["asc"], filters)
        return [v["display_name"] for v in found]

    assert names() == ["vol1", "vol2", "vol3"]
    assert names({"status": "in-use"}) == ["vol3"]
    assert names({"status": "available"}) == ["vol1", "vol2"]
    assert names({"status": "available", "display_name": "vol1"}) == ["vol1"]
    assert names({"status": "in-use", "display_name": "vol1"}) == []


def _listed(api, ctx, project_id=None, **kwargs):
    marker, limit = kwargs.pop("marker", None), kwargs.pop("limit", None)
    if project_id:
        return ids(api.volume_get_all_by_project(ctx, project_id, marker, limit, **kwargs))
    return ids(api.volume_get_all(ctx, marker, limit, **kwargs))


def test_volume_get_by_filter(api, ctx):
    vols = make_volumes(
        api,
        ctx,
        *[{"project_id": "g1", "display_name": f"name_{i}", "size": 1} for i in range(2)],
        *[{"project_id": "g1", "display_name": f"name_{i}", "size": 2} for i in range(2)],
        *[{"project_id": "g1", "display_name": f"name_{i}"} for i in range(2)],
        *[{"project_id": "g2", "display_name": f"name_{i}", "size": 1} for i in range(2)],
    )
    v = ids(vols)
    assert _listed(api, ctx, "g1", filters={"size": "1"}) == [v[1], v[0]]
    assert _listed(api, ctx, "g1", filters={"size": "1", "display_name": "name_1"}) == [v[1]]
    assert _listed(api, ctx, filters={"size": "1"}) == [v[7], v[6], v[1], v[0]]
    assert _listed(api, ctx, filters={"size": "1", "display_name": "name_1"}) == [v[7], v[1]]
    assert _listed(api, ctx, "g1", filters={"display_name": "name_1"}) == [v[5], v[3], v[1]]
    assert _listed(api, ctx, filters={"display_name": "name_1"}) == [v[7], v[5], v[3], v[1]]
    bogus = {"display_name": "name_1", "bogus_value": "foo"}
    assert _listed(api, ctx, "g1", filters=bogus) == []
    assert _listed(api, ctx, "bogus") == []
    assert _listed(api, ctx, filters=bogus) == []
    assert _listed(api, ctx, filters={"metadata": "not valid"}) == []
    assert _listed(api, ctx, filters={"metadata": ["not", "valid"]}) == []
    # relationships, properties and admin_metadata are not filterable (quirk #1, kept)
    for key in ("volume_type", "name", "admin_metadata", "volume_metadata"):
        assert _listed(api, ctx, filters={key: "x"}) == []


def test_volume_get_all_filters_limit(api, ctx):
    vol1, vol2, vol3, vol4, vol5 = make_volumes(
        api,
        ctx,
        {"display_name": "test1"},
        {"display_name": "test2"},
        {"display_name": "test2", "metadata": {"key1": "val1"}},
        {"display_name": "test3", "metadata": {"key1": "val1", "key2": "val2"}},
        {"display_name": "test3", "metadata": {"key2": "val2", "key3": "val3"}, "host": "host5"},
    )
    api.volume_admin_metadata_update(ctx, vol5["id"], {"readonly": "True"}, False)
    all_ids = ids([vol5, vol4, vol3, vol2, vol1])
    assert _listed(api, ctx) == all_ids
    assert _listed(api, ctx, limit=1) == all_ids[:1]
    assert _listed(api, ctx, limit=4) == all_ids[:4]
    two = {"display_name": "test2"}
    assert _listed(api, ctx, filters=two) == ids([vol3, vol2])
    assert _listed(api, ctx, filters=two, limit=1) == ids([vol3])
    assert _listed(api, ctx, filters=two, limit=100) == ids([vol3, vol2])
    key1 = {"metadata": {"key1": "val1"}}
    assert _listed(api, ctx, filters=key1) == ids([vol4, vol3])
    assert _listed(api, ctx, filters=key1, limit=1) == ids([vol4])
    # admin metadata matches the metadata filter (quirk #2, kept)
    assert _listed(api, ctx, filters={"metadata": {"readonly": "True"}}) == ids([vol5])
    both = {"metadata": {"key1": "val1", "key2": "val2"}}
    assert _listed(api, ctx, filters=both) == ids([vol4])
    for pairs in (
        {"key1": "val1", "key2": "val2", "key3": "val3"},
        {"key1": "val1", "key2": "bogus"},
        {"key1": "val1", "key2": "val1"},
    ):
        assert _listed(api, ctx, filters={"metadata": pairs}) == []
    assert _listed(api, ctx, filters={"display_name": "test2", **key1}) == ids([vol3])
    combo = {"display_name": "test3", "metadata": {"key2": "val2", "key3": "val3"}, "host": "host5"}
    assert _listed(api, ctx, filters=combo) == ids([vol5])
    assert _listed(api, ctx, filters=combo, limit=1) == ids([vol5])


def test_volume_metadata_filter_ignores_deleted_metadata(api, ctx, user_ctx):
    (volume,) = make_volumes(
        api, ctx, {"project_id": "fake_project", "metadata": {"k": "v", "gone": "x"}}
    )
    api.volume_metadata_delete(ctx, volume["id"], "gone")
    assert _listed(api, ctx, filters={"metadata": {"gone": "x"}}) == []
    assert _listed(api, ctx, filters={"metadata": {"k": "v"}}) == [volume["id"]]
    assert _listed(api, user_ctx, "fake_project", filters={"metadata": {"k": "v"}}) == [
        volume["id"]
    ]


def test_volume_get_no_migration_targets(api, ctx):
    vol1, vol2, vol3, vol4 = make_volumes(
        api,
        ctx,
        {"display_name": "test1"},
        {"display_name": "test2", "migration_status": "bogus"},
        {"display_name": "test3", "migration_status": "btarget:"},
        {"display_name": "test4", "migration_status": "target:"},
    )
    assert _listed(api, ctx) == ids([vol4, vol3, vol2, vol1])
    flag = {"no_migration_targets": True}
    assert _listed(api, ctx, filters=flag) == ids([vol3, vol2, vol1])
    assert _listed(api, ctx, filters=flag, limit=2) == ids([vol3, vol2])
    assert _listed(api, ctx, filters={**flag, "display_name": "test4"}) == []
    # a falsy flag is an unknown filter: no match (quirk #1, kept)
    assert _listed(api, ctx, filters={"no_migration_targets": False}) == []


def test_volume_get_all_by_filters_sort_keys(api, ctx):
    vols = make_volumes(
        api,
        ctx,
        {"display_name": "test", "status": "available", "host": "h1"},
        {"display_name": "test", "status": "error", "host": "h1"},
        {"display_name": "test", "status": "error", "host": "h1"},
        {"display_name": "test", "status": "available", "host": "h2"},
        {"display_name": "test", "status": "error", "host": "h2"},
        {"display_name": "test", "status": "error", "host": "h2"},
        {"display_name": "other", "status": "error", "host": "a"},
        {"display_name": "other", "status": "available", "host": "a"},
    )
    h1_av, h1_er, h1_er2, h2_av, h2_er, h2_er2, other_er, other_av = ids(vols)
    test = {"display_name": "test"}
    keys3 = ["host", "status", "created_at"]
    assert _listed(api, ctx, filters=test, sort_keys=keys3, sort_dirs=["asc"] * 3) == [
        h1_av, h1_er, h1_er2, h2_av, h2_er, h2_er2,
    ]  # fmt: skip
    assert _listed(api, ctx, filters=test, sort_keys=keys3, sort_dirs=["asc", "desc", "asc"]) == [
        h1_er, h1_er2, h1_av, h2_er, h2_er2, h2_av,
    ]  # fmt: skip
    assert _listed(api, ctx, filters=test, sort_keys=keys3, sort_dirs=["desc", "desc", "asc"]) == [
        h2_er, h2_er2, h2_av, h1_er, h1_er2, h1_av,
    ]  # fmt: skip
    keys2 = ["host", "status"]
    assert _listed(api, ctx, filters=test, sort_keys=keys2, sort_dirs=["desc", "desc"]) == [
        h2_er2, h2_er, h2_av, h1_er2, h1_er, h1_av,
    ]  # fmt: skip
    assert _listed(api, ctx, filters=test, sort_keys=keys2, sort_dirs=["asc", "asc"]) == [
        h1_av, h1_er, h1_er2, h2_av, h2_er, h2_er2,
    ]  # fmt: skip
    assert _listed(api, ctx, sort_keys=keys2, sort_dirs=["asc", "asc"]) == [
        other_av, other_er, h1_av, h1_er, h1_er2, h2_av, h2_er, h2_er2,
    ]  # fmt: skip
    assert _listed(api, ctx) == [
        other_av, other_er, h2_er2, h2_er, h2_av, h1_er2, h1_er, h1_av,
    ]  # fmt: skip
    # fewer directions than keys: the first direction pads the rest
    assert _listed(api, ctx, filters=test, sort_keys=keys2, sort_dirs=["desc"]) == [
        h2_er2, h2_er, h2_av, h1_er2, h1_er, h1_av,
    ]  # fmt: skip


def test_volume_get_all_by_filters_sort_keys_paginate(api, ctx):
    vols = make_volumes(
        api,
        ctx,
        *[
            {"display_name": "test", "size": size, "status": status}
            for size in (1, 2)
            for status in ("available", "error", "error")
        ],
        {"display_name": "other"},
        {"display_name": "other"},
    )
    t1_av, t1_er, t1_er2, t2_av, t2_er, t2_er2 = ids(vols[:6])
    order = [t1_er, t1_er2, t1_av, t2_er, t2_er2, t2_av]
    arguments = {
        "filters": {"display_name": "test"},
        "sort_keys": ["size", "status", "created_at"],
        "sort_dirs": ["asc", "desc", "asc"],
    }
    for limit in (1, 2, 3):
        marker = None
        for start in range(0, 7, limit):
            page = _listed(api, ctx, marker=marker, limit=limit, **arguments)
            assert page == order[start : start + limit]
            if page:
                marker = page[-1]


def test_volume_pagination_over_null_sort_values(api, ctx):
    """A NULL sort value sorts lowest and a NULL marker value pages on (quirk #3, fixed)."""
    vols = make_volumes(
        api, ctx, {"size": 2}, {"size": None}, {"size": 1}, {"size": None}, {"size": 3}
    )
    two, null_a, one, null_b, three = ids(vols)
    for dirs, order in (
        (["asc", "asc"], [null_a, null_b, one, two, three]),
        (["desc", "desc"], [three, two, one, null_b, null_a]),
    ):
        keys = ["size", "created_at"]
        assert _listed(api, ctx, sort_keys=keys, sort_dirs=dirs) == order
        walked, marker = [], None
        while True:
            page = _listed(api, ctx, marker=marker, limit=2, sort_keys=keys, sort_dirs=dirs)
            if not page:
                break
            walked += page
            marker = page[-1]
        assert walked == order


def test_volume_get_all_offset_and_limit(api, ctx):
    vols = ids(make_volumes(api, ctx, *[{"display_name": f"v{i}"} for i in range(5)]))
    newest_first = vols[::-1]
    assert _listed(api, ctx, limit=0) == []
    assert ids(api.volume_get_all(ctx, None, 2, offset=1)) == newest_first[1:3]
    assert ids(api.volume_get_all(ctx, None, None, offset=3)) == newest_first[3:]
    assert ids(api.volume_get_all(ctx, vols[3], 2, offset=1)) == newest_first[3:5]


def test_volume_marker_may_be_outside_the_filters(api, ctx):
    vols = ids(make_volumes(api, ctx, {"status": "a"}, {"status": "b"}, {"status": "a"}))
    assert _listed(api, ctx, marker=vols[1], filters={"status": "a"}) == [vols[0]]


@pytest.mark.parametrize(
    ("keys", "dirs"),
    [
        (["foo"], None),
        (["display_name", "foo"], None),
        (["volume_type"], None),
        (["name"], None),
        (["host"], ["up"]),
        (["host"], ["asc", "desc"]),
    ],
)
def test_volume_get_all_invalid_sort(api, ctx, keys, dirs):
    api.volume_create(ctx, {})
    with pytest.raises(exception.InvalidInput):
        api.volume_get_all(ctx, None, None, sort_keys=keys, sort_dirs=dirs)
    with pytest.raises(exception.InvalidInput):
        api.volume_get_all_by_project(ctx, "p", None, None, sort_keys=keys, sort_dirs=dirs)


@pytest.mark.parametrize(("limit", "offset"), [(-1, None), ("2", None), (None, -3), (1.5, None)])
def test_volume_get_all_invalid_page_arguments(api, ctx, limit, offset):
    with pytest.raises(exception.InvalidInput):
        api.volume_get_all(ctx, None, limit, offset=offset)


def test_volume_get_all_unknown_marker(api, ctx, user_ctx):
    api.volume_create(ctx, {"id": "theirs", "project_id": "other_project"})
    with pytest.raises(exception.VolumeNotFound):
        api.volume_get_all(ctx, "missing", 10)
    with pytest.raises(exception.VolumeNotFound):
        api.volume_get_all_by_project(user_ctx, "fake_project", "theirs", 10)


def test_volume_list_deleted_filter_and_read_deleted(api, ctx):
    live, gone = make_volumes(api, ctx, {}, {})
    api.volume_destroy(ctx, gone["id"])
    assert _listed(api, ctx) == [live["id"]]
    assert _listed(api, ctx, filters={"deleted": True}) == []
    assert _listed(api, ctx.with_read_deleted("yes")) == [gone["id"], live["id"]]
    assert _listed(api, ctx.with_read_deleted("only")) == [gone["id"]]
    assert _listed(api, ctx.with_read_deleted("yes"), filters={"deleted": True}) == [gone["id"]]


def test_volume_list_in_filter_and_null_filter(api, ctx):
    a, b, c = make_volumes(api, ctx, {"size": 1}, {"size": 2}, {})
    assert _listed(api, ctx, filters={"size": [1, 2, 99]}) == ids([b, a])
    assert _listed(api, ctx, filters={"size": []}) == []
    assert _listed(api, ctx, filters={"size": None}) == [c["id"]]
    assert _listed(api, ctx, filters={"size": "many"}) == []
