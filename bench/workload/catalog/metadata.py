"""Volume and snapshot metadata: ``cinder metadata`` / ``metadata-show`` / ``metadata-update-all``
and their ``snapshot-`` twins.

Each REST call first loads its target (``volume_api.get`` / ``get_snapshot``),
then reads or writes the metadata: ``*_metadata_update`` with ``delete=False``
merges (set), with ``delete=True`` replaces (update-all); unset is
``*_metadata_delete``.
"""

from __future__ import annotations

import random
from typing import Any

from bench.workload.catalog.base import Operation, Plan, Target
from bench.workload.catalog.volumes import random_metadata
from bench.workload.view import DatasetView, KeyChooser


class _VolumeMetadata(Operation):
    exclusive = True

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        volume = view.choose_volume(keys, exclusive=self.exclusive)
        if volume is None:
            return None
        project = view.project_by_id[volume.project_id]
        metadata = random_metadata(view, rng, 3) or {view.metadata_keys[0]: "bench"}
        return self.new_plan(
            rng, project, [f"volume:{volume.id}"], volume_id=volume.id, metadata=metadata
        )


class MetadataSet(_VolumeMetadata):
    name = "metadata_set"
    command = "cinder metadata VOLUME set k=v ..."

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        user, volume_id = plan.user(), plan.args["volume_id"]
        target.api.volume_get(user, volume_id)
        result = target.api.volume_metadata_update(user, volume_id, plan.args["metadata"], False)
        return {"keys": len(result)}


class MetadataUnset(_VolumeMetadata):
    name = "metadata_unset"
    command = "cinder metadata VOLUME unset k"

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        user, volume_id = plan.user(), plan.args["volume_id"]
        target.api.volume_get(user, volume_id)
        for key in sorted(plan.args["metadata"])[:1]:
            target.api.volume_metadata_delete(user, volume_id, key)
        return {}


class MetadataShow(_VolumeMetadata):
    name = "metadata_show"
    command = "cinder metadata-show VOLUME"
    exclusive = False

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        user, volume_id = plan.user(), plan.args["volume_id"]
        target.api.volume_get(user, volume_id)
        return {"keys": len(target.api.volume_metadata_get(user, volume_id))}


class MetadataUpdateAll(_VolumeMetadata):
    name = "metadata_update_all"
    command = "cinder metadata-update-all VOLUME k=v ..."

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        user, volume_id = plan.user(), plan.args["volume_id"]
        target.api.volume_get(user, volume_id)
        result = target.api.volume_metadata_update(user, volume_id, plan.args["metadata"], True)
        return {"keys": len(result)}


class _SnapshotMetadata(Operation):
    exclusive = True

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        snapshot = view.choose_snapshot(keys, exclusive=self.exclusive)
        if snapshot is None:
            return None
        project = view.project_by_id[snapshot.project_id]
        metadata = random_metadata(view, rng, 2) or {view.metadata_keys[0]: "bench"}
        return self.new_plan(
            rng, project, [f"snapshot:{snapshot.id}"], snapshot_id=snapshot.id, metadata=metadata
        )


class SnapshotMetadataSet(_SnapshotMetadata):
    name = "snapshot_metadata_set"
    command = "cinder snapshot-metadata SNAPSHOT set k=v ..."

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        user, snapshot_id = plan.user(), plan.args["snapshot_id"]
        target.api.snapshot_get(user, snapshot_id)
        metadata = plan.args["metadata"]
        return {
            "keys": len(target.api.snapshot_metadata_update(user, snapshot_id, metadata, False))
        }


class SnapshotMetadataShow(_SnapshotMetadata):
    name = "snapshot_metadata_show"
    command = "cinder snapshot-metadata-show SNAPSHOT"
    exclusive = False

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        user, snapshot_id = plan.user(), plan.args["snapshot_id"]
        target.api.snapshot_get(user, snapshot_id)
        return {"keys": len(target.api.snapshot_metadata_get(user, snapshot_id))}


class SnapshotMetadataUpdateAll(_SnapshotMetadata):
    name = "snapshot_metadata_update_all"
    command = "cinder snapshot-metadata-update-all SNAPSHOT k=v ..."

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        user, snapshot_id = plan.user(), plan.args["snapshot_id"]
        target.api.snapshot_get(user, snapshot_id)
        metadata = plan.args["metadata"]
        return {"keys": len(target.api.snapshot_metadata_update(user, snapshot_id, metadata, True))}


OPERATIONS: tuple[Operation, ...] = (
    MetadataSet(),
    MetadataUnset(),
    MetadataShow(),
    MetadataUpdateAll(),
    SnapshotMetadataSet(),
    SnapshotMetadataShow(),
    SnapshotMetadataUpdateAll(),
)
