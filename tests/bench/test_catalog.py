"""Every catalog operation on every backend: it runs, succeeds, and leaves the state Cinder would.

Each test loads the small dataset, runs the operation's prerequisites (a scratch
type before type-delete...), runs the operation through ``Run.step`` (so the
instrumentation and the operation log are on the path), and checks the result
with the DB API itself.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bench.drive.runner import Step
from bench.workload.catalog import CATALOG
from cinderdb import exception, get_admin_context

ADMIN = get_admin_context()

#: Operations that need state the dataset does not have.
PREREQUISITES: dict[str, tuple[str, ...]] = {
    "type_delete": ("type_create",),
    "qos_delete": ("qos_create",),
    "qos_disassociate_all": ("qos_create",),
    "cg_delete": ("cg_create",),
}


def run(world, name: str) -> Step:
    step = world.bench.step(world.worker, operation=name)
    assert step is not None, f"{name}: the view had no eligible target"
    return step


def ok_run(world, name: str) -> Step:
    step = run(world, name)
    result = step.runs[world.name]
    assert result.error is None, f"{name} failed: {result.error!r}"
    return step


def _volume(world, step: Step) -> dict:
    return world.backend.volume_get(ADMIN, step.plan.args["volume_id"])


def check_create(world, step: Step) -> None:
    volume = _volume(world, step)
    assert volume["status"] == "available"
    assert volume["size"] == step.plan.args["size"]
    assert volume["host"] == step.plan.args["host"]
    metadata = {item["key"]: item["value"] for item in volume["volume_metadata"]}
    assert metadata == step.plan.args["metadata"]
    assert step.plan.args["volume_id"] in world.bench.view.volumes


def check_gone(world, step: Step) -> None:
    with pytest.raises(exception.VolumeNotFound):
        _volume(world, step)
    assert step.plan.args["volume_id"] not in world.bench.view.volumes


def check_extend(world, step: Step) -> None:
    volume = _volume(world, step)
    if step.plan.args["driver_fails"]:
        assert volume["status"] == "error_extending"
    else:
        assert (volume["size"], volume["status"]) == (step.plan.args["new_size"], "available")


def check_migrate(world, step: Step) -> None:
    volume = _volume(world, step)
    assert volume["host"] == step.plan.args["host"]
    assert volume["migration_status"] == "success"
    with pytest.raises(exception.VolumeNotFound):
        world.backend.volume_get(ADMIN, step.plan.args["dest_id"])


def check_rename(world, step: Step) -> None:
    assert _volume(world, step)["display_name"] == step.plan.args["display_name"]


def check_metadata_update_all(world, step: Step) -> None:
    metadata = world.backend.volume_metadata_get(ADMIN, step.plan.args["volume_id"])
    assert metadata == step.plan.args["metadata"]


def check_metadata_set(world, step: Step) -> None:
    metadata = world.backend.volume_metadata_get(ADMIN, step.plan.args["volume_id"])
    assert step.plan.args["metadata"].items() <= metadata.items()


def check_attach(world, step: Step) -> None:
    volume = _volume(world, step)
    attachment = world.backend.volume_attachment_get(ADMIN, step.plan.args["attachment_id"])
    assert volume["status"] == "in-use"
    assert attachment["instance_uuid"] == step.plan.args["instance_uuid"]
    assert attachment["attach_status"] == "attached"
    admin_metadata = world.backend.volume_admin_metadata_get(ADMIN, volume["id"])
    assert admin_metadata["attached_mode"] == "rw"


def check_detach(world, step: Step) -> None:
    with pytest.raises(exception.VolumeAttachmentNotFound):
        world.backend.volume_attachment_get(ADMIN, step.plan.args["attachment_id"])
    volume = _volume(world, step)
    view_volume = world.bench.view.volumes[volume["id"]]
    assert volume["status"] == view_volume.status
    assert len(volume["volume_attachment"]) == len(view_volume.attachments)


def check_snapshot_create(world, step: Step) -> None:
    snapshot = world.backend.snapshot_get(ADMIN, step.plan.args["snapshot_id"])
    assert (snapshot["status"], snapshot["progress"]) == ("available", "100%")
    assert snapshot["volume_id"] == step.plan.args["volume_id"]


def check_snapshot_delete(world, step: Step) -> None:
    with pytest.raises(exception.SnapshotNotFound):
        world.backend.snapshot_get(ADMIN, step.plan.args["snapshot_id"])


def check_snapshot_reset_state(world, step: Step) -> None:
    snapshot = world.backend.snapshot_get(ADMIN, step.plan.args["snapshot_id"])
    assert snapshot["status"] == step.plan.args["status"]


def check_type_create(world, step: Step) -> None:
    vtype = world.backend.volume_type_get_by_name(ADMIN, step.plan.args["type_name"])
    assert vtype["id"] == step.plan.args["type_id"]


def check_type_delete(world, step: Step) -> None:
    with pytest.raises(exception.VolumeTypeNotFound):
        world.backend.volume_type_get(ADMIN, step.plan.args["type_id"])


def check_type_key(world, step: Step) -> None:
    specs = world.backend.volume_type_extra_specs_get(ADMIN, step.plan.args["type_id"])
    assert step.plan.args["extra_specs"].items() <= specs.items()


def _qos_id(world, step: Step) -> str:
    return world.bench.targets[0].qos_ids[step.plan.args.get("qos") or step.plan.args["qos_name"]]


def check_qos_create(world, step: Step) -> None:
    qos = world.backend.qos_specs_get(ADMIN, _qos_id(world, step))
    assert qos["consumer"] == step.plan.args["consumer"]
    assert qos["specs"] == step.plan.args["specs"]


def check_qos_associate(world, step: Step) -> None:
    current = world.backend.volume_type_qos_specs_get(ADMIN, step.plan.args["type_id"])
    assert current["qos_specs"]["id"] == _qos_id(world, step)


def check_qos_disassociate(world, step: Step) -> None:
    current = world.backend.volume_type_qos_specs_get(ADMIN, step.plan.args["type_id"])
    assert current["qos_specs"] is None


def check_qos_disassociate_all(world, step: Step) -> None:
    assert world.backend.qos_specs_associations_get(ADMIN, _qos_id(world, step)) == []


def check_qos_delete(world, step: Step) -> None:
    assert step.plan.args["qos"] not in world.bench.targets[0].qos_ids
    with pytest.raises(exception.QoSSpecsNotFound):
        world.backend.qos_specs_get_by_name(ADMIN, step.plan.args["qos"])


def check_qos_key(world, step: Step) -> None:
    specs = world.backend.qos_specs_get(ADMIN, _qos_id(world, step))["specs"]
    assert step.plan.args.get("set", {}).items() <= specs.items()
    assert not set(step.plan.args.get("unset", ())) & set(specs)


def check_quota_update(world, step: Step) -> None:
    args = step.plan.args
    quota = world.backend.quota_get(ADMIN, step.plan.project_id, args["resource"])
    assert quota["hard_limit"] == args["limit"]


def check_quota_delete(world, step: Step) -> None:
    limits = world.backend.quota_get_all_by_project(ADMIN, step.plan.project_id)
    assert limits == {"project_id": step.plan.project_id}


def check_quota_class_update(world, step: Step) -> None:
    args = step.plan.args
    row = world.backend.quota_class_get(ADMIN, args["class_name"], args["resource"])
    assert row["hard_limit"] == args["limit"]


def check_cg_create(world, step: Step) -> None:
    group = world.backend.consistencygroup_get(ADMIN, step.plan.args["group_id"])
    assert group["status"] == "available"


def check_cg_create_from_src(world, step: Step) -> None:
    group_id = step.plan.args["group_id"]
    snapshots = world.backend.snapshot_get_all_for_cgsnapshot(
        ADMIN, step.plan.args["cgsnapshot_id"]
    )
    volumes = world.backend.volume_get_all_by_group(ADMIN, group_id)
    assert len(volumes) == len(snapshots) > 0
    assert {v["snapshot_id"] for v in volumes} == {s["id"] for s in snapshots}
    assert {v["status"] for v in volumes} == {"available"}


def check_cg_delete(world, step: Step) -> None:
    with pytest.raises(exception.ConsistencyGroupNotFound):
        world.backend.consistencygroup_get(ADMIN, step.plan.args["group_id"])


CHECKS: dict[str, Callable] = {
    "create": check_create,
    "delete": check_gone,
    "force_delete": check_gone,
    "extend": check_extend,
    "migrate": check_migrate,
    "update": check_rename,
    "metadata_set": check_metadata_set,
    "metadata_update_all": check_metadata_update_all,
    "attach": check_attach,
    "detach": check_detach,
    "snapshot_create": check_snapshot_create,
    "snapshot_delete": check_snapshot_delete,
    "snapshot_reset_state": check_snapshot_reset_state,
    "type_create": check_type_create,
    "type_delete": check_type_delete,
    "type_key": check_type_key,
    "qos_create": check_qos_create,
    "qos_associate": check_qos_associate,
    "qos_disassociate": check_qos_disassociate,
    "qos_disassociate_all": check_qos_disassociate_all,
    "qos_delete": check_qos_delete,
    "qos_key": check_qos_key,
    "quota_update": check_quota_update,
    "quota_delete": check_quota_delete,
    "quota_class_update": check_quota_class_update,
    "cg_create": check_cg_create,
    "cg_create_from_src": check_cg_create_from_src,
    "cg_delete": check_cg_delete,
}


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_operation_runs_and_leaves_cinders_state(world, name):
    for prerequisite in PREREQUISITES.get(name, ()):
        ok_run(world, prerequisite)
    step = run(world, name)
    result = step.runs[world.name]
    if name == "delete" and result.error is not None:
        # the chosen volume had snapshots: Cinder refuses, nothing changes
        assert isinstance(result.error, exception.InvalidVolume)
        assert _volume(world, step)["status"] != "deleting"
        step = run(world, name)
        result = step.runs[world.name]
    assert result.error is None, f"{name} failed: {result.error!r}"
    assert result.scope.counters["db_calls"] >= 1
    CHECKS.get(name, lambda world, step: None)(world, step)
    assert not world.bench.view.quarantined


def test_delete_is_refused_while_snapshots_exist(world):
    view = world.bench.view
    volume = next(
        v for v in view.volumes.values()
        if v.snapshots and v.status == "available" and not v.attachments and v.group_id is None
    )  # fmt: skip
    plan = CATALOG["delete"].plan(view, world.worker.rng, world.worker.keys)
    view.release(plan.holds)
    plan.args["volume_id"], plan.project_id = volume.id, volume.project_id
    plan.user_id = view.project_by_id[volume.project_id].users[0]
    target = world.bench.targets[0]
    with pytest.raises(exception.InvalidVolume, match="dependent snapshots"):
        CATALOG["delete"].execute(target, plan)
    assert world.backend.volume_get(ADMIN, volume.id)["status"] == "available"


def test_create_reserves_and_commits_quota(world):
    step_plan = CATALOG["create"].plan(world.bench.view, world.worker.rng, world.worker.keys)
    project, size = step_plan.project_id, step_plan.args["size"]
    type_name = step_plan.args["type_name"]
    before = world.backend.quota_usage_get_all_by_project(ADMIN, project)
    CATALOG["create"].execute(world.bench.targets[0], step_plan)
    after = world.backend.quota_usage_get_all_by_project(ADMIN, project)
    for resource, delta in (
        ("volumes", 1),
        ("gigabytes", size),
        (f"volumes_{type_name}", 1),
        (f"gigabytes_{type_name}", size),
    ):
        assert after[resource]["in_use"] == before[resource]["in_use"] + delta
        assert after[resource]["reserved"] == before[resource]["reserved"] == 0


def test_failed_extend_rolls_the_quota_back(world):
    plan = CATALOG["extend"].plan(world.bench.view, world.worker.rng, world.worker.keys)
    plan.args["driver_fails"] = True
    before = world.backend.quota_usage_get_all_by_project(ADMIN, plan.project_id)
    result = CATALOG["extend"].execute(world.bench.targets[0], plan)
    after = world.backend.quota_usage_get_all_by_project(ADMIN, plan.project_id)
    assert result["status"] == "error_extending"
    assert after == before  # reserved, then released: nothing in use changed
    volume = world.backend.volume_get(ADMIN, plan.args["volume_id"])
    assert volume["status"] == "error_extending"
    assert volume["size"] < plan.args["new_size"]


def test_plans_are_deterministic(world):
    from bench.drive.runner import Run

    def plans(seed: int) -> list:
        bench = Run(
            [(world.name, world.backend)], world.dataset, {"show": 1, "attach": 1}, seed=seed
        )
        worker = bench.worker(0)
        made = []
        for _ in range(10):
            planned = bench._plan(worker, None)
            assert planned is not None
            made.append(planned[1].to_dict())
            bench.view.release(planned[1].holds)
        bench.close()
        return made

    assert plans(3) == plans(3)
    assert plans(3) != plans(4)


def test_new_uuid_is_the_uuid4_of_the_random_stream():
    """The fast path gives exactly ``str(uuid.UUID(int=getrandbits(128), version=4))``."""
    import random
    import uuid

    from bench.workload.catalog.base import new_uuid

    fast, reference = random.Random(7), random.Random(7)
    for _ in range(2000):
        expected = str(uuid.UUID(int=reference.getrandbits(128), version=4))
        assert new_uuid(fast) == expected
        assert uuid.UUID(expected).version == 4
