"""Volume lifecycle: create, delete, force-delete, extend, migrate, show, rename.

Each ``execute`` follows the Liberty call sequence of the research brief §11
(cinder-api, then scheduler and volume manager with an elevated context);
driver and RPC steps make no DB calls and are left out.
"""

from __future__ import annotations

import random
from typing import Any

from bench.workload.catalog.base import (
    Operation,
    Plan,
    Quotas,
    Target,
    VolumeAttached,
    invalid_volume,
    new_uuid,
    now_args,
    show_volume,
)
from bench.workload.datasets import SIZE_WEIGHTS, SIZES, metadata_value
from bench.workload.view import DatasetView, KeyChooser, VolumeState
from cinderdb import exception
from cinderdb.records import column_names

#: Statuses ``cinder delete`` accepts without ``--force``.
DELETABLE = ("available", "error", "error_restoring", "error_extending")
#: How often the (simulated) driver fails an extend: Cinder then rolls the quota back.
EXTEND_DRIVER_FAILURES = 0.05


def random_metadata(view: DatasetView, rng: random.Random, most: int) -> dict[str, str]:
    """Up to ``most`` pairs from the dataset's key pool and value cardinality."""
    keys = rng.sample(view.metadata_keys, min(rng.randint(0, most), len(view.metadata_keys)))
    return {key: metadata_value(key, rng.randrange(view.metadata_values)) for key in keys}


def create_volume_flow(
    api: Any,
    plan: Plan,
    values: dict[str, Any],
    type_id: str | None,
) -> dict[str, Any]:
    """cinder-api's create flow from the type check to the committed ``volume_create``.

    ``volume_api.create`` reads the type (admin) and the flow its QoS specs;
    ``QuotaReserveTask`` runs ``limit_check`` and ``QUOTAS.reserve``;
    ``EntryCreateTask`` inserts (its failure rolls the reservation back);
    ``QuotaCommitTask`` commits.
    """
    user, admin = plan.user(), plan.admin()
    project_id, size = values["project_id"], values["size"]
    if type_id:
        api.volume_type_get(admin, type_id)
        api.volume_type_qos_specs_get(admin, type_id)
    quotas = Quotas(api)
    quotas.limit_check(user, project_id, per_volume_gigabytes=size)
    deltas = quotas.type_opts(user, {"volumes": 1, "gigabytes": size}, type_id)
    reservations = quotas.reserve(user, project_id, deltas, plan.args["expire"])
    try:
        volume = api.volume_create(user, values)
    except exception.CinderException:
        quotas.rollback(user, reservations, project_id)
        raise
    quotas.commit(user, reservations, project_id)
    return volume


class Create(Operation):
    name = "create"
    command = "cinder create --volume-type T [--metadata k=v ...] SIZE"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        project = view.choose_project(keys, lambda p: not p.spare)
        types = view.usable_types()
        if project is None or not types:
            return None
        vtype = rng.choice(types)
        volume_id = new_uuid(rng)
        return self.new_plan(
            rng,
            project,
            volume_id=volume_id,
            size=rng.choices(SIZES[:6], SIZE_WEIGHTS[:6])[0],
            type_id=vtype.id,
            type_name=vtype.name,
            metadata=random_metadata(view, rng, 3),
            display_name=f"bench-{volume_id[:8]}",
            host=f"{rng.choice(view.hosts)}#pool-{rng.randrange(2)}",
            multiattach=rng.random() < 0.05,
            **now_args(),
        )

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        api, args = target.api, plan.args
        user, admin = plan.user(), plan.admin()
        volume_id = args["volume_id"]
        vtype = api.volume_type_get_by_name(user, args["type_name"])
        values = {
            "id": volume_id,
            "size": args["size"],
            "user_id": plan.user_id,
            "project_id": plan.project_id,
            "availability_zone": "nova",
            "status": "creating",
            "attach_status": "detached",
            "replication_status": "disabled",
            "display_name": args["display_name"],
            "display_description": "",
            "volume_type_id": vtype["id"],
            "multiattach": args["multiattach"],
            "metadata": args["metadata"],
        }
        create_volume_flow(api, plan, values, vtype["id"])
        # scheduler: place it; manager: read, create on the backend, mark available
        api.volume_update(admin, volume_id, {"host": args["host"], "scheduled_at": args["now"]})
        api.volume_get(admin, volume_id)
        location = f"iqn.2010-10.org.openstack:volume-{volume_id}"
        api.volume_update(admin, volume_id, {"provider_location": location})
        api.volume_update(admin, volume_id, {"status": "available", "launched_at": args["now"]})
        return {"volume_id": volume_id}

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        args = plan.args
        with view.lock:
            view.add_volume(
                VolumeState(
                    args["volume_id"],
                    plan.project_id or "",
                    args["size"],
                    "available",
                    args["type_id"],
                    multiattach=args["multiattach"],
                    host=args["host"],
                )
            )
            if args["type_id"] in view.types:
                view.types[args["type_id"]].volumes += 1


