"""Consistency groups: create, create from a cgsnapshot, delete (the seed's list, Liberty's
``cinder/consistencygroup/api.py`` and the manager).

Create resolves the types, reserves ``consistencygroups`` (CGQUOTAS), inserts,
reads each type's QoS specs and the manager marks it available. Create from
src reads the cgsnapshot and its group, inserts the group, and runs the full
volume create flow once per snapshot of the cgsnapshot (volume ids derive
from the plan, so both backends agree). Delete refuses groups with
cgsnapshots, then the manager reserves the negative deltas per volume,
destroys volumes and group, and commits.
"""

from __future__ import annotations

import random
from typing import Any

from bench.workload.catalog.base import (
    InvalidConsistencyGroup,
    Operation,
    Plan,
    Quotas,
    Target,
    VolumeAttached,
    child_id,
    new_uuid,
    now_args,
)
from bench.workload.catalog.volumes import create_volume_flow
from bench.workload.view import DatasetView, GroupState, KeyChooser, VolumeState
from cinderdb import exception


class GroupCreate(Operation):
    name = "cg_create"
    command = "cinder consisgroup-create --name N TYPE[,TYPE]"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        project = view.choose_project(keys, lambda p: not p.spare)
        types = view.usable_types()
        if project is None or not types:
            return None
        chosen = rng.sample(types, min(len(types), rng.choice((1, 1, 2))))
        group_id = new_uuid(rng)
        return self.new_plan(
            rng,
            project,
            group_id=group_id,
            type_names=[t.name for t in chosen],
            group_name=f"cg-{group_id[:8]}",
            host=rng.choice(view.hosts),
            **now_args(),
        )

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        api, args = target.api, plan.args
        user, admin = plan.user(), plan.admin()
        types = api.volume_types_get_by_name_or_id(user, args["type_names"])
        type_ids = "".join(f"{t['id']}," for t in types)  # Liberty's trailing comma
        quotas = Quotas(api)
        reservations = quotas.reserve(
            user, plan.project_id, {"consistencygroups": 1}, args["expire"], cg=True
        )
        values = {
            "id": args["group_id"],
            "user_id": plan.user_id,
            "project_id": plan.project_id,
            "availability_zone": "nova",
            "status": "creating",
            "name": args["group_name"],
            "description": "",
            "volume_type_id": type_ids,
        }
        try:
            api.consistencygroup_create(user, values)
        except exception.CinderException:
            quotas.rollback(user, reservations, plan.project_id)
            raise
        quotas.commit(user, reservations, plan.project_id)
        for vtype in types:
            api.volume_type_qos_specs_get(admin, vtype["id"])
        api.consistencygroup_update(
            admin, args["group_id"], {"status": "available", "host": args["host"]}
        )
        return {"type_ids": [t["id"] for t in types]}

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        with view.lock:
            view.groups[plan.args["group_id"]] = GroupState(
                plan.args["group_id"], plan.project_id or "", list(result["type_ids"])
            )


class GroupCreateFromSource(Operation):
    name = "cg_create_from_src"
    command = "cinder consisgroup-create-from-src --cgsnapshot CGSNAPSHOT"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        source = view.choose_among(
            rng, view.cgsnapshots.values(), "cgsnapshot", lambda c: bool(c.snapshots), False
        )
        if source is None:
            return None
        group_id = new_uuid(rng)
        return self.new_plan(
            rng,
            view.project_by_id[source.project_id],
            [f"cgsnapshot:{source.id}"],
            cgsnapshot_id=source.id,
            group_id=group_id,
            group_name=f"cg-from-{group_id[:8]}",
            **now_args(),
        )

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        api, args = target.api, plan.args
        user, admin = plan.user(), plan.admin()
        group_id = args["group_id"]
        cgsnapshot = api.cgsnapshot_get(user, args["cgsnapshot_id"])
        source = api.consistencygroup_get(user, cgsnapshot["consistencygroup_id"])
        quotas = Quotas(api)
        reservations = quotas.reserve(
            user, plan.project_id, {"consistencygroups": 1}, args["expire"], cg=True
        )
        api.consistencygroup_create(
            user,
            {
                "id": group_id,
                "user_id": plan.user_id,
                "project_id": plan.project_id,
                "status": "creating",
                "name": args["group_name"],
                "description": "",
                "cgsnapshot_id": cgsnapshot["id"],
                "volume_type_id": source["volume_type_id"],
                "availability_zone": source["availability_zone"],
                "host": source["host"],
            },
        )
        quotas.commit(user, reservations, plan.project_id)
        snapshots = api.snapshot_get_all_for_cgsnapshot(user, cgsnapshot["id"])
        if not snapshots:
            raise InvalidConsistencyGroup("the cgsnapshot has no snapshots")
        created = []
        for snapshot in sorted(snapshots, key=lambda s: s["id"]):
            type_id = snapshot["volume_type_id"]
            if type_id:
                api.volume_type_get(user, type_id)
            volume_id = child_id(plan, snapshot["id"])
            values = {
                "id": volume_id,
                "size": snapshot["volume_size"],
                "user_id": plan.user_id,
                "project_id": plan.project_id,
                "availability_zone": source["availability_zone"],
                "status": "creating",
                "attach_status": "detached",
                "replication_status": "disabled",
                "display_name": f"from-{snapshot['id'][:8]}",
                "volume_type_id": type_id,
                "snapshot_id": snapshot["id"],
                "consistencygroup_id": group_id,
                "metadata": {},
            }
            try:
                create_volume_flow(api, plan, values, type_id)
            except exception.CinderException:
                api.consistencygroup_destroy(admin, group_id)
                raise
            created.append([volume_id, snapshot["volume_size"], type_id])
        for volume in api.volume_get_all_by_group(user, group_id):
            api.volume_update(user, volume["id"], {"host": source["host"]})
        # manager: create_consistencygroup_from_src
        for volume_id, _, _ in created:
            api.volume_update(admin, volume_id, {"status": "available", "launched_at": args["now"]})
        api.consistencygroup_update(admin, group_id, {"status": "available"})
        type_ids = [t for t in (source["volume_type_id"] or "").split(",") if t]
        return {"volumes": created, "type_ids": type_ids, "host": source["host"]}

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        with view.lock:
            group_id = plan.args["group_id"]
            view.groups[group_id] = GroupState(group_id, plan.project_id or "", result["type_ids"])
            for volume_id, size, type_id in result["volumes"]:
                state = VolumeState(volume_id, plan.project_id or "", size, "available", type_id)
                state.host, state.group_id = result["host"], group_id
                view.add_volume(state)
                if type_id in view.types:
                    view.types[type_id].volumes += 1


