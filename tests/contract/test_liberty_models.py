"""What Liberty's models and create functions do for Cinder's callers beyond the columns:
ids written back into ``values``, the ``name_id`` alias, the ``name``/``volume_name``
properties (issue 13 items 2-4; Liberty's cinder/db/sqlalchemy/models.py and api.py)."""

from __future__ import annotations

import pytest

from cinderdb.base import is_uuid_like

# ------------------------------------------------------------- ids written back


def test_volume_type_create_writes_the_generated_id_into_values(api, ctx):
    values = {"name": "gold", "extra_specs": {"k": "v"}}
    created = api.volume_type_create(ctx, values)
    assert is_uuid_like(values["id"])
    assert values["id"] == created["id"]
    assert api.volume_type_get(ctx, values["id"])["name"] == "gold"


@pytest.mark.parametrize("given", [None, ""])
def test_a_falsy_id_is_replaced_as_liberty_does(api, ctx, given):
    values = {"name": "gold", "id": given}
    created = api.volume_type_create(ctx, values)
    assert values["id"] == created["id"]
    assert is_uuid_like(created["id"])


def test_every_create_that_generates_an_id_writes_it_back(api, ctx):
    volume_values = {"size": 1}
    volume = api.volume_create(ctx, volume_values)
    snapshot_values = {"volume_id": volume["id"]}
    snapshot = api.snapshot_create(ctx, snapshot_values)
    attach_values = {"volume_id": volume["id"], "attach_status": "attaching"}
    attachment = api.volume_attach(ctx, attach_values)
    group_values = {"name": "g"}
    group = api.consistencygroup_create(ctx, group_values)
    cgsnapshot_values = {"consistencygroup_id": group["id"]}
    cgsnapshot = api.cgsnapshot_create(ctx, cgsnapshot_values)
    for values, record in (
        (volume_values, volume),
        (snapshot_values, snapshot),
        (attach_values, attachment),
        (group_values, group),
        (cgsnapshot_values, cgsnapshot),
    ):
        assert values["id"] == record["id"]


def test_a_given_id_is_left_alone(api, ctx):
    values = {"id": 7, "size": 1}
    assert api.volume_create(ctx, values)["id"] == "7"
    assert values["id"] == 7


# -------------------------------------------------------------- name_id, name


def test_volume_update_name_id_sets_the_column(api, ctx):
    volume = api.volume_create(ctx, {"size": 1})
    updated = api.volume_update(ctx, volume["id"], {"name_id": "other"})
    assert updated["_name_id"] == "other"
    assert updated["name_id"] == "other"
    assert updated["name"] == "volume-other"
    assert api.volume_get(ctx, volume["id"])["_name_id"] == "other"


def test_both_spellings_write_and_the_later_one_wins(api, ctx):
    volume = api.volume_create(ctx, {"name_id": "a"})
    assert volume["_name_id"] == "a"
    updated = api.volume_update(ctx, volume["id"], {"name_id": "b", "_name_id": "c"})
    assert updated["_name_id"] == "c"
    updated = api.volume_update(ctx, volume["id"], {"_name_id": "d", "name_id": "e"})
    assert updated["_name_id"] == "e"
    assert api.volume_update(ctx, volume["id"], {"name_id": None})["name_id"] == volume["id"]


def test_volume_name_follows_name_id_everywhere(api, ctx):
    volume = api.volume_create(ctx, {"id": "v1", "project_id": "p"})
    assert (volume["name_id"], volume["name"]) == ("v1", "volume-v1")
    api.volume_update(ctx, "v1", {"name_id": "n1"})
    listed = api.volume_get_all(ctx, None, None)
    assert [(v["name_id"], v["name"]) for v in listed] == [("n1", "volume-n1")]
    snapshot = api.snapshot_create(ctx, {"id": "s1", "volume_id": "v1"})
    assert snapshot["name"] == "snapshot-s1"
    assert snapshot["volume_name"] == "volume-n1"
    assert snapshot["volume"]["name"] == "volume-n1"
    assert api.snapshot_get(ctx, "s1")["volume_name"] == "volume-n1"
    # Lists do not read the volume, so (as in Liberty, whose property would lazy-load it)
    # they have no volume_name.
    assert [s["name"] for s in api.snapshot_get_all(ctx)] == ["snapshot-s1"]
    assert "volume_name" not in api.snapshot_get_all(ctx)[0]


def test_read_only_properties_are_not_written(api, ctx):
    """Liberty raises AttributeError ("can't set attribute") for ``name``; here it is
    ignored like any key that is not a column (quirk 14a)."""
    volume = api.volume_create(ctx, {"id": "v1", "name": "custom"})
    assert volume["name"] == "volume-v1"
    assert api.volume_update(ctx, "v1", {"name": "x"})["name"] == "volume-v1"
    snapshot = api.snapshot_create(ctx, {"id": "s1", "volume_id": "v1", "volume_name": "x"})
    assert snapshot["volume_name"] == "volume-v1"
