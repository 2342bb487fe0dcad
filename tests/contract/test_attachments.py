"""Attachments: attach, attached, detach, detached, getters and update (DBAPIVolumeTestCase
attach/detach tests, rewritten, plus bad input, authorization and concurrent attaches)."""

from __future__ import annotations

import threading

import pytest

from cinderdb import exception
from cinderdb.base import is_uuid_like
from cinderdb.records import column_names
from tests.contract.volume_helpers import id_set

INSTANCE = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
OTHER_INSTANCE = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"


def _attaching(api, ctx, volume_id, **values):
    return api.volume_attach(ctx, {"volume_id": volume_id, "attach_status": "attaching", **values})


def test_volume_attach_creates_a_row(api, ctx):
    volume = api.volume_create(ctx, {"status": "available"})
    attachment = _attaching(api, ctx, volume["id"], instance_uuid=INSTANCE)
    assert set(attachment) == set(column_names("attachment"))
    assert is_uuid_like(attachment["id"])
    assert attachment["volume_id"] == volume["id"]
    assert attachment["attach_status"] == "attaching"
    assert attachment["deleted"] is False
    assert attachment["created_at"] is not None
    assert api.volume_attachment_get(ctx, attachment["id"]) == attachment
    loaded = api.volume_get(ctx, volume["id"])
    assert loaded["status"] == "available"  # attaching does not change the volume
    assert loaded["volume_attachment"] == [attachment]


def test_volume_attach_bad_input(api, ctx, user_ctx):
    volume = api.volume_create(ctx, {"project_id": "fake_project"})
    with pytest.raises(exception.VolumeNotFound):
        api.volume_attach(ctx, {"volume_id": "missing"})
    with pytest.raises(exception.InvalidInput):
        api.volume_attach(ctx, {"attach_status": "attaching"})
    with pytest.raises(exception.InvalidInput):
        api.volume_attach(ctx, {"volume_id": volume["id"], "mountpoint": "/" * 256})
    with pytest.raises(exception.InvalidInput):
        api.volume_attach(ctx, {"volume_id": volume["id"], "attach_time": "now"})
    with pytest.raises(exception.AdminRequired):
        api.volume_attach(user_ctx, {"volume_id": volume["id"]})
    assert api.volume_get(ctx, volume["id"]) == volume
    assert api.volume_attachment_get_used_by_volume_id(ctx, volume["id"]) == []


def test_volume_attach_duplicate_id_keeps_the_first(api, ctx):
    volume = api.volume_create(ctx, {})
    first = _attaching(api, ctx, volume["id"], id="att-1", mountpoint="/dev/a")
    with pytest.raises(exception.DBDuplicateEntry):
        _attaching(api, ctx, volume["id"], id="att-1", mountpoint="/dev/b")
    assert api.volume_attachment_get(ctx, "att-1") == first


def test_volume_attached_invalid_uuid(api, ctx):
    with pytest.raises(exception.InvalidUUID):
        api.volume_attached(ctx, 42, "invalid-uuid", None, "/tmp")


def test_volume_attached_to_instance(api, ctx):
    volume = api.volume_create(ctx, {"host": "host1"})
    attachment = _attaching(api, ctx, volume["id"], instance_uuid=INSTANCE)
    returned = api.volume_attached(ctx, attachment["id"], INSTANCE, None, "/tmp")
    volume = api.volume_get(ctx, volume["id"])
    attachment = api.volume_attachment_get(ctx, attachment["id"])
    assert returned == volume  # volume_attached returns the volume
    assert volume["status"] == "in-use"
    assert volume["attach_status"] == "attached"
    assert attachment["mountpoint"] == "/tmp"
    assert attachment["attach_status"] == "attached"
    assert attachment["instance_uuid"] == INSTANCE
    assert attachment["attached_host"] is None
    assert attachment["attach_mode"] == "rw"
    assert attachment["attach_time"] is not None
    assert volume["volume_attachment"] == [attachment]


def test_volume_attached_to_host(api, ctx):
    volume = api.volume_create(ctx, {"host": "host1"})
    attachment = _attaching(api, ctx, volume["id"], attached_host="fake_host")
    api.volume_attached(ctx, attachment["id"], None, "fake_host", "/tmp", "ro")
    volume = api.volume_get(ctx, volume["id"])
    attachment = api.volume_attachment_get(ctx, attachment["id"])
    assert volume["status"] == "in-use"
    assert attachment["mountpoint"] == "/tmp"
    assert attachment["attach_status"] == "attached"
    assert attachment["instance_uuid"] is None
    assert attachment["attached_host"] == "fake_host"
    assert attachment["attach_mode"] == "ro"


