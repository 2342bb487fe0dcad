"""The requests each volume-side function makes, measured through the client's hooks on a small
seeded store: the table of ``docs/magnetodb-design.md`` ("Volumes, attachments, metadata,
glance, snapshots") is this one, and a change in any count fails here.

``python -m tests.magneto.test_volumes_requests`` prints the table as markdown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from cinderbench.bench.requests import REQUEST_ORDER
from cinderdb import METADATA_TYPES, RequestContext, get_admin_context, open_backend

USER = RequestContext(user_id="u", project_id="p1")
INSTANCE = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"


def seed(api: Any) -> None:
    """A type, a group, a cgsnapshot, two volumes with metadata, an attachment, a snapshot,
    image metadata on v1 and on the snapshot."""
    ctx = get_admin_context()
    api.volume_type_create(ctx, {"id": "t1", "name": "t1", "extra_specs": {"k": "v"}})
    api.consistencygroup_create(ctx, {"id": "g1", "project_id": "p1", "user_id": "u"})
    api.cgsnapshot_create(ctx, {"id": "c1", "consistencygroup_id": "g1", "project_id": "p1"})
    api.volume_create(
        ctx,
        {"id": "v1", "project_id": "p1", "host": "h1#pool", "consistencygroup_id": "g1",
         "volume_type_id": "t1", "size": 1, "multiattach": True,
         "metadata": {"a": "1", "b": "2"}, "admin_metadata": {"readonly": "False"}},
    )  # fmt: skip
    api.volume_create(ctx, {"id": "v2", "project_id": "p1", "host": "h1", "metadata": {"a": "1"}})
    api.volume_attach(ctx, {"id": "att1", "volume_id": "v1", "attach_status": "attaching"})
    api.volume_attached(ctx, "att1", INSTANCE, None, "/dev/vdb")
    api.snapshot_create(
        ctx, {"id": "s1", "volume_id": "v1", "project_id": "p1", "cgsnapshot_id": "c1",
              "metadata": {"k": "v"}}
    )  # fmt: skip
    api.volume_glance_metadata_create(ctx, "v1", "image_id", "img")
    api.volume_glance_metadata_create(ctx, "v1", "image_name", "cirros")
    api.volume_glance_metadata_copy_to_snapshot(ctx, "s1", "v1")


A = get_admin_context()
Call = Callable[[Any], Any]

#: (function, case, call, requests): the call runs once on a freshly seeded store.
CASES: list[tuple[str, str, Call, str]] = [
    ("volume_create", "2 metadata + 1 admin pair, type, group",
     lambda api: api.volume_create(A, {"project_id": "p1", "host": "h", "volume_type_id": "t1",
                                        "consistencygroup_id": "g1",
                                        "metadata": {"a": "1", "c": "3"},
                                        "admin_metadata": {"x": "y"}}),
     "1 batch_get_item + 1 put_item + 3 update_item + 1 batch_write_item"),
    ("volume_create", "no metadata, type or group",
     lambda api: api.volume_create(A, {"project_id": "p1"}),
     "1 batch_get_item + 1 put_item + 1 batch_write_item"),
    ("volume_get", "with type and group", lambda api: api.volume_get(A, "v1"),
     "1 get_item + 1 batch_get_item"),
    ("volume_get", "neither", lambda api: api.volume_get(A, "v2"), "1 get_item"),
    ("volume_get_all", "no filter", lambda api: api.volume_get_all(A, None, None),
     "1 batch_get_item + 1 scan"),
    ("volume_get_all", "metadata filter",
     lambda api: api.volume_get_all(A, None, None, filters={"metadata": {"a": "1"}}),
     "3 batch_get_item"),
    ("volume_get_all", "marker, limit",
     lambda api: api.volume_get_all(A, "v2", 1, ["id"], ["desc"]), "1 batch_get_item + 1 scan"),
    ("volume_get_all_by_project", "user",
     lambda api: api.volume_get_all_by_project(USER, "p1", None, None),
     "2 batch_get_item + 1 query"),
    ("volume_get_all_by_project", "user, metadata filter",
     lambda api: api.volume_get_all_by_project(USER, "p1", None, None,
                                               filters={"metadata": {"b": "2"}}),
     "3 batch_get_item"),
    ("volume_get_all_by_host", "", lambda api: api.volume_get_all_by_host(A, "h1"),
     "2 batch_get_item + 1 query"),
    ("volume_get_all_by_group", "", lambda api: api.volume_get_all_by_group(A, "g1"),
     "2 batch_get_item + 1 query"),
    ("volume_update", "status", lambda api: api.volume_update(A, "v1", {"status": "error"}),
     "1 batch_get_item + 1 update_item"),
    ("volume_update", "host (index entry moves)",
     lambda api: api.volume_update(A, "v1", {"host": "h2"}),
     "1 batch_get_item + 1 update_item + 2 batch_write_item"),
    ("volume_update", "metadata replaced (1 pair in, 1 out)",
     lambda api: api.volume_update(A, "v1", {"metadata": {"a": "1", "c": "3"}}),
     "1 get_item + 1 batch_get_item + 3 update_item + 1 delete_item"),
    ("volume_destroy", "2 metadata + 1 admin pair",
     lambda api: api.volume_destroy(A, "v1"),
     "2 scan + 4 update_item + 2 delete_item"),
    ("volume_data_get_for_host", "", lambda api: api.volume_data_get_for_host(A, "h1"),
     "1 batch_get_item + 1 query"),
    ("volume_data_get_for_project", "",
     lambda api: api.volume_data_get_for_project(A, "p1"), "1 batch_get_item + 1 query"),
    ("finish_volume_migration", "",
     lambda api: api.finish_volume_migration(A, "v1", "v2"),
     "2 batch_get_item + 2 update_item + 2 batch_write_item"),
    ("volume_attach", "", lambda api: api.volume_attach(A, {"volume_id": "v1"}),
     "1 put_item + 1 update_item"),
    ("volume_attached", "", lambda api: api.volume_attached(A, "att1", INSTANCE, None, "/dev/x"),
     "1 get_item + 1 batch_get_item + 2 update_item"),
    ("volume_detach", "", lambda api: api.volume_detach(A, "att1"), "2 update_item"),
    ("volume_detached", "", lambda api: api.volume_detached(A, "v1", "att1"),
     "1 get_item + 2 update_item"),
    ("volume_attachment_get", "", lambda api: api.volume_attachment_get(A, "att1"), "1 get_item"),
    ("volume_attachment_get_used_by_volume_id", "",
     lambda api: api.volume_attachment_get_used_by_volume_id(A, "v1"), "1 get_item"),
    ("volume_attachment_get_by_host", "",
     lambda api: api.volume_attachment_get_by_host(A, "v1", "h"), "1 get_item"),
    ("volume_attachment_get_by_instance_uuid", "",
     lambda api: api.volume_attachment_get_by_instance_uuid(A, "v1", INSTANCE), "1 get_item"),
    ("volume_attachment_update", "",
     lambda api: api.volume_attachment_update(A, "att1", {"mountpoint": "/dev/y"}),
     "1 get_item + 2 update_item"),
    ("volume_metadata_get", "", lambda api: api.volume_metadata_get(USER, "v1"), "1 get_item"),
    ("volume_metadata_get_item", "",
     lambda api: api.volume_metadata_get_item(USER, "v1", "a"), "1 get_item"),
    ("volume_metadata_update", "merge, 1 new pair",
     lambda api: api.volume_metadata_update(USER, "v1", {"c": "3"}, False),
     "1 get_item + 2 update_item"),
    ("volume_metadata_update", "merge, 1 changed value",
     lambda api: api.volume_metadata_update(USER, "v1", {"b": "3"}, False),
     "1 get_item + 3 update_item + 1 delete_item"),
    ("volume_metadata_update", "image",
     lambda api: api.volume_metadata_update(A, "v1", {"image_id": "x"}, False,
                                            METADATA_TYPES.image),
     "1 get_item + 1 scan + 2 update_item"),
    ("volume_metadata_delete", "", lambda api: api.volume_metadata_delete(USER, "v1", "b"),
     "1 get_item + 2 update_item + 1 delete_item"),
    ("volume_admin_metadata_get", "", lambda api: api.volume_admin_metadata_get(A, "v1"),
     "1 get_item"),
    ("volume_admin_metadata_update", "unchanged pair",
     lambda api: api.volume_admin_metadata_update(A, "v1", {"readonly": "False"}, False),
     "1 get_item"),
    ("volume_admin_metadata_update", "1 new pair",
     lambda api: api.volume_admin_metadata_update(A, "v1", {"attached_mode": "rw"}, False),
     "1 get_item + 2 update_item"),
    ("volume_admin_metadata_delete", "",
     lambda api: api.volume_admin_metadata_delete(A, "v1", "readonly"),
     "1 get_item + 2 update_item + 1 delete_item"),
    ("volume_glance_metadata_create", "",
     lambda api: api.volume_glance_metadata_create(A, "v2", "image_id", "i2"),
     "1 get_item + 1 scan + 1 update_item"),
    ("volume_glance_metadata_get", "", lambda api: api.volume_glance_metadata_get(A, "v1"),
     "1 get_item + 1 scan"),
    ("volume_snapshot_glance_metadata_get", "",
     lambda api: api.volume_snapshot_glance_metadata_get(A, "s1"), "1 get_item + 1 scan"),
    ("volume_glance_metadata_get_all", "admin",
     lambda api: api.volume_glance_metadata_get_all(A), "1 scan"),
    ("volume_glance_metadata_get_all", "user",
     lambda api: api.volume_glance_metadata_get_all(USER), "1 query + 1 scan"),
    ("volume_glance_metadata_copy_to_snapshot", "2 properties",
     lambda api: api.volume_glance_metadata_copy_to_snapshot(A, "s1", "v1"),
     "1 batch_get_item + 1 scan + 2 update_item"),
    ("volume_glance_metadata_copy_to_volume", "2 properties",
     lambda api: api.volume_glance_metadata_copy_to_volume(A, "v2", "s1"),
     "1 batch_get_item + 1 scan + 2 update_item"),
    ("volume_glance_metadata_copy_from_volume_to_volume", "2 properties",
     lambda api: api.volume_glance_metadata_copy_from_volume_to_volume(A, "v1", "v2"),
     "1 batch_get_item + 1 scan + 2 update_item"),
    ("volume_glance_metadata_delete_by_volume", "2 properties",
     lambda api: api.volume_glance_metadata_delete_by_volume(A, "v1"), "1 scan + 2 update_item"),
    ("volume_glance_metadata_delete_by_snapshot", "2 properties",
     lambda api: api.volume_glance_metadata_delete_by_snapshot(A, "s1"),
     "1 scan + 2 update_item"),
    ("snapshot_create", "with metadata and cgsnapshot",
     lambda api: api.snapshot_create(A, {"volume_id": "v1", "project_id": "p1",
                                          "cgsnapshot_id": "c1", "metadata": {"a": "b"}}),
     "1 batch_get_item + 1 put_item + 1 batch_write_item"),
    ("snapshot_get", "", lambda api: api.snapshot_get(USER, "s1"), "2 get_item"),
    ("snapshot_get_all", "", lambda api: api.snapshot_get_all(A), "1 scan"),
    ("snapshot_get_all_by_project", "user",
     lambda api: api.snapshot_get_all_by_project(USER, "p1"), "1 batch_get_item + 1 query"),
    ("snapshot_get_all_for_volume", "",
     lambda api: api.snapshot_get_all_for_volume(USER, "v1"), "1 batch_get_item + 1 query"),
    ("snapshot_get_all_for_cgsnapshot", "",
     lambda api: api.snapshot_get_all_for_cgsnapshot(A, "c1"), "2 batch_get_item + 1 query"),
    ("snapshot_data_get_for_project", "",
     lambda api: api.snapshot_data_get_for_project(USER, "p1"), "1 batch_get_item + 1 query"),
    ("snapshot_data_get_for_project", "by volume type",
     lambda api: api.snapshot_data_get_for_project(USER, "p1", "t1"),
     "2 batch_get_item + 1 query"),
    ("snapshot_update", "status", lambda api: api.snapshot_update(A, "s1", {"status": "x"}),
     "1 get_item + 1 update_item"),
    ("snapshot_destroy", "", lambda api: api.snapshot_destroy(A, "s1"), "1 update_item"),
    ("snapshot_metadata_get", "", lambda api: api.snapshot_metadata_get(USER, "s1"),
     "1 get_item"),
    ("snapshot_metadata_update", "", lambda api: api.snapshot_metadata_update(USER, "s1",
                                                                             {"n": "m"}, False),
     "1 update_item"),
    ("snapshot_metadata_delete", "", lambda api: api.snapshot_metadata_delete(USER, "s1", "k"),
     "1 update_item"),
]  # fmt: skip


def measure(call: Call) -> str:
    """Run ``call`` on a freshly seeded in-process store; its requests as '1 get_item + ...'."""
    api = open_backend("magnetodb+inproc:///requests")
    try:
        api.create_schema()
        seed(api)
        counts: Counter[str] = Counter()
        api.client.hooks.append(lambda stats: counts.update([stats.operation]))
        call(api)
        return " + ".join(f"{counts[op]} {op}" for op in REQUEST_ORDER if counts[op])
    finally:
        api.close()


@pytest.mark.parametrize(
    ("function", "case", "call", "expected"), CASES, ids=[f"{f}[{c}]" for f, c, _, _ in CASES]
)
def test_requests(function: str, case: str, call: Call, expected: str) -> None:
    assert measure(call) == expected


if __name__ == "__main__":
    print("| function | case | requests |\n| --- | --- | --- |")
    for function, case, call, _ in CASES:
        print(f"| `{function}` | {case} | {measure(call)} |")