def delete_volume(api: Any, plan: Plan, force: bool) -> dict[str, Any]:
    """``volume_api.delete`` then the manager's ``delete_volume`` (brief §11, cinder delete).

    ``force`` is the admin action os-force_delete: an admin context and no status check.
    """
    admin = plan.admin()
    user = admin if force else plan.user()
    volume_id, expire = plan.args["volume_id"], plan.args["expire"]
    volume = api.volume_get(user, volume_id)
    quotas = Quotas(api)
    project_id = volume["project_id"]

    def deltas(context: Any) -> dict[str, int]:
        return quotas.type_opts(
            context, {"volumes": -1, "gigabytes": -volume["size"]}, volume["volume_type_id"]
        )

    if not volume["host"]:  # scheduling failed: no manager involved
        reservations = quotas.reserve(user, project_id, deltas(user), expire)
        api.volume_destroy(admin, volume_id)
        quotas.commit(user, reservations, project_id)
        return {"volume_id": volume_id}
    if volume["attach_status"] == "attached":
        raise VolumeAttached(f"volume {volume_id} is attached")
    if not force and volume["status"] not in DELETABLE:
        raise invalid_volume(f"status must be one of {DELETABLE}, not {volume['status']}")
    if volume["migration_status"]:
        raise invalid_volume("volume is migrating")
    if volume["consistencygroup_id"]:
        raise invalid_volume("volume is in a consistency group")
    snapshots = api.snapshot_get_all_for_volume(user, volume_id)
    if snapshots:
        raise invalid_volume(f"Volume still has {len(snapshots)} dependent snapshots.")
    api.volume_update(user, volume_id, {"status": "deleting", "terminated_at": plan.args["now"]})
    api.volume_get(admin, volume_id)
    reservations = quotas.reserve(admin, project_id, deltas(admin), expire)
    api.volume_glance_metadata_delete_by_volume(admin, volume_id)
    api.volume_destroy(admin, volume_id)
    quotas.commit(admin, reservations, project_id)
    return {"volume_id": volume_id}


class Delete(Operation):
    name = "delete"
    command = "cinder delete VOLUME (refused while snapshots exist)"
    force = False

    def accept(self, volume: VolumeState) -> bool:
        return volume.status in DELETABLE and not volume.attachments and volume.group_id is None

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        volume = view.choose_volume(keys, self.accept)
        if volume is None:
            return None
        project = view.project_by_id[volume.project_id]
        return self.new_plan(
            rng, project, [f"volume:{volume.id}"], volume_id=volume.id, **now_args()
        )

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        return delete_volume(target.api, plan, force=self.force)

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        view.remove_volume(plan.args["volume_id"])


class ForceDelete(Delete):
    name = "force_delete"
    command = "cinder force-delete VOLUME (admin: any status)"
    force = True

    def accept(self, volume: VolumeState) -> bool:
        return (
            volume.status.startswith("error") and not volume.attachments and volume.group_id is None
        )

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        plan = super().plan(view, rng, keys)
        if plan is None:  # no volume in error: force-delete an available one
            volume = view.choose_volume(keys, super().accept)
            if volume is None:
                return None
            project = view.project_by_id[volume.project_id]
            plan = self.new_plan(
                rng, project, [f"volume:{volume.id}"], volume_id=volume.id, **now_args()
            )
        return plan


class Extend(Operation):
    name = "extend"
    command = "cinder extend VOLUME NEW_SIZE"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        volume = view.choose_volume(keys, lambda v: v.status == "available")
        if volume is None:
            return None
        project = view.project_by_id[volume.project_id]
        new_size = volume.size + rng.choice((1, 2, 5, 10))
        return self.new_plan(
            rng,
            project,
            [f"volume:{volume.id}"],
            volume_id=volume.id,
            new_size=new_size,
            driver_fails=rng.random() < EXTEND_DRIVER_FAILURES,
            **now_args(),
        )

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        api, args = target.api, plan.args
        user, admin = plan.user(), plan.admin()
        volume = api.volume_get(user, args["volume_id"])
        if volume["status"] != "available":
            raise invalid_volume(f"volume status must be available, not {volume['status']}")
        if args["new_size"] <= volume["size"]:
            raise exception.InvalidInput(reason="New size for extend must be greater than current")
        quotas = Quotas(api)
        delta = args["new_size"] - volume["size"]
        deltas = quotas.type_opts(user, {"gigabytes": delta}, volume["volume_type_id"])
        reservations = quotas.reserve(user, volume["project_id"], deltas, args["expire"])
        api.volume_update(user, volume["id"], {"status": "extending"})
        api.volume_get(admin, volume["id"])
        if args["driver_fails"]:  # the manager's failure path: error status, quota rolled back
            api.volume_update(admin, volume["id"], {"status": "error_extending"})
            quotas.rollback(admin, reservations, volume["project_id"])
            return {"volume_id": volume["id"], "status": "error_extending"}
        quotas.commit(admin, reservations, volume["project_id"])
        api.volume_update(admin, volume["id"], {"size": args["new_size"], "status": "available"})
        return {"volume_id": volume["id"], "status": "available"}

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        with view.lock:
            volume = view.volumes.get(plan.args["volume_id"])
            if volume is not None:
                volume.status = result["status"]
                if result["status"] == "available":
                    volume.size = plan.args["new_size"]


