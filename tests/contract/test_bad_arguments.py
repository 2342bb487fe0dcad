"""Bad arguments get one answer on every backend, before anything is written (issue 13
items 6 and 7): text that is not Unicode, integers past MySQL's INT, ids that name no row."""

from __future__ import annotations

import pytest

from cinderdb import exception
from tests.contract.quota_helpers import RESOURCES, UNLIMITED, later, usages

LONE = "\ud800"
#: MySQL's signed INT maximum (asserted literally, not read from the code under test).
INT_MAX = 2**31 - 1

# ------------------------------------------------------------ lone surrogates


@pytest.mark.parametrize(
    "values",
    [
        {"display_name": LONE},
        {"display_name": "ok", "metadata": {LONE: "v"}},
        {"display_name": "ok", "metadata": {"k": "a" + LONE}},
        {"display_name": "ok", "admin_metadata": {"readonly": LONE}},
        {"display_name": "ok", "host": "h" + LONE, "project_id": "p"},
    ],
)
def test_a_lone_surrogate_is_invalid_input_and_nothing_is_written(api, ctx, values):
    with pytest.raises(exception.InvalidInput):
        api.volume_create(
            ctx, {"id": "v1", **values, "metadata": values.get("metadata", {"a": "b"})}
        )
    with pytest.raises(exception.VolumeNotFound):
        api.volume_get(ctx, "v1")
    assert api.volume_get_all(ctx, None, None) == []
    assert api.volume_get_all(ctx, None, None, filters={"metadata": {"a": "b"}}) == []
    api.volume_create(ctx, {"id": "v1", "metadata": {"a": "b"}})
    assert [v["id"] for v in api.volume_get_all(ctx, None, None)] == ["v1"]


def test_a_lone_surrogate_anywhere_is_invalid_input(api, ctx):
    api.volume_create(ctx, {"id": "v1", "project_id": "p"})
    api.volume_type_create(ctx, {"id": "t1", "name": "gold"})
    calls = [
        lambda: api.volume_get(ctx, LONE),
        lambda: api.volume_update(ctx, "v1", {"display_description": LONE}),
        lambda: api.volume_metadata_update(ctx, "v1", {"k": LONE}, False),
        lambda: api.volume_metadata_get_item(ctx, "v1", LONE),
        lambda: api.volume_type_create(ctx, {"name": LONE}),
        lambda: api.volume_type_get_by_name(ctx, LONE),
        lambda: api.volume_type_extra_specs_update_or_create(ctx, "t1", {LONE: "v"}),
        lambda: api.qos_specs_create(ctx, {"name": "q", "consumer": LONE}),
        lambda: api.volume_get_all(ctx, None, None, filters={"metadata": {"k": LONE}}),
        lambda: api.volume_get_all_by_host(ctx, LONE),
        lambda: api.quota_create(ctx, "p", "volumes" + LONE, 1),
        lambda: api.volume_glance_metadata_create(ctx, "v1", "k", LONE),
    ]
    for call in calls:
        with pytest.raises(exception.InvalidInput):
            call()
    assert api.volume_get(ctx, "v1")["display_description"] is None
    assert api.volume_metadata_get(ctx, "v1") == {}
    assert sorted(api.volume_type_get_all(ctx)) == ["gold"]
    assert api.volume_type_extra_specs_get(ctx, "t1") == {}
    assert api.qos_specs_get_all(ctx) == []
    assert api.quota_get_all_by_project(ctx, "p") == {"project_id": "p"}
    assert api.volume_glance_metadata_get_all(ctx) == []


# ------------------------------------------------------------ MySQL's INT range


@pytest.mark.parametrize(
    ("deltas", "until_refresh", "max_age"),
    [
        ({"volumes": INT_MAX + 1}, 0, 0),
        ({"volumes": -(2**31) - 1}, 0, 0),
        ({"volumes": 1}, INT_MAX + 1, 0),
        ({"volumes": 1}, 0, INT_MAX + 1),
    ],
)
def test_quota_reserve_integers_past_int_are_invalid_input(
    api, ctx, deltas, until_refresh, max_age
):
    with pytest.raises(exception.InvalidInput):
        api.quota_reserve(ctx, RESOURCES, UNLIMITED, deltas, later(), until_refresh, max_age, "p")
    assert usages(api, ctx, "p") == {}


def test_quota_limits_past_int_are_invalid_input(api, ctx):
    with pytest.raises(exception.InvalidInput):
        api.quota_reserve(
            ctx, RESOURCES, {"volumes": INT_MAX + 1}, {"volumes": 1}, later(), 0, 0, "p"
        )
    with pytest.raises(exception.InvalidInput):
        api.quota_create(ctx, "p", "volumes", INT_MAX + 1)
    assert usages(api, ctx, "p") == {}
    assert api.quota_get_all_by_project(ctx, "p") == {"project_id": "p"}


