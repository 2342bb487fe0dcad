"""The dual-written pairs of volume types, QoS specs and groups hold after every write function,
read with the client on both copies; and the states a crash can leave are recognised and healed.
"""

from __future__ import annotations

import contextlib

import pytest

from cinderdb import RequestContext, exception
from cinderdb.magneto.items import n, s
from tests.magneto.support_types_quotas import (
    check_all,
    check_group_indexes,
    check_names,
    check_qos_associations,
    check_volume_type_names,
)


def type_names(api):
    return check_names(api, "volume_types", "volume_types_by_name", "volume_type_id")


def qos_names(api):
    return check_names(api, "quality_of_service_specs", "qos_specs_by_name", "qos_specs_id")


def test_type_and_qos_writes_keep_names_and_associations(api, ctx):
    steps = [
        lambda: api.volume_type_create(ctx, {"name": "a", "extra_specs": {"k": "v"}}, ["p1"]),
        lambda: api.volume_type_create(ctx, {"name": "b", "is_public": False}),
        lambda: api.qos_specs_create(ctx, {"name": "gold", "qos_specs": {"consumer": "both"}}),
        lambda: api.qos_specs_create(ctx, {"name": "silver", "qos_specs": {"iops": "1"}}),
    ]
    for step in steps:
        step()
        assert check_all(api) == []
    a = api.volume_type_get_by_name(ctx, "a")["id"]
    b = api.volume_type_get_by_name(ctx, "b")["id"]
    gold = api.qos_specs_get_by_name(ctx, "gold")["id"]
    silver = api.qos_specs_get_by_name(ctx, "silver")["id"]
    steps = [
        lambda: api.volume_type_update(ctx, a, {"name": "a2", "description": "d"}),
        lambda: api.volume_type_update(ctx, a, {"is_public": False}),
        lambda: api.volume_type_access_add(ctx, b, "p2"),
        lambda: api.volume_type_access_remove(ctx, b, "p2"),
        lambda: api.volume_type_extra_specs_update_or_create(ctx, b, {"x": "1", "y": "2"}),
        lambda: api.volume_type_extra_specs_delete(ctx, b, "x"),
        lambda: api.volume_type_qos_associate(ctx, a, gold),
        lambda: api.qos_specs_associate(ctx, gold, b),
        lambda: api.qos_specs_associate(ctx, silver, a),  # moves a from gold to silver
        lambda: api.volume_type_qos_disassociate(ctx, gold, b),
        lambda: api.qos_specs_associate(ctx, silver, b),
        lambda: api.qos_specs_disassociate(ctx, silver, a),
        lambda: api.qos_specs_update(ctx, silver, {"iops": "2", "consumer": "front-end"}),
        lambda: api.qos_specs_item_delete(ctx, silver, "iops"),
        lambda: api.volume_type_qos_associate(ctx, a, silver),
        lambda: api.volume_type_destroy(ctx, a),  # a deleted type keeps its association
        lambda: api.qos_specs_disassociate_all(ctx, silver),
        lambda: api.volume_type_create(ctx, {"name": "a2"}),  # the destroyed one's name
        lambda: api.qos_specs_delete(ctx, gold),
        lambda: api.qos_specs_create(ctx, {"name": "gold", "qos_specs": {}}),
    ]
    for number, step in enumerate(steps):
        step()
        assert check_all(api) == [], f"after step {number}"
    assert api.volume_type_qos_associations_get(ctx, silver, inactive=True) == []


def test_a_rename_rewrites_volume_type_name_on_the_types_volumes(api, ctx):
    vt = api.volume_type_create(ctx, {"name": "old"})
    other = api.volume_type_create(ctx, {"name": "other"})
    volumes = [api.volume_create(ctx, {"volume_type_id": vt["id"]}) for _ in range(3)]
    api.volume_create(ctx, {"volume_type_id": other["id"]})
    api.volume_destroy(ctx, volumes[2]["id"])  # a deleted volume keeps its copy right too
    assert check_volume_type_names(api) == []
    api.volume_type_update(ctx, vt["id"], {"name": "new"})
    assert check_volume_type_names(api) == []
    assert type_names(api) == []
    assert api.volume_get(ctx, volumes[0]["id"])["volume_type"]["name"] == "new"
    with pytest.raises(exception.VolumeTypeNotFoundByName):
        api.volume_type_get_by_name(ctx, "old")
    api.volume_type_create(ctx, {"name": "old"})  # the old name is free again
    assert type_names(api) == []