class GroupDelete(Operation):
    name = "cg_delete"
    command = "cinder consisgroup-delete [--force] GROUP"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        with view.lock:
            candidates = sorted(
                (g for g in view.groups.values() if not g.cgsnapshots), key=lambda g: g.id
            )
            rng.shuffle(candidates)
            for group in candidates:
                volumes = [view.volumes.get(v) for v in sorted(group.volumes)]
                if any(v is None or v.attachments or v.snapshots for v in volumes):
                    continue
                holds = [f"group:{group.id}", *(f"volume:{v.id}" for v in volumes if v)]
                if view.hold_all(holds):
                    return self.new_plan(
                        rng,
                        view.project_by_id[group.project_id],
                        holds,
                        group_id=group.id,
                        force=bool(volumes),
                        **now_args(),
                    )
            return None

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        api, args = target.api, plan.args
        user, admin = plan.user(), plan.admin()
        group_id, expire = args["group_id"], args["expire"]
        group = api.consistencygroup_get(user, group_id)
        if group["status"] not in ("available", "error"):
            raise InvalidConsistencyGroup("status must be available or error")
        if api.cgsnapshot_get_all_by_group(admin, group_id):
            raise InvalidConsistencyGroup("the group still has dependent cgsnapshots")
        volumes = sorted(api.volume_get_all_by_group(admin, group_id), key=lambda v: v["id"])
        if volumes and not args["force"]:
            raise InvalidConsistencyGroup("the group contains volumes; --force is required")
        for volume in volumes:
            if volume["attach_status"] == "attached":
                raise VolumeAttached(f"volume {volume['id']} is attached")
            if api.snapshot_get_all_for_volume(user, volume["id"]):
                raise InvalidConsistencyGroup("the group contains volumes with snapshots")
        api.consistencygroup_update(user, group_id, {"status": "deleting"})
        # manager: delete_consistencygroup
        volumes = sorted(api.volume_get_all_by_group(admin, group_id), key=lambda v: v["id"])
        for volume in volumes:
            api.volume_update(admin, volume["id"], {"status": "deleted"})
        quotas = Quotas(api)
        project_id = group["project_id"]
        group_reservations = quotas.reserve(
            admin, project_id, {"consistencygroups": -1}, expire, cg=True
        )
        for volume in volumes:
            deltas = quotas.type_opts(
                admin, {"volumes": -1, "gigabytes": -volume["size"]}, volume["volume_type_id"]
            )
            reservations = quotas.reserve(admin, project_id, deltas, expire)
            api.volume_glance_metadata_delete_by_volume(admin, volume["id"])
            api.volume_destroy(admin, volume["id"])
            quotas.commit(admin, reservations, project_id)
        quotas.commit(admin, group_reservations, project_id)
        api.consistencygroup_destroy(admin, group_id)
        return {"volumes": [v["id"] for v in volumes]}

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        with view.lock:
            group = view.groups.pop(plan.args["group_id"], None)
            for volume_id in sorted(group.volumes) if group else ():
                view.remove_volume(volume_id)


OPERATIONS: tuple[Operation, ...] = (GroupCreate(), GroupCreateFromSource(), GroupDelete())
