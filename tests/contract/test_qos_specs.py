"""QoS specs and their links to volume types (brief §5.4, §5.6)."""

from __future__ import annotations

import pytest

from cinderdb import exception
from cinderdb.records import column_names

TYPE_COLUMNS = set(column_names("volume_type"))


def make_spec(api, ctx, name="gold", **specs):
    specs = specs or {"consumer": "back-end", "iops": "100"}
    return api.qos_specs_create(ctx, {"name": name, "qos_specs": specs})


def everything(api, ctx):
    """All specs and types, deleted ones included, for "nothing changed" checks."""
    return (
        sorted(api.qos_specs_get_all(ctx, inactive=True), key=lambda s: s["id"]),
        api.volume_type_get_all(ctx, inactive=True),
    )


# ------------------------------------------------------------ create / get


def test_qos_specs_create_and_get(api, ctx):
    created = make_spec(api, ctx, "gold", consumer="front-end", iops="100", bw="5")
    assert set(created) == {"id", "name"}
    assert created["name"] == "gold"
    expected = {
        "id": created["id"],
        "name": "gold",
        "consumer": "front-end",
        "specs": {"iops": "100", "bw": "5"},
    }
    assert api.qos_specs_get(ctx, created["id"]) == expected
    assert api.qos_specs_get_by_name(ctx, "gold") == expected
    assert api.qos_specs_get_all(ctx) == [expected]


def test_qos_specs_without_consumer_or_keys(api, ctx):
    """Liberty raises KeyError for a spec without a consumer (quirk 10): consumer is None."""
    bare = api.qos_specs_create(ctx, {"name": "bare", "qos_specs": {}})
    keys = make_spec(api, ctx, "keys", iops="1")
    assert api.qos_specs_get(ctx, bare["id"]) == {
        "id": bare["id"],
        "name": "bare",
        "consumer": None,
        "specs": {},
    }
    assert api.qos_specs_get(ctx, keys["id"])["consumer"] is None
    assert api.qos_specs_get(ctx, keys["id"])["specs"] == {"iops": "1"}
    assert len(api.qos_specs_get_all(ctx)) == 2


def test_qos_specs_create_duplicate_name(api, ctx):
    make_spec(api, ctx, "gold")
    before = everything(api, ctx)
    with pytest.raises(exception.QoSSpecsExists) as raised:
        make_spec(api, ctx, "gold", consumer="front-end")
    assert raised.value.kwargs["specs_id"] == "gold"
    assert everything(api, ctx) == before


def test_qos_specs_name_of_a_deleted_spec_can_be_reused(api, ctx):
    old = make_spec(api, ctx, "gold")
    api.qos_specs_delete(ctx, old["id"])
    new = make_spec(api, ctx, "gold")
    assert api.qos_specs_get_by_name(ctx, "gold")["id"] == new["id"]
    assert api.qos_specs_get_by_name(ctx, "gold", inactive=True)["id"] == new["id"]


@pytest.mark.parametrize(
    "values",
    [
        {"qos_specs": {"a": "1"}},
        {"name": "x" * 256, "qos_specs": {}},
        {"name": "n", "qos_specs": "iops=1"},
        {"name": "n", "qos_specs": {"k": "v" * 256}},
        {"name": "n", "qos_specs": {"QoS_Specs_Name": "reserved"}},
        "not a dict",
    ],
)
def test_qos_specs_create_bad_input(api, ctx, values):
    make_spec(api, ctx, "existing")
    before = everything(api, ctx)
    with pytest.raises(exception.InvalidInput):
        api.qos_specs_create(ctx, values)
    assert everything(api, ctx) == before


def test_qos_specs_not_found(api, ctx):
    with pytest.raises(exception.QoSSpecsNotFound) as raised:
        api.qos_specs_get(ctx, "missing")
    assert raised.value.kwargs["specs_id"] == "missing"
    with pytest.raises(exception.QoSSpecsNotFound) as by_name:
        api.qos_specs_get_by_name(ctx, "missing")
    assert by_name.value.kwargs["specs_id"] == "missing"
    with pytest.raises(exception.QoSSpecsNotFound):
        api.qos_specs_associations_get(ctx, "missing")
    with pytest.raises(exception.QoSSpecsNotFound):
        api.qos_specs_update(ctx, "missing", {"a": "1"})
    with pytest.raises(exception.QoSSpecsNotFound):
        api.qos_specs_delete(ctx, "missing")
    assert api.qos_specs_get_all(ctx) == []


def test_qos_specs_get_all_ignores_filters(api, ctx):
    make_spec(api, ctx, "a")
    make_spec(api, ctx, "b")
    names = {s["name"] for s in api.qos_specs_get_all(ctx, filters={"name": "a"})}
    assert names == {"a", "b"}


# ------------------------------------------------------------- update/delete


