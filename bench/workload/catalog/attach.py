"""``nova volume-attach`` and ``nova volume-detach``: Nova's calls into Cinder, in order.

Attach (brief §11): Nova shows the volume, reserves it (``os-reserve``),
shows it again, initializes the connection (the manager reads the volume,
the type's QoS specs and the admin metadata), then ``os-attach``: the API
reads admin metadata and sets ``readonly`` if absent, and the manager creates
the attachment, records ``attached_mode`` and marks it attached.

Detach: show, ``os-begin_detaching``, ``os-terminate_connection`` (manager
read plus the API's unreserve read), then ``os-detach``: the attachment is
soft-deleted by ``volume_detached`` and ``attached_mode`` removed.
"""

from __future__ import annotations

import random
from typing import Any

from bench.workload.catalog.base import (
    ApiError,
    InvalidVolumeAttachMode,
    Operation,
    Plan,
    Target,
    invalid_volume,
    new_uuid,
    show_volume,
)
from bench.workload.view import DatasetView, KeyChooser, VolumeState
from cinderdb import exception

#: How many attachments a multiattach volume may collect in a run.
MAX_ATTACHMENTS = 3


def attachable(volume: VolumeState) -> bool:
    if volume.group_id is not None and volume.status != "available":
        return False
    if volume.status == "available" and not volume.attachments:
        return True
    return (
        volume.multiattach
        and volume.status == "in-use"
        and 0 < len(volume.attachments) < MAX_ATTACHMENTS
    )


class Attach(Operation):
    name = "attach"
    command = "nova volume-attach SERVER VOLUME"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        volume = view.choose_volume(keys, attachable)
        if volume is None:
            return None
        project = view.project_by_id[volume.project_id]
        return self.new_plan(
            rng,
            project,
            [f"volume:{volume.id}"],
            volume_id=volume.id,
            attachment_id=new_uuid(rng),
            instance_uuid=new_uuid(rng),
            mountpoint=f"/dev/vd{'bcdefgh'[len(volume.attachments)]}",
            mode="rw",
        )

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        api, user, volume_id = target.api, plan.user(), plan.args["volume_id"]
        show_volume(api, plan, volume_id)  # nova-api: GET volume, check_attach
        # os-reserve
        volume = api.volume_get(user, volume_id)
        if volume["status"] == "available" or (
            volume["status"] == "in-use" and volume["multiattach"]
        ):
            api.volume_update(user, volume_id, {"status": "attaching"})
        else:
            raise invalid_volume(f"volume status must be available, not {volume['status']}")
        try:
            return self._connect_and_attach(api, plan)
        except (exception.CinderException, ApiError):
            _unreserve(api, plan, volume_id)  # Nova's os-unreserve after a failed attach
            raise

    def _connect_and_attach(self, api: Any, plan: Plan) -> dict[str, Any]:
        args, admin = plan.args, plan.admin()
        volume_id, mode = args["volume_id"], args["mode"]
        # nova-compute: GET volume, os-initialize_connection (manager)
        show_volume(api, plan, volume_id)
        volume = api.volume_get(admin, volume_id)
        if volume["volume_type_id"]:
            api.volume_type_qos_specs_get(admin, volume["volume_type_id"])
        api.volume_admin_metadata_get(admin, volume_id)
        # os-attach (API): readonly defaults to False
        admin_metadata = api.volume_admin_metadata_get(admin, volume_id)
        if "readonly" not in admin_metadata:
            api.volume_admin_metadata_get(admin, volume_id)
            api.volume_admin_metadata_update(admin, volume_id, {"readonly": "False"}, False)
        elif admin_metadata["readonly"] == "True" and mode != "ro":
            raise InvalidVolumeAttachMode(f"volume {volume_id} is read-only")
        # attach_volume (manager), under the volume's lock
        volume = api.volume_get(admin, volume_id)
        attached_mode = api.volume_admin_metadata_get(admin, volume_id).get("attached_mode")
        if attached_mode and attached_mode != mode:
            raise invalid_volume(f"being attached by different mode {attached_mode}")
        if volume["status"] == "in-use" and not volume["multiattach"]:
            raise invalid_volume("volume is already attached")
        existing = api.volume_attachment_get_by_instance_uuid(
            admin, volume_id, args["instance_uuid"]
        )
        if existing is not None:
            api.volume_update(admin, volume_id, {"status": "in-use"})
            return {"attachment_id": existing["id"]}
        attachment_id = args["attachment_id"]
        api.volume_attach(
            admin, {"id": attachment_id, "volume_id": volume_id, "attach_status": "attaching"}
        )
        api.volume_admin_metadata_update(admin, volume_id, {"attached_mode": mode}, False)
        api.volume_get(admin, volume_id)
        api.volume_attached(
            admin, attachment_id, args["instance_uuid"], None, args["mountpoint"], mode
        )
        api.volume_attachment_get(admin, attachment_id)
        return {"attachment_id": attachment_id}

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        with view.lock:
            volume = view.volumes.get(plan.args["volume_id"])
            if volume is not None:
                volume.attachments[result["attachment_id"]] = (plan.args["instance_uuid"], "")
                volume.status = "in-use"