def test_group_writes_keep_their_indexes(api, ctx):
    user = RequestContext(user_id="u", project_id="p1")
    group = api.consistencygroup_create(ctx, {"project_id": "p1", "user_id": "u"})
    other = api.consistencygroup_create(ctx, {"project_id": "p2", "user_id": "u"})
    assert check_group_indexes(api) == []
    steps = [
        lambda: api.cgsnapshot_create(
            user, {"consistencygroup_id": group["id"], "project_id": "p1"}
        ),
        lambda: api.cgsnapshot_create(ctx, {"consistencygroup_id": group["id"]}),  # no project
        lambda: api.consistencygroup_update(ctx, group["id"], {"project_id": "p3"}),
        lambda: api.consistencygroup_update(user, other["id"], {"name": "refused"}),
        lambda: api.consistencygroup_destroy(ctx, other["id"]),
    ]
    for step in steps:
        with contextlib.suppress(exception.NotFound):
            step()
        assert check_group_indexes(api) == []
    moved, kept = sorted(api.cgsnapshot_get_all(ctx), key=lambda c: c["project_id"] or "")
    for values in ({"consistencygroup_id": other["id"]}, {"project_id": "p9"}, {"status": "x"}):
        api.cgsnapshot_update(ctx, moved["id"], values)
        assert check_group_indexes(api) == []
    assert [c["id"] for c in api.cgsnapshot_get_all_by_group(ctx, group["id"])] == [kept["id"]]
    assert [c["id"] for c in api.cgsnapshot_get_all_by_group(ctx, other["id"])] == [moved["id"]]
    assert [c["id"] for c in api.cgsnapshot_get_all_by_project(ctx, "p9")] == [moved["id"]]
    api.cgsnapshot_destroy(ctx, moved["id"])
    assert check_group_indexes(api) == []
    assert api.consistencygroup_get_all_by_project(ctx, "p1") == []
    assert [g["id"] for g in api.consistencygroup_get_all_by_project(ctx, "p3")] == [group["id"]]


# ------------------------------------------------------------- crash leftovers


def test_a_name_entry_left_by_a_crash_is_taken_over(api, ctx):
    """A crash between the claim and the item (create), or between the item and the entry's
    removal (destroy), leaves an entry the readers ignore and the next claim takes over."""
    gone = api.volume_type_create(ctx, {"name": "gone"})
    api.client.update_item(  # destroy's first write only: the entry still points at it
        "volume_types", {"id": s(gone["id"])}, {"deleted": {"action": "PUT", "value": n(1)}}
    )
    assert type_names(api) != []  # the leftover is visible to a validator...
    with pytest.raises(exception.VolumeTypeNotFoundByName):
        api.volume_type_get_by_name(ctx, "gone")  # ...and never returned
    assert api.volume_type_create(ctx, {"name": "gone"})["id"] != gone["id"]
    assert type_names(api) == []
    # a create that crashed after its claim, long ago: the entry names nothing
    api.client.put_item(
        "qos_specs_by_name",
        {
            "name": s("ghost"),
            "qos_specs_id": s("never-written"),
            "created_at": s("2015-10-13T00:00:00"),
        },
    )
    with pytest.raises(exception.QoSSpecsNotFound):
        api.qos_specs_get_by_name(ctx, "ghost")
    api.qos_specs_create(ctx, {"name": "ghost", "qos_specs": {}})
    assert qos_names(api) == []


def test_a_fresh_claim_in_flight_holds_the_name(api, ctx):
    """An entry younger than the grace period whose item is not written yet may be a create in
    flight: the name is taken (the creator will write its item next)."""
    api.volume_type_create(ctx, {"name": "seed"})
    recent = api.client.get_item("volume_types_by_name", {"name": s("seed")})["item"]["created_at"]
    api.client.put_item(
        "volume_types_by_name",
        {"name": s("busy"), "volume_type_id": s("in-flight"), "created_at": recent},
    )
    with pytest.raises(exception.VolumeTypeExists):
        api.volume_type_create(ctx, {"name": "busy"})


def test_a_stale_association_member_is_not_listed(api, ctx):
    """A crash between the set's ADD and the type's pointer leaves an extra member: readers
    check the type, and the next association writes of that type clean it up."""
    spec = api.qos_specs_create(ctx, {"name": "q", "qos_specs": {}})
    vt = api.volume_type_create(ctx, {"name": "t"})
    api.client.update_item(
        "quality_of_service_specs",
        {"id": s(spec["id"])},
        {"volume_types": {"action": "ADD", "value": {"SS": [vt["id"]]}}},
    )
    assert check_qos_associations(api) != []
    assert api.qos_specs_associations_get(ctx, spec["id"]) == []
    api.qos_specs_associate(ctx, spec["id"], vt["id"])
    api.qos_specs_disassociate(ctx, spec["id"], vt["id"])
    assert check_qos_associations(api) == []


def test_refused_creates_leave_the_index_alone(api, ctx):
    """A create refused for its name or its id takes back only its own claim."""
    vt = api.volume_type_create(ctx, {"name": "n1"})
    for values in ({"name": "n1", "id": vt["id"]}, {"name": "n2", "id": vt["id"]}, {"name": "n1"}):
        with pytest.raises(exception.VolumeTypeExists):
            api.volume_type_create(ctx, values)
        assert type_names(api) == []
    spec = api.qos_specs_create(ctx, {"name": "q", "qos_specs": {}})
    with pytest.raises(exception.QoSSpecsExists):
        api.qos_specs_create(ctx, {"name": "q", "qos_specs": {"a": "1"}})
    assert qos_names(api) == []
    assert api.qos_specs_get_by_name(ctx, "q")["id"] == spec["id"]