def test_qos_specs_update_upserts(api, ctx):
    spec = make_spec(api, ctx, "gold", consumer="back-end", iops="100")
    assert api.qos_specs_update(ctx, spec["id"], {"iops": "200", "bw": "1"}) == {
        "iops": "200",
        "bw": "1",
    }
    api.qos_specs_update(ctx, spec["id"], {"consumer": "both"})
    assert api.qos_specs_get(ctx, spec["id"]) == {
        "id": spec["id"],
        "name": "gold",
        "consumer": "both",
        "specs": {"iops": "200", "bw": "1"},
    }


@pytest.mark.parametrize("specs", ["iops=1", {"k": "v" * 256}, {"QoS_Specs_Name": "x"}])
def test_qos_specs_update_bad_input(api, ctx, specs):
    spec = make_spec(api, ctx)
    before = everything(api, ctx)
    with pytest.raises(exception.InvalidInput):
        api.qos_specs_update(ctx, spec["id"], specs)
    assert everything(api, ctx) == before


def test_qos_specs_item_delete(api, ctx):
    spec = make_spec(api, ctx, "gold", consumer="back-end", iops="100", bw="5")
    assert api.qos_specs_item_delete(ctx, spec["id"], "iops") is None
    assert api.qos_specs_get(ctx, spec["id"])["specs"] == {"bw": "5"}
    with pytest.raises(exception.QoSSpecsKeyNotFound) as raised:
        api.qos_specs_item_delete(ctx, spec["id"], "iops")
    assert raised.value.kwargs == {"specs_key": "iops", "specs_id": spec["id"], "code": 404}
    with pytest.raises(exception.QoSSpecsKeyNotFound):
        api.qos_specs_item_delete(ctx, "missing", "bw")
    api.qos_specs_item_delete(ctx, spec["id"], "consumer")
    assert api.qos_specs_get(ctx, spec["id"])["consumer"] is None
    api.qos_specs_update(ctx, spec["id"], {"iops": "7"})
    assert api.qos_specs_get(ctx, spec["id"])["specs"] == {"bw": "5", "iops": "7"}


def test_qos_specs_delete(api, ctx):
    spec = make_spec(api, ctx, "gold")
    keep = make_spec(api, ctx, "silver")
    assert api.qos_specs_delete(ctx, spec["id"]) is None
    with pytest.raises(exception.QoSSpecsNotFound):
        api.qos_specs_get(ctx, spec["id"])
    with pytest.raises(exception.QoSSpecsNotFound):
        api.qos_specs_delete(ctx, spec["id"])
    assert [s["id"] for s in api.qos_specs_get_all(ctx)] == [keep["id"]]
    # inactive reads see the deleted root; its keys were deleted with it
    assert api.qos_specs_get(ctx, spec["id"], inactive=True) == {
        "id": spec["id"],
        "name": "gold",
        "consumer": None,
        "specs": {},
    }
    assert {s["name"] for s in api.qos_specs_get_all(ctx, inactive=True)} == {"gold", "silver"}
    assert api.qos_specs_get_by_name(ctx, "gold", inactive=True)["id"] == spec["id"]


def test_qos_specs_delete_ignores_associations(api, ctx):
    """No "force" in the DB layer (quirk 10 kept): the type keeps pointing at the spec."""
    spec = make_spec(api, ctx)
    vt = api.volume_type_create(ctx, {"name": "t"})
    api.qos_specs_associate(ctx, spec["id"], vt["id"])
    api.qos_specs_delete(ctx, spec["id"])
    assert api.volume_type_get(ctx, vt["id"])["qos_specs_id"] == spec["id"]
    assert api.volume_type_qos_specs_get(ctx, vt["id"]) == {"qos_specs": None}


# -------------------------------------------------------------- associations


def test_associate_and_read_from_both_sides(api, ctx):
    spec = make_spec(api, ctx, "gold", consumer="front-end", iops="5")
    a = api.volume_type_create(ctx, {"name": "a", "extra_specs": {"x": "1"}})
    b = api.volume_type_create(ctx, {"name": "b"})
    api.volume_type_create(ctx, {"name": "unlinked"})
    assert api.qos_specs_associate(ctx, spec["id"], a["id"]) is None
    assert api.volume_type_qos_associate(ctx, b["id"], spec["id"]) is None
    linked = api.qos_specs_associations_get(ctx, spec["id"])
    assert {t["name"] for t in linked} == {"a", "b"}
    assert all(set(t) == TYPE_COLUMNS for t in linked)  # no extra_specs in this list
    assert all(t["qos_specs_id"] == spec["id"] for t in linked)
    same = api.volume_type_qos_associations_get(ctx, spec["id"])
    assert sorted(same, key=lambda t: t["id"]) == sorted(linked, key=lambda t: t["id"])
    assert api.volume_type_qos_specs_get(ctx, a["id"]) == {
        "qos_specs": {
            "id": spec["id"],
            "name": "gold",
            "consumer": "front-end",
            "specs": {"iops": "5"},
        }
    }
    assert api.volume_type_get(ctx, a["id"])["qos_specs_id"] == spec["id"]