def _unreserve(api: Any, plan: Plan, volume_id: str) -> None:
    """``os-unreserve``: a volume left 'attaching' goes back to in-use or available."""
    user = plan.user()
    if api.volume_get(user, volume_id)["status"] == "attaching":
        in_use = api.volume_attachment_get_used_by_volume_id(user, volume_id)
        api.volume_update(user, volume_id, {"status": "in-use" if in_use else "available"})


class Detach(Operation):
    name = "detach"
    command = "nova volume-detach SERVER VOLUME"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        volume = view.choose_volume(keys, lambda v: v.status == "in-use" and bool(v.attachments))
        if volume is None:
            return None
        project = view.project_by_id[volume.project_id]
        attachment_id = rng.choice(sorted(volume.attachments))
        return self.new_plan(
            rng, project, [f"volume:{volume.id}"], volume_id=volume.id, attachment_id=attachment_id
        )

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        api, user, volume_id = target.api, plan.user(), plan.args["volume_id"]
        show_volume(api, plan, volume_id)  # nova-api: GET volume
        # os-begin_detaching
        volume = api.volume_get(user, volume_id)
        if volume["status"] != "in-use" or volume["attach_status"] != "attached":
            raise invalid_volume("volume must be in-use and attached to detach")
        api.volume_update(user, volume_id, {"status": "detaching"})
        try:
            return self._terminate_and_detach(api, plan)
        except (exception.CinderException, ApiError):
            # Nova's os-roll_detaching after a failed detach
            if api.volume_get(user, volume_id)["status"] == "detaching":
                api.volume_update(user, volume_id, {"status": "in-use"})
            raise

    def _terminate_and_detach(self, api: Any, plan: Plan) -> dict[str, Any]:
        args, user, admin = plan.args, plan.user(), plan.admin()
        volume_id, attachment_id = args["volume_id"], args["attachment_id"]
        # os-terminate_connection: the manager, then the API's unreserve_volume
        api.volume_get(admin, volume_id)
        api.volume_get(user, volume_id)
        # os-detach (manager detach_volume)
        api.volume_get(admin, volume_id)
        try:
            api.volume_attachment_get(admin, attachment_id)
        except exception.VolumeAttachmentNotFound:
            api.volume_detached(admin, volume_id, attachment_id)
            return {"remaining": None}
        api.volume_detached(admin, volume_id, attachment_id)
        api.volume_admin_metadata_delete(admin, volume_id, "attached_mode")
        volume = api.volume_get(admin, volume_id)
        return {"remaining": len(volume["volume_attachment"])}

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        with view.lock:
            volume = view.volumes.get(plan.args["volume_id"])
            if volume is not None:
                volume.attachments.pop(plan.args["attachment_id"], None)
                volume.status = "in-use" if volume.attachments else "available"


OPERATIONS: tuple[Operation, ...] = (Attach(), Detach())
