"""Snapshots: create, delete, list, show, rename, reset-state (brief §11; seed's list).

Create reserves ``snapshots``/``gigabytes`` (typed too) for the volume's
project, inserts with the volume's size and type, commits, and the manager
copies image metadata for bootable volumes before marking it available.
Delete refuses cgsnapshot members and busy statuses, then the manager
reserves the negative deltas, drops image metadata, destroys and commits.
"""

from __future__ import annotations

import contextlib
import random
from typing import Any

from bench.workload.catalog.base import (
    InvalidSnapshot,
    Operation,
    Plan,
    Quotas,
    Target,
    invalid_volume,
    new_uuid,
    now_args,
)
from bench.workload.catalog.volumes import random_metadata
from bench.workload.view import DatasetView, KeyChooser, SnapshotState
from cinderdb import exception


class SnapshotCreate(Operation):
    name = "snapshot_create"
    command = "cinder snapshot-create [--force] VOLUME"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        volume = view.choose_volume(
            keys, lambda v: v.status in ("available", "in-use") and v.group_id is None
        )
        if volume is None:
            return None
        project = view.project_by_id[volume.project_id]
        snapshot_id = new_uuid(rng)
        return self.new_plan(
            rng,
            project,
            [f"volume:{volume.id}"],
            volume_id=volume.id,
            snapshot_id=snapshot_id,
            force=volume.status == "in-use",
            display_name=f"snap-{snapshot_id[:8]}",
            metadata=random_metadata(view, rng, 2),
            **now_args(),
        )

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        api, args = target.api, plan.args
        user, admin = plan.user(), plan.admin()
        volume = api.volume_get(user, args["volume_id"])
        if volume["migration_status"]:
            raise invalid_volume("volume is migrating")
        if volume["status"] != "available" and not (args["force"] and volume["status"] == "in-use"):
            raise invalid_volume(f"volume status must be available, not {volume['status']}")
        quotas = Quotas(api)
        project_id, size = volume["project_id"], volume["size"]
        deltas = quotas.type_opts(
            user, {"snapshots": 1, "gigabytes": size}, volume["volume_type_id"]
        )
        reservations = quotas.reserve(user, project_id, deltas, args["expire"])
        snapshot_id = args["snapshot_id"]
        values = {
            "id": snapshot_id,
            "volume_id": volume["id"],
            "user_id": plan.user_id,
            "project_id": project_id,
            "status": "creating",
            "progress": "0%",
            "volume_size": size,
            "display_name": args["display_name"],
            "display_description": "",
            "volume_type_id": volume["volume_type_id"],
            "encryption_key_id": volume["encryption_key_id"],
            "metadata": args["metadata"],
        }
        try:
            api.snapshot_create(user, values)
        except exception.CinderException:
            api.snapshot_destroy(admin, snapshot_id)
            quotas.rollback(user, reservations, project_id)
            raise
        quotas.commit(user, reservations, project_id)
        # volume manager: create_snapshot
        volume = api.volume_get(admin, volume["id"])
        if volume["bootable"]:
            with contextlib.suppress(exception.GlanceMetadataNotFound):
                api.volume_glance_metadata_copy_to_snapshot(admin, snapshot_id, volume["id"])
        api.snapshot_update(admin, snapshot_id, {"status": "available", "progress": "100%"})
        return {"snapshot_id": snapshot_id, "size": size}

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        view.add_snapshot(
            SnapshotState(
                plan.args["snapshot_id"],
                plan.project_id or "",
                plan.args["volume_id"],
                result["size"],
                "available",
            )
        )


def _deletable(snapshot: SnapshotState) -> bool:
    return snapshot.status in ("available", "error") and snapshot.cgsnapshot_id is None