def test_volume_attached_bad_input(api, ctx, user_ctx):
    volume = api.volume_create(ctx, {"status": "attaching"})
    attachment = _attaching(api, ctx, volume["id"])
    with pytest.raises(exception.VolumeAttachmentNotFound):
        api.volume_attached(ctx, "missing", INSTANCE, None, "/tmp")
    with pytest.raises(exception.InvalidInput):
        api.volume_attached(ctx, attachment["id"], INSTANCE, "h" * 256, "/tmp")
    with pytest.raises(exception.AdminRequired):
        api.volume_attached(user_ctx, attachment["id"], INSTANCE, None, "/tmp")
    assert api.volume_attachment_get(ctx, attachment["id"]) == attachment
    assert api.volume_get(ctx, volume["id"])["status"] == "attaching"


def _attach(api, ctx, volume_id, instance=INSTANCE):
    attachment = _attaching(api, ctx, volume_id, instance_uuid=instance)
    api.volume_attached(ctx, attachment["id"], instance, None, "/tmp")
    return attachment["id"]


def test_volume_detached_from_instance(api, ctx):
    volume = api.volume_create(ctx, {})
    attachment_id = _attach(api, ctx, volume["id"])
    assert api.volume_detached(ctx, volume["id"], attachment_id) is None
    volume = api.volume_get(ctx, volume["id"])
    with pytest.raises(exception.VolumeAttachmentNotFound):
        api.volume_attachment_get(ctx, attachment_id)
    assert volume["status"] == "available"
    assert volume["attach_status"] == "detached"
    assert volume["volume_attachment"] == []


def test_volume_detached_from_host(api, ctx):
    volume = api.volume_create(ctx, {})
    attachment = _attaching(api, ctx, volume["id"], attach_host="fake_host")
    api.volume_attached(ctx, attachment["id"], None, "fake_host", "/tmp")
    api.volume_detached(ctx, volume["id"], attachment["id"])
    with pytest.raises(exception.VolumeAttachmentNotFound):
        api.volume_attachment_get(ctx, attachment["id"])
    assert api.volume_get(ctx, volume["id"])["status"] == "available"


def test_volume_detached_soft_deletes_the_attachment(api, ctx):
    volume = api.volume_create(ctx, {})
    attachment_id = _attach(api, ctx, volume["id"])
    api.volume_detached(ctx, volume["id"], attachment_id)
    retired = api.volume_attachment_get(ctx.with_read_deleted("yes"), attachment_id)
    assert retired["attach_status"] == "detached"
    assert retired["deleted"] is True
    assert retired["deleted_at"] is not None
    assert retired["detach_time"] is not None


def test_volume_detached_keeps_in_use_while_attached_elsewhere(api, ctx):
    volume = api.volume_create(ctx, {"multiattach": True})
    first = _attach(api, ctx, volume["id"], INSTANCE)
    second = _attach(api, ctx, volume["id"], OTHER_INSTANCE)
    api.volume_detached(ctx, volume["id"], first)
    loaded = api.volume_get(ctx, volume["id"])
    assert (loaded["status"], loaded["attach_status"]) == ("in-use", "attached")
    assert [a["id"] for a in loaded["volume_attachment"]] == [second]
    api.volume_detached(ctx, volume["id"], second)
    loaded = api.volume_get(ctx, volume["id"])
    assert (loaded["status"], loaded["attach_status"]) == ("available", "detached")


@pytest.mark.parametrize(
    ("migration_status", "status", "expected"),
    [
        ("target:src", "in-use", "in-use"),
        ("migrating", "in-use", "in-use"),
        ("success", "in-use", "available"),
        ("error", "in-use", "available"),
        (None, "uploading", "uploading"),
    ],
)
def test_volume_detached_status_during_migration_or_upload(
    api, ctx, migration_status, status, expected
):
    volume = api.volume_create(ctx, {})
    attachment_id = _attach(api, ctx, volume["id"])
    api.volume_update(ctx, volume["id"], {"migration_status": migration_status, "status": status})
    api.volume_detached(ctx, volume["id"], attachment_id)
    loaded = api.volume_get(ctx, volume["id"])
    assert loaded["status"] == expected
    assert loaded["attach_status"] == "detached"


def test_volume_detached_rules(api, ctx, user_ctx):
    volume = api.volume_create(ctx, {"status": "in-use", "attach_status": "attached"})
    attachment_id = _attach(api, ctx, volume["id"])
    api.volume_detached(ctx, volume["id"], "missing-attachment")  # ignored
    assert api.volume_get(ctx, volume["id"])["status"] == "in-use"
    with pytest.raises(exception.VolumeNotFound):
        api.volume_detached(ctx, "missing-volume", attachment_id)
    with pytest.raises(exception.AdminRequired):
        api.volume_detached(user_ctx, volume["id"], attachment_id)
    # the failed calls retired nothing
    assert api.volume_attachment_get(ctx, attachment_id)["attach_status"] == "attached"


def test_volume_detach_marks_detaching(api, ctx, user_ctx):
    volume = api.volume_create(ctx, {})
    attachment_id = _attach(api, ctx, volume["id"])
    assert api.volume_detach(ctx, attachment_id) is None
    assert api.volume_attachment_get(ctx, attachment_id)["attach_status"] == "detaching"
    with pytest.raises(exception.VolumeAttachmentNotFound):
        api.volume_detach(ctx, "missing")
    with pytest.raises(exception.AdminRequired):
        api.volume_detach(user_ctx, attachment_id)


