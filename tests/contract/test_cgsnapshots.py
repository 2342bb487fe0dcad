"""Cgsnapshots (DBAPICgsnapshotTestCase rewritten, brief §7, plus scoping and bad input)."""

from __future__ import annotations

import pytest

from cinderdb import RequestContext, exception
from cinderdb.records import column_names

CGSNAPSHOT_COLUMNS = set(column_names("cgsnapshot"))


@pytest.fixture
def groups(api, ctx):
    """Groups g1 and g2, which Cinder's tests name without creating (the seed's foreign key
    needs them)."""
    for group_id in ("g1", "g2"):
        api.consistencygroup_create(ctx, {"id": group_id, "project_id": "1", "user_id": "u"})


def ids(records):
    return sorted(record["id"] for record in records)


def all_cgsnapshots(api):
    everything = RequestContext(is_admin=True, read_deleted="yes")
    return sorted(api.cgsnapshot_get_all(everything), key=lambda c: c["id"])


def test_cgsnapshot_get_all_by_filter(api, ctx, groups):
    api.cgsnapshot_create(ctx, {"id": 1, "consistencygroup_id": "g1"})
    api.cgsnapshot_create(ctx, {"id": 2, "consistencygroup_id": "g1"})
    api.cgsnapshot_create(ctx, {"id": 3, "consistencygroup_id": "g2"})
    assert len(api.cgsnapshot_get_all(ctx, filters=None)) == 3
    assert ids(api.cgsnapshot_get_all(ctx, {"consistencygroup_id": "g1"})) == ["1", "2"]
    assert ids(api.cgsnapshot_get_all(ctx, {"id": 3})) == ["3"]
    assert api.cgsnapshot_get_all(ctx, {"fake_key": "fake"}) == []


def test_cgsnapshot_get_all_by_group(api, ctx, groups):
    api.cgsnapshot_create(ctx, {"id": 1, "consistencygroup_id": "g1"})
    api.cgsnapshot_create(ctx, {"id": 2, "consistencygroup_id": "g1"})
    api.cgsnapshot_create(ctx, {"id": 3, "consistencygroup_id": "g2"})
    cases = [
        ({"consistencygroup_id": "g1"}, ["1", "2"]),
        ({"id": 3}, []),
        ({"fake_key": "fake"}, []),
        ({"consistencygroup_id": "g2"}, []),
        (None, ["1", "2"]),
    ]
    for filters, expected in cases:
        assert ids(api.cgsnapshot_get_all_by_group(ctx, "g1", filters)) == expected, filters
    for cgsnapshot_id in ("1", "2", "3"):
        api.cgsnapshot_destroy(ctx, cgsnapshot_id)
    assert api.cgsnapshot_get_all_by_group(ctx, "g1") == []


def test_cgsnapshot_get_all_by_project(api, ctx, groups):
    api.cgsnapshot_create(ctx, {"id": 1, "consistencygroup_id": "g1", "project_id": 1})
    api.cgsnapshot_create(ctx, {"id": 2, "consistencygroup_id": "g1", "project_id": 1})
    api.cgsnapshot_create(ctx, {"id": 4, "consistencygroup_id": "g2", "project_id": 2})
    cases = [
        ({"id": 1}, ["1"]),
        ({"consistencygroup_id": "g1"}, ["1", "2"]),
        ({"fake_key": "fake"}, []),
        (None, ["1", "2"]),
    ]
    for filters, expected in cases:
        assert ids(api.cgsnapshot_get_all_by_project(ctx, 1, filters)) == expected, filters
    assert api.cgsnapshot_get_all_by_project(ctx, "") == []  # Liberty skips a falsy project
    assert api.cgsnapshot_get_all_by_group(ctx, "") == []


def test_cgsnapshot_create_get_update(api, ctx, user_ctx, groups):
    created = api.cgsnapshot_create(
        user_ctx,
        {"consistencygroup_id": "g1", "project_id": "fake_project", "name": "c", "status": "new"},
    )
    assert set(created) == CGSNAPSHOT_COLUMNS
    assert created["updated_at"] is None
    assert api.cgsnapshot_get(user_ctx, created["id"]) == created
    updated = api.cgsnapshot_update(user_ctx, created["id"], {"status": "available"})
    assert updated["status"] == "available"
    assert updated["updated_at"] is not None
    assert api.cgsnapshot_get(ctx, created["id"]) == updated


def test_cgsnapshot_needs_an_existing_group(api, ctx, groups):
    with pytest.raises(exception.ConsistencyGroupNotFound):
        api.cgsnapshot_create(ctx, {"consistencygroup_id": "missing"})
    with pytest.raises(exception.ConsistencyGroupNotFound):
        api.cgsnapshot_create(ctx, {"name": "no group"})
    assert all_cgsnapshots(api) == []