class SnapshotDelete(Operation):
    name = "snapshot_delete"
    command = "cinder snapshot-delete SNAPSHOT"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        snapshot = view.choose_snapshot(keys, _deletable)
        if snapshot is None:
            return None
        project = view.project_by_id[snapshot.project_id]
        return self.new_plan(
            rng, project, [f"snapshot:{snapshot.id}"], snapshot_id=snapshot.id, **now_args()
        )

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        api, args = target.api, plan.args
        user, admin = plan.user(), plan.admin()
        snapshot_id = args["snapshot_id"]
        snapshot = api.snapshot_get(user, snapshot_id)
        if snapshot["status"] not in ("available", "error"):
            raise InvalidSnapshot("Volume Snapshot status must be available or error")
        if snapshot["cgsnapshot_id"]:
            raise InvalidSnapshot("Snapshot is part of a cgsnapshot")
        api.snapshot_get(user, snapshot_id)
        api.snapshot_update(user, snapshot_id, {"status": "deleting"})
        api.volume_get(user, snapshot["volume_id"])
        # volume manager: delete_snapshot
        volume = api.volume_get(admin, snapshot["volume_id"])
        quotas = Quotas(api)
        project_id = snapshot["project_id"]
        deltas = quotas.type_opts(
            admin,
            {"snapshots": -1, "gigabytes": -snapshot["volume_size"]},
            volume["volume_type_id"],
        )
        reservations = quotas.reserve(admin, project_id, deltas, args["expire"])
        api.volume_glance_metadata_delete_by_snapshot(admin, snapshot_id)
        api.snapshot_destroy(admin, snapshot_id)
        quotas.commit(admin, reservations, project_id)
        return {"snapshot_id": snapshot_id}

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        view.remove_snapshot(plan.args["snapshot_id"])


class SnapshotList(Operation):
    name = "snapshot_list"
    command = "cinder snapshot-list [--status S | --volume-id V | --name N]"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        volume = view.choose_volume(keys, exclusive=False)
        if volume is None:
            return None
        project = view.project_by_id[volume.project_id]
        choice = rng.choice(("none", "none", "status", "volume_id"))
        filters: dict[str, Any] = {}
        if choice == "status":
            filters["status"] = rng.choice(("available", "error"))
        elif choice == "volume_id":
            filters["volume_id"] = volume.id
        return self.new_plan(rng, project, [f"volume:{volume.id}"], filters=filters)

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        snapshots = target.api.snapshot_get_all_by_project(
            plan.user(), plan.project_id, plan.args["filters"]
        )
        return {"count": len(snapshots)}


class _OneSnapshot(Operation):
    exclusive = True

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        snapshot = view.choose_snapshot(keys, exclusive=self.exclusive)
        if snapshot is None:
            return None
        project = view.project_by_id[snapshot.project_id]
        return self.new_plan(
            rng, project, [f"snapshot:{snapshot.id}"], snapshot_id=snapshot.id, **self.extra(rng)
        )

    def extra(self, rng: random.Random) -> dict[str, Any]:
        return {}


class SnapshotShow(_OneSnapshot):
    name = "snapshot_show"
    command = "cinder snapshot-show SNAPSHOT"
    exclusive = False

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        snapshot = target.api.snapshot_get(plan.user(), plan.args["snapshot_id"])
        return {"status": snapshot["status"]}


class SnapshotRename(_OneSnapshot):
    name = "snapshot_rename"
    command = "cinder snapshot-rename SNAPSHOT NAME"

    def extra(self, rng: random.Random) -> dict[str, Any]:
        return {"display_name": f"snap-renamed-{rng.randrange(10**6)}"}

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        user, snapshot_id = plan.user(), plan.args["snapshot_id"]
        target.api.snapshot_get(user, snapshot_id)
        fields = {"display_name": plan.args["display_name"], "display_description": ""}
        target.api.snapshot_update(user, snapshot_id, fields)
        return {}


class SnapshotResetState(_OneSnapshot):
    name = "snapshot_reset_state"
    command = "cinder snapshot-reset-state --state S SNAPSHOT (admin)"

    def extra(self, rng: random.Random) -> dict[str, Any]:
        return {"status": rng.choice(("available", "available", "available", "error"))}

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        admin, snapshot_id = plan.admin(), plan.args["snapshot_id"]
        target.api.snapshot_get(admin, snapshot_id)
        target.api.snapshot_update(admin, snapshot_id, {"status": plan.args["status"]})
        return {}

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        with view.lock:
            snapshot = view.snapshots.get(plan.args["snapshot_id"])
            if snapshot is not None:
                snapshot.status = plan.args["status"]


OPERATIONS: tuple[Operation, ...] = (
    SnapshotCreate(),
    SnapshotDelete(),
    SnapshotList(),
    SnapshotShow(),
    SnapshotRename(),
    SnapshotResetState(),
)