#: Columns a migration copies to the destination volume (``dict(volume)`` minus these).
_COPIED = tuple(
    name
    for name in column_names("volume")
    if name not in {"id", "_name_id", "deleted", "deleted_at", "created_at", "updated_at"}
)


class Migrate(Operation):
    name = "migrate"
    command = "cinder migrate VOLUME HOST (generic host-assisted migration)"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        volume = view.choose_volume(
            keys, lambda v: v.status == "available" and v.group_id is None and not v.snapshots
        )
        if volume is None:
            return None
        project = view.project_by_id[volume.project_id]
        hosts = [h for h in view.hosts if not (volume.host or "").startswith(h)] or view.hosts
        return self.new_plan(
            rng,
            project,
            [f"volume:{volume.id}"],
            volume_id=volume.id,
            dest_id=new_uuid(rng),
            host=f"{rng.choice(hosts)}#pool-{rng.randrange(2)}",
            **now_args(),
        )

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        api, args = target.api, plan.args
        admin = plan.admin()
        source_id, dest_id = args["volume_id"], args["dest_id"]
        # cinder-api (admin action os-migrate_volume)
        volume = api.volume_get(admin, source_id)
        if volume["status"] not in ("available", "in-use") or volume["migration_status"]:
            raise invalid_volume("volume must be available or in-use and not migrating")
        if api.snapshot_get_all_for_volume(admin, source_id):
            raise invalid_volume("volume must not have snapshots")
        if volume["consistencygroup_id"]:
            raise invalid_volume("volume must not be in a consistency group")
        api.volume_update(admin, source_id, {"migration_status": "starting"})
        # volume manager: _migrate_volume_generic
        volume = api.volume_get(admin, source_id)
        api.volume_update(admin, source_id, {"migration_status": "migrating"})
        values = {name: volume[name] for name in _COPIED}
        values.update(
            id=dest_id,
            host=args["host"],
            status="creating",
            migration_status=f"target:{source_id}",
            attach_status="detached",
        )
        api.volume_create(admin, values)
        api.volume_get(admin, dest_id)  # the destination manager creates it
        api.volume_update(admin, dest_id, {"status": "available", "launched_at": args["now"]})
        api.volume_get(admin, dest_id)  # the source manager waits for it
        # migrate_volume_completion
        api.volume_get(admin, source_id)
        api.volume_get(admin, dest_id)
        api.volume_get(admin, source_id)  # delete_volume of the source: storage only
        api.finish_volume_migration(admin, source_id, dest_id)
        api.volume_destroy(admin, dest_id)
        api.volume_update(admin, source_id, {"migration_status": "success"})
        return {"volume_id": source_id}

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        with view.lock:
            volume = view.volumes.get(plan.args["volume_id"])
            if volume is not None:
                volume.host = plan.args["host"]


class Show(Operation):
    name = "show"
    command = "cinder show VOLUME"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        volume = view.choose_volume(keys, exclusive=False)
        if volume is None:
            return None
        project = view.project_by_id[volume.project_id]
        return self.new_plan(rng, project, [f"volume:{volume.id}"], volume_id=volume.id)

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        volume = show_volume(target.api, plan, plan.args["volume_id"])
        return {"status": volume["status"]}


class Rename(Operation):
    name = "update"
    command = "cinder rename VOLUME NAME --description D (volume-update)"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        volume = view.choose_volume(keys)
        if volume is None:
            return None
        project = view.project_by_id[volume.project_id]
        return self.new_plan(
            rng,
            project,
            [f"volume:{volume.id}"],
            volume_id=volume.id,
            display_name=f"renamed-{rng.randrange(10**6)}",
            display_description=f"updated by request {rng.randrange(10**6)}",
        )

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        api, args, user = target.api, plan.args, plan.user()
        api.volume_get(user, args["volume_id"])
        fields = {k: args[k] for k in ("display_name", "display_description")}
        api.volume_update(user, args["volume_id"], fields)
        return {"volume_id": args["volume_id"]}


OPERATIONS: tuple[Operation, ...] = (
    Create(),
    Delete(),
    ForceDelete(),
    Extend(),
    Migrate(),
    Show(),
    Rename(),
)