def test_cgsnapshot_not_found(api, ctx):
    with pytest.raises(exception.CgSnapshotNotFound) as raised:
        api.cgsnapshot_get(ctx, "missing")
    assert raised.value.kwargs["cgsnapshot_id"] == "missing"
    with pytest.raises(exception.CgSnapshotNotFound):
        api.cgsnapshot_update(ctx, "missing", {"status": "x"})


def test_cgsnapshot_user_scoping(api, ctx, user_ctx, other_user_ctx, groups):
    mine = api.cgsnapshot_create(
        ctx, {"consistencygroup_id": "g1", "project_id": "fake_project", "status": "a"}
    )
    with pytest.raises(exception.CgSnapshotNotFound):
        api.cgsnapshot_get(other_user_ctx, mine["id"])
    before = all_cgsnapshots(api)
    with pytest.raises(exception.CgSnapshotNotFound):
        api.cgsnapshot_update(other_user_ctx, mine["id"], {"status": "stolen"})
    with pytest.raises(exception.CgSnapshotNotFound):  # created in another project: not kept
        api.cgsnapshot_create(user_ctx, {"consistencygroup_id": "g1", "project_id": "other"})
    assert all_cgsnapshots(api) == before
    assert ids(api.cgsnapshot_get_all_by_project(user_ctx, "fake_project")) == [mine["id"]]
    with pytest.raises(exception.NotAuthorized):
        api.cgsnapshot_get_all_by_project(user_ctx, "other_project")
    for admin_only in (
        lambda: api.cgsnapshot_get_all(user_ctx),
        lambda: api.cgsnapshot_get_all_by_group(user_ctx, "g1"),
        lambda: api.cgsnapshot_destroy(user_ctx, mine["id"]),
    ):
        with pytest.raises(exception.AdminRequired):
            admin_only()
    assert all_cgsnapshots(api) == before


def test_cgsnapshot_destroy(api, ctx, groups):
    doomed = api.cgsnapshot_create(ctx, {"consistencygroup_id": "g1", "status": "available"})
    keep = api.cgsnapshot_create(ctx, {"consistencygroup_id": "g1"})
    assert api.cgsnapshot_destroy(ctx, doomed["id"]) is None
    with pytest.raises(exception.CgSnapshotNotFound):
        api.cgsnapshot_get(ctx, doomed["id"])
    assert ids(api.cgsnapshot_get_all(ctx)) == [keep["id"]]
    deleted = api.cgsnapshot_get(RequestContext(is_admin=True, read_deleted="yes"), doomed["id"])
    assert (deleted["status"], deleted["deleted"]) == ("deleted", True)
    assert deleted["deleted_at"] is not None
    assert deleted["updated_at"] is None
    api.cgsnapshot_destroy(ctx, doomed["id"])  # no error for deleted or missing (quirk 6)
    api.cgsnapshot_destroy(ctx, "missing")
    assert ids(api.cgsnapshot_get_all(ctx)) == [keep["id"]]


@pytest.mark.parametrize(
    "filters", [{"id": ["1", "2"]}, {"status": {"a": 1}}, "status=available", ["status"]]
)
def test_cgsnapshot_filters_bad_input(api, ctx, groups, filters):
    api.cgsnapshot_create(ctx, {"id": 1, "consistencygroup_id": "g1"})
    with pytest.raises(exception.InvalidInput):
        api.cgsnapshot_get_all(ctx, filters)


def test_cgsnapshot_filter_value_that_fits_no_column_matches_nothing(api, ctx, groups):
    api.cgsnapshot_create(ctx, {"id": 1, "consistencygroup_id": "g1"})
    assert api.cgsnapshot_get_all(ctx, {"id": "x" * 40}) == []
    assert api.cgsnapshot_get_all(ctx, {"name": None}) != []


@pytest.mark.parametrize(
    "values",
    [
        {"consistencygroup_id": "g1", "name": "n" * 256},
        {"consistencygroup_id": "g1", "status": 3.5},
        "not a dict",
    ],
)
def test_cgsnapshot_bad_values_store_nothing(api, ctx, groups, values):
    existing = api.cgsnapshot_create(ctx, {"consistencygroup_id": "g1"})
    before = all_cgsnapshots(api)
    with pytest.raises(exception.InvalidInput):
        api.cgsnapshot_create(ctx, values)
    with pytest.raises(exception.InvalidInput):
        api.cgsnapshot_update(ctx, existing["id"], values)
    assert all_cgsnapshots(api) == before
