"""The dataset the bulk-load tests write (and the MagnetoDB layout tests read back)."""

from __future__ import annotations

import datetime as dt

from cinderdb.bulk import BulkData
from cinderdb.records import blank
from tests.contract.volume_helpers import at

EXPIRE = dt.datetime(2099, 1, 1)


def _record(kind, **values):
    record = blank(kind)
    record.update(values)
    return record


def bulk_dataset() -> BulkData:
    """A small cloud of every record kind, in ``BulkData`` form (the bulk-load tests')."""
    data = BulkData()
    data.qos_specs.append(
        {"id": "qos-1", "name": "gold", "consumer": "back-end", "specs": {"iops": "500"},
         "created_at": at(0), "updated_at": None, "deleted_at": None, "deleted": False}
    )  # fmt: skip
    data.volume_types.append(
        {**_record("volume_type", id="type-1", name="fast", qos_specs_id="qos-1", is_public=False,
                   created_at=at(0)),
         "extra_specs": {"volume_backend_name": "lvm"}, "projects": ["p2", "p1"]}
    )  # fmt: skip
    data.consistencygroups.append(
        _record("consistencygroup", id="g1", user_id="u", project_id="p1", status="available",
                created_at=at(0))
    )  # fmt: skip
    attachment = _record(
        "attachment", id="att-1", instance_uuid="aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa",
        attach_status="attached", mountpoint="/dev/vdb", attach_mode="rw", created_at=at(2),
    )  # fmt: skip
    for i in range(3):
        data.volumes.append(
            {**_record("volume", id=f"v{i}", project_id="p1", user_id="u", host="h1#pool",
                       size=i + 1, status="in-use" if i == 0 else "available",
                       volume_type_id="type-1", consistencygroup_id="g1" if i == 0 else None,
                       bootable=False, multiattach=False, created_at=at(i)),
             "metadata": {"k": f"v{i}", "shared": "yes"},
             "admin_metadata": {"readonly": "False"} if i == 0 else {},
             "attachments": [attachment] if i == 0 else []}
        )  # fmt: skip
    data.volumes.append(
        {**_record("volume", id="gone", project_id="p1", status="deleted", deleted=True,
                   deleted_at=at(9), created_at=at(3)),
         "metadata": {"old": "x"}, "admin_metadata": {}, "attachments": []}
    )  # fmt: skip
    data.cgsnapshots.append(
        _record("cgsnapshot", id="cgs-1", consistencygroup_id="g1", user_id="u", project_id="p1",
                created_at=at(4))
    )  # fmt: skip
    data.snapshots.append(
        {**_record("snapshot", id="s1", volume_id="v0", project_id="p1", volume_size=1,
                   cgsnapshot_id="cgs-1", status="available", created_at=at(5)),
         "metadata": {"sk": "sv"}}
    )  # fmt: skip
    data.glance_metadata += [
        {"volume_id": "v0", "snapshot_id": None, "key": "image_id", "value": "img"},
        {"volume_id": None, "snapshot_id": "s1", "key": "image_id", "value": "img"},
    ]
    data.quotas.append(_record("quota", project_id="p1", resource="volumes", hard_limit=20))
    data.quota_classes.append(
        _record("quota_class", class_name="silver", resource="volumes", hard_limit=5)
    )
    data.quota_usages.append(
        _record("quota_usage", project_id="p1", resource="volumes", in_use=3, reserved=1)
    )
    data.reservations.append(
        _record("reservation", uuid="r-1", project_id="p1", resource="volumes", delta=1,
                expire=EXPIRE)
    )  # fmt: skip
    return data