def test_volume_type_qos_specs_get_without_association(api, ctx):
    vt = api.volume_type_create(ctx, {"name": "t"})
    assert api.volume_type_qos_specs_get(ctx, vt["id"]) == {"qos_specs": None}
    with pytest.raises(exception.VolumeTypeNotFound):
        api.volume_type_qos_specs_get(ctx, "missing")


def test_disassociate_only_the_matching_spec(api, ctx):
    gold = make_spec(api, ctx, "gold")
    silver = make_spec(api, ctx, "silver")
    vt = api.volume_type_create(ctx, {"name": "t"})
    api.qos_specs_associate(ctx, gold["id"], vt["id"])
    api.qos_specs_disassociate(ctx, silver["id"], vt["id"])  # not its spec: no change
    assert api.volume_type_get(ctx, vt["id"])["qos_specs_id"] == gold["id"]
    api.volume_type_qos_disassociate(ctx, gold["id"], vt["id"])
    assert api.volume_type_get(ctx, vt["id"])["qos_specs_id"] is None
    assert api.qos_specs_associations_get(ctx, gold["id"]) == []


def test_disassociate_all_includes_deleted_types(api, ctx):
    spec = make_spec(api, ctx)
    live = api.volume_type_create(ctx, {"name": "live"})
    gone = api.volume_type_create(ctx, {"name": "gone"})
    for vt in (live, gone):
        api.qos_specs_associate(ctx, spec["id"], vt["id"])
    api.volume_type_destroy(ctx, gone["id"])
    assert [t["name"] for t in api.volume_type_qos_associations_get(ctx, spec["id"])] == ["live"]
    assert {t["name"] for t in api.volume_type_qos_associations_get(ctx, spec["id"], True)} == {
        "live",
        "gone",
    }
    api.qos_specs_disassociate_all(ctx, spec["id"])
    assert api.volume_type_get(ctx, gone["id"], inactive=True)["qos_specs_id"] is None
    assert api.volume_type_qos_associations_get(ctx, spec["id"], inactive=True) == []
    api.qos_specs_associate(ctx, spec["id"], live["id"])
    api.volume_type_qos_disassociate_all(ctx, spec["id"])
    assert api.volume_type_get(ctx, live["id"])["qos_specs_id"] is None


def test_associate_needs_a_live_type_and_spec(api, ctx):
    spec = make_spec(api, ctx)
    vt = api.volume_type_create(ctx, {"name": "t"})
    before = everything(api, ctx)
    with pytest.raises(exception.VolumeTypeNotFound):
        api.qos_specs_associate(ctx, spec["id"], "missing")
    with pytest.raises(exception.QoSSpecsNotFound):  # Liberty: a foreign key error on MySQL
        api.volume_type_qos_associate(ctx, vt["id"], "missing")
    with pytest.raises(exception.VolumeTypeNotFound):
        api.volume_type_qos_disassociate(ctx, spec["id"], "missing")
    assert everything(api, ctx) == before
    api.qos_specs_delete(ctx, spec["id"])
    with pytest.raises(exception.QoSSpecsNotFound):
        api.qos_specs_associate(ctx, spec["id"], vt["id"])
    assert api.volume_type_get(ctx, vt["id"])["qos_specs_id"] is None


ADMIN_ONLY = [
    ("qos_specs_create", lambda ids: ({"name": "x", "qos_specs": {}},)),
    ("qos_specs_get", lambda ids: (ids["spec"],)),
    ("qos_specs_get_all", lambda ids: ()),
    ("qos_specs_get_by_name", lambda ids: ("gold",)),
    ("qos_specs_associations_get", lambda ids: (ids["spec"],)),
    ("qos_specs_associate", lambda ids: (ids["spec"], ids["type"])),
    ("qos_specs_disassociate", lambda ids: (ids["spec"], ids["type"])),
    ("qos_specs_disassociate_all", lambda ids: (ids["spec"],)),
    ("qos_specs_item_delete", lambda ids: (ids["spec"], "iops")),
    ("qos_specs_delete", lambda ids: (ids["spec"],)),
    ("qos_specs_update", lambda ids: (ids["spec"], {"iops": "1"})),
    ("volume_type_qos_associations_get", lambda ids: (ids["spec"],)),
    ("volume_type_qos_associate", lambda ids: (ids["type"], ids["spec"])),
    ("volume_type_qos_disassociate", lambda ids: (ids["spec"], ids["type"])),
    ("volume_type_qos_disassociate_all", lambda ids: (ids["spec"],)),
    ("volume_type_qos_specs_get", lambda ids: (ids["type"],)),
]


@pytest.mark.parametrize(("name", "arguments"), ADMIN_ONLY, ids=[n for n, _ in ADMIN_ONLY])
def test_qos_functions_are_admin_only(api, ctx, user_ctx, name, arguments):
    spec = make_spec(api, ctx)
    vt = api.volume_type_create(ctx, {"name": "t"})
    api.qos_specs_associate(ctx, spec["id"], vt["id"])
    before = everything(api, ctx)
    with pytest.raises(exception.AdminRequired):
        getattr(api, name)(user_ctx, *arguments({"spec": spec["id"], "type": vt["id"]}))
    assert everything(api, ctx) == before