def test_volume_attachment_get_not_found(api, ctx):
    with pytest.raises(exception.VolumeAttachmentNotFound) as error:
        api.volume_attachment_get(ctx, "missing")
    assert "missing" in error.value.kwargs["filter"]


def test_volume_attachment_getters_are_not_project_scoped(api, ctx, other_user_ctx):
    volume = api.volume_create(ctx, {"project_id": "fake_project"})
    attachment = _attaching(api, ctx, volume["id"], attached_host="h1", instance_uuid=INSTANCE)
    assert api.volume_attachment_get(other_user_ctx, attachment["id"]) == attachment
    assert api.volume_attachment_get_by_host(other_user_ctx, volume["id"], "h1") == attachment


def test_volume_attachment_get_used_by_volume_id(api, ctx):
    volume = api.volume_create(ctx, {})
    used = _attaching(api, ctx, volume["id"])
    attached = _attach(api, ctx, volume["id"], OTHER_INSTANCE)
    api.volume_attach(ctx, {"volume_id": volume["id"]})  # NULL attach_status: not "used"
    _attaching(api, ctx, volume["id"], attach_status="detached")
    listed = api.volume_attachment_get_used_by_volume_id(ctx, volume["id"])
    assert id_set(listed) == {used["id"], attached}
    assert api.volume_attachment_get_used_by_volume_id(ctx, "missing") == []


def test_volume_attachment_get_by_host_and_instance(api, ctx):
    volume = api.volume_create(ctx, {"multiattach": True})
    on_host = _attaching(api, ctx, volume["id"], attached_host="h1")
    to_instance = _attaching(api, ctx, volume["id"], instance_uuid=INSTANCE)
    _attaching(api, ctx, volume["id"], attached_host="h2", attach_status="detached")
    assert api.volume_attachment_get_by_host(ctx, volume["id"], "h1") == on_host
    assert api.volume_attachment_get_by_host(ctx, volume["id"], "h2") is None
    assert api.volume_attachment_get_by_host(ctx, "other-volume", "h1") is None
    found = api.volume_attachment_get_by_instance_uuid(ctx, volume["id"], INSTANCE)
    assert found == to_instance
    assert api.volume_attachment_get_by_instance_uuid(ctx, volume["id"], OTHER_INSTANCE) is None
    api.volume_detached(ctx, volume["id"], on_host["id"])
    assert api.volume_attachment_get_by_host(ctx, volume["id"], "h1") is None


def test_volume_attachment_update(api, ctx):
    volume = api.volume_create(ctx, {})
    attachment = _attaching(api, ctx, volume["id"])
    updated = api.volume_attachment_update(
        ctx, attachment["id"], {"attach_status": "error_attaching", "bogus": 1}
    )
    assert updated["attach_status"] == "error_attaching"
    assert "bogus" not in updated
    assert updated["updated_at"] is not None
    assert api.volume_attachment_get(ctx, attachment["id"]) == updated


def test_volume_attachment_update_bad_input(api, ctx):
    volume = api.volume_create(ctx, {})
    attachment = _attaching(api, ctx, volume["id"])
    with pytest.raises(exception.VolumeAttachmentNotFound):
        api.volume_attachment_update(ctx, "missing", {"attach_status": "x"})
    with pytest.raises(exception.InvalidInput):
        api.volume_attachment_update(ctx, attachment["id"], {"attach_mode": "r" * 37})
    with pytest.raises(exception.VolumeNotFound):
        api.volume_attachment_update(ctx, attachment["id"], {"volume_id": "no-such-volume"})
    assert api.volume_attachment_get(ctx, attachment["id"]) == attachment


@pytest.mark.parametrize("threads", [8])
def test_concurrent_attaches_to_one_multiattach_volume(api, ctx, threads):
    """Several threads share one backend; every attach lands and the volume ends consistent."""
    volume = api.volume_create(ctx, {"multiattach": True, "status": "available"})
    instances = [f"{i:08d}-0000-4000-8000-000000000000" for i in range(threads)]
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def attach(instance: str) -> None:
        try:
            start.wait()
            _attach(api, ctx, volume["id"], instance)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    workers = [threading.Thread(target=attach, args=(i,)) for i in instances]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    loaded = api.volume_get(ctx, volume["id"])
    assert (loaded["status"], loaded["attach_status"]) == ("in-use", "attached")
    assert sorted(a["instance_uuid"] for a in loaded["volume_attachment"]) == instances
    assert all(a["attach_status"] == "attached" for a in loaded["volume_attachment"])
    used = api.volume_attachment_get_used_by_volume_id(ctx, volume["id"])
    assert id_set(used) == id_set(loaded["volume_attachment"])