def test_a_reservation_that_would_push_reserved_past_int_is_invalid_input(api, ctx):
    api.quota_reserve(ctx, RESOURCES, UNLIMITED, {"volumes": INT_MAX}, later(), 0, 0, "p")
    with pytest.raises(exception.InvalidInput):
        api.quota_reserve(ctx, RESOURCES, UNLIMITED, {"volumes": 1}, later(), 0, 0, "p")
    assert usages(api, ctx, "p") == {"volumes": {"in_use": 0, "reserved": INT_MAX}}


def test_a_commit_that_would_push_in_use_past_int_is_invalid_input(api, ctx):
    first = api.quota_reserve(ctx, RESOURCES, UNLIMITED, {"volumes": INT_MAX}, later(), 0, 0, "p")
    api.reservation_commit(ctx, first, "p")
    second = api.quota_reserve(ctx, RESOURCES, UNLIMITED, {"volumes": 1}, later(), 0, 0, "p")
    with pytest.raises(exception.InvalidInput):
        api.reservation_commit(ctx, second, "p")
    assert usages(api, ctx, "p") == {"volumes": {"in_use": INT_MAX, "reserved": 1}}
    api.reservation_rollback(ctx, second, "p")  # the reservation is still there to settle
    assert usages(api, ctx, "p") == {"volumes": {"in_use": INT_MAX, "reserved": 0}}


def test_integer_columns_past_int_are_invalid_input(api, ctx):
    with pytest.raises(exception.InvalidInput):
        api.volume_create(ctx, {"id": "v1", "size": INT_MAX + 1})
    api.volume_create(ctx, {"id": "v1", "size": INT_MAX})
    with pytest.raises(exception.InvalidInput):
        api.volume_update(ctx, "v1", {"size": -(2**31) - 1})
    assert api.volume_get(ctx, "v1")["size"] == INT_MAX


# -------------------------------------------------------- ids that name no row

#: Ids no row can have: none, longer than the String(36) column, past a store's key size.
NO_ROW_IDS = [None, "x" * 37, "x" * 2000, "\U0001d11e" * 255]

LOOKUPS = [
    ("volume_get", (), exception.VolumeNotFound),
    ("volume_metadata_get", (), exception.VolumeNotFound),
    ("volume_admin_metadata_get", (), exception.VolumeNotFound),
    ("volume_update", ({"status": "x"},), exception.VolumeNotFound),
    ("volume_glance_metadata_get", (), exception.VolumeNotFound),
    ("snapshot_get", (), exception.SnapshotNotFound),
    ("snapshot_metadata_get", (), exception.SnapshotNotFound),
    ("snapshot_update", ({"status": "x"},), exception.SnapshotNotFound),
    ("volume_attachment_get", (), exception.VolumeAttachmentNotFound),
    ("volume_type_get", (), exception.VolumeTypeNotFound),
    ("volume_type_qos_specs_get", (), exception.VolumeTypeNotFound),
    ("qos_specs_get", (), exception.QoSSpecsNotFound),
    ("consistencygroup_get", (), exception.ConsistencyGroupNotFound),
    ("cgsnapshot_get", (), exception.CgSnapshotNotFound),
]


@pytest.mark.parametrize("bad_id", NO_ROW_IDS, ids=["none", "37", "2000", "4byte255"])
@pytest.mark.parametrize(("function", "rest", "error"), LOOKUPS, ids=[f for f, _, _ in LOOKUPS])
def test_an_id_no_row_can_have_is_not_found(api, ctx, function, rest, error, bad_id):
    with pytest.raises(error):
        getattr(api, function)(ctx, bad_id, *rest)


@pytest.mark.parametrize("bad_id", NO_ROW_IDS, ids=["none", "37", "2000", "4byte255"])
def test_an_id_no_row_can_have_finds_nothing_elsewhere(api, ctx, bad_id):
    assert api.volume_destroy(ctx, bad_id) is None
    assert api.snapshot_get_all_for_volume(ctx, bad_id) == []
    assert api.volume_attachment_get_used_by_volume_id(ctx, bad_id) == []
    assert api.volume_type_extra_specs_get(ctx, bad_id) == {}
    assert api.volume_get_all_by_group(ctx, bad_id) == []


@pytest.mark.parametrize("bad_id", [1.5, {"id": "x"}, ["x"], True])
def test_an_id_that_is_not_text_is_invalid_input(api, ctx, bad_id):
    for call in (
        lambda: api.volume_get(ctx, bad_id),
        lambda: api.snapshot_get(ctx, bad_id),
        lambda: api.volume_type_get(ctx, bad_id),
        lambda: api.volume_destroy(ctx, bad_id),
    ):
        with pytest.raises(exception.InvalidInput):
            call()
