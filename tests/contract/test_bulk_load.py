"""``bulk_load``: a small BulkData written in the backend's own layout reads back through the
API exactly as if the API had written it (so the check holds on every backend)."""

from __future__ import annotations

import pytest

from cinderdb import exception
from cinderdb.bulk import BulkData
from tests.contract.bulk_helpers import bulk_dataset
from tests.contract.volume_helpers import at, id_set, meta


def test_bulk_load_reads_back_through_the_api(api, ctx):
    data = bulk_dataset()
    reported: list[int] = []
    api.bulk_load(data, progress=reported.append)
    assert sum(reported) == data.count()

    v0 = api.volume_get(ctx, "v0")
    assert (v0["host"], v0["size"], v0["status"], v0["created_at"]) == (
        "h1#pool",
        1,
        "in-use",
        at(0),
    )
    assert meta(v0) == {"k": "v0", "shared": "yes"}
    assert meta(v0, "volume_admin_metadata") == {"readonly": "False"}
    assert [a["id"] for a in v0["volume_attachment"]] == ["att-1"]
    assert v0["volume_attachment"][0]["volume_id"] == "v0"
    assert v0["volume_type"]["extra_specs"] == {"volume_backend_name": "lvm"}
    assert v0["consistencygroup"]["id"] == "g1"
    assert id_set(api.volume_get_all(ctx, None, None)) == {"v0", "v1", "v2"}
    assert id_set(api.volume_get_all(ctx, None, None, filters={"metadata": {"k": "v2"}})) == {"v2"}
    assert id_set(api.volume_get_all_by_host(ctx, "h1")) == {"v0", "v1", "v2"}
    assert api.volume_data_get_for_project(ctx, "p1") == (3, 6)

    gone = api.volume_get(ctx.with_read_deleted("yes"), "gone")
    assert (gone["deleted"], gone["deleted_at"], gone["volume_metadata"]) == (True, at(9), [])

    attachment = api.volume_attachment_get(ctx, "att-1")
    assert attachment["attach_status"] == "attached"
    assert (
        api.volume_attachment_get_by_instance_uuid(
            ctx, "v0", "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
        )
        == attachment
    )

    snapshot = api.snapshot_get(ctx, "s1")
    assert meta(snapshot, "snapshot_metadata") == {"sk": "sv"}
    assert snapshot["volume"]["id"] == "v0"
    assert [s["id"] for s in api.snapshot_get_all_for_cgsnapshot(ctx, "cgs-1")] == ["s1"]
    assert api.snapshot_data_get_for_project(ctx, "p1") == (1, 1)
    assert [r["key"] for r in api.volume_glance_metadata_get(ctx, "v0")] == ["image_id"]
    assert [r["value"] for r in api.volume_snapshot_glance_metadata_get(ctx, "s1")] == ["img"]

    vtype = api.volume_type_get(ctx, "type-1", expected_fields=["projects"])
    assert (vtype["name"], vtype["is_public"], vtype["projects"]) == ("fast", False, ["p1", "p2"])
    assert api.qos_specs_get(ctx, "qos-1") == {
        "id": "qos-1", "name": "gold", "consumer": "back-end", "specs": {"iops": "500"},
    }  # fmt: skip
    assert api.consistencygroup_get(ctx, "g1")["status"] == "available"
    assert api.cgsnapshot_get(ctx, "cgs-1")["consistencygroup_id"] == "g1"

    assert api.quota_get_all_by_project(ctx, "p1") == {"project_id": "p1", "volumes": 20}
    assert api.quota_class_get_all_by_name(ctx, "silver") == {"class_name": "silver", "volumes": 5}
    usages = {"project_id": "p1", "volumes": {"in_use": 3, "reserved": 1}}
    assert api.quota_usage_get_all_by_project(ctx, "p1") == usages
    api.reservation_commit(ctx, ["r-1"], "p1")
    usages["volumes"] = {"in_use": 4, "reserved": 0}
    assert api.quota_usage_get_all_by_project(ctx, "p1") == usages


def test_bulk_load_of_nothing_changes_nothing(api, ctx):
    reported: list[int] = []
    api.bulk_load(BulkData(), progress=reported.append)
    assert sum(reported) == 0
    assert api.volume_get_all(ctx, None, None) == []
    assert api.quota_class_get_default(ctx)["class_name"] == "default"


@pytest.mark.parametrize(
    "spoil",
    [
        lambda data: data.volumes[1].update(size="big"),
        lambda data: data.volumes[2].update(display_name="x" * 256),
        lambda data: data.volumes[2]["metadata"].update(k="v" * 256),
        lambda data: data.glance_metadata.append(
            {"volume_id": "v1", "snapshot_id": "s1", "key": "k", "value": "v"}
        ),
        lambda data: data.reservations[0].update(resource="gigabytes"),
    ],
)
def test_bulk_load_with_a_bad_record_loads_nothing(api, ctx, spoil):
    data = bulk_dataset()
    spoil(data)
    with pytest.raises(exception.InvalidInput):
        api.bulk_load(data)
    assert api.volume_get_all(ctx.with_read_deleted("yes"), None, None) == []
    assert api.quota_get_all_by_project(ctx, "p1") == {"project_id": "p1"}


AWKWARD = ['a "quoted", comma', "line\nbreak", "NULL", "back\\slash", "ünïcødé ✓", ""]


def test_bulk_load_keeps_awkward_strings_and_streams_of_parts(api, ctx):
    """Text that a CSV or a statement could mangle reads back as written, whether the
    data comes as one BulkData or as a stream of parts (loaded as one)."""
    data = bulk_dataset()
    for volume, text in zip(data.volumes, AWKWARD, strict=False):
        volume["display_description"] = text
        volume["metadata"] = {"k": text or "empty"}
    head = BulkData(
        volume_types=data.volume_types,
        qos_specs=data.qos_specs,
        consistencygroups=data.consistencygroups,
    )
    rest = BulkData(**dict(data.sections()))
    rest.volume_types, rest.qos_specs, rest.consistencygroups = [], [], []
    reported: list[int] = []
    api.bulk_load(iter([head, rest]), progress=reported.append)
    assert sum(reported) == data.count()
    admin = ctx.with_read_deleted("yes")
    for volume in data.volumes:
        stored = api.volume_get(admin, volume["id"])
        assert stored["display_description"] == volume["display_description"]
        if not volume.get("deleted"):
            assert meta(stored) == volume["metadata"]
