"""Volume attachments: attach, attached, detach, detached, and the attachment getters.

Each attachment lives twice: in its volume's ``volume_attachment`` map
(attachment id -> JSON of the row, live attachments only) and as a
``volume_attachment`` item (every row, retired ones included). Getters by
volume read the map (one get_item), getters by attachment id the table. Every
change of the map is an atomic map ADD (merge) or DELETE (of the key), and
bumps the volume's ``version``, so ``volume_detached``'s versioned
read-modify-write (its status comes from the attachments it read) notices any
attach or detach that raced it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cinderdb import exception
from cinderdb.base import attached_changes, new_id
from cinderdb.context import RequestContext
from cinderdb.magneto.items import Wire, changes_to_updates, from_item, n, to_item
from cinderdb.magneto.lookups import Lookups, visibility_expected, visible
from cinderdb.magneto.shapes import attachment_json, attachment_map
from cinderdb.records import Record, blank, coerce_values, utcnow

_VERSION_BUMP = {"version": {"action": "ADD", "value": n(1)}}
_EXISTS = {"id": {"exists": True}}


def _not_found(attachment_id: Any) -> exception.VolumeAttachmentNotFound:
    return exception.VolumeAttachmentNotFound(filter=f"attachment_id = {attachment_id}")


def _used(attachment: Mapping[str, Any]) -> bool:
    """Liberty's ``attach_status != 'detached'``: SQL's ``!=`` skips NULL (quirk #7)."""
    return attachment["attach_status"] not in (None, "detached")


def map_entry(record: Mapping[str, Any]) -> Wire:
    """The volume update that makes its map hold this row (live) or not (deleted)."""
    if record["deleted"]:
        return {"volume_attachment": {"action": "DELETE", "value": {"SS": [record["id"]]}}}
    return {
        "volume_attachment": {
            "action": "ADD",
            "value": {"SSM": {record["id"]: attachment_json(record)}},
        }
    }


class AttachmentFunctions(Lookups):
    """Volume attachments: attach, attached, detach, detached, and the attachment getters."""

    def _set_in_map(self, volume_id: str, record: Mapping[str, Any]) -> bool:
        """The row into (or out of) its volume's map; False when the volume does not exist."""
        answer = self.update_if(
            "volumes", (volume_id,), {**map_entry(record), **_VERSION_BUMP}, expected=_EXISTS
        )
        return answer is not None

    def _attachment_item(self, context: RequestContext, attachment_id: Any) -> Wire:
        item = self.get("volume_attachment", attachment_id)
        if not visible(context, item, scoped=False):
            raise _not_found(attachment_id)
        assert item is not None
        return item

    def volume_attach(self, context: RequestContext, values: Mapping[str, Any]) -> Record:
        """put_item of the row (absent id), then the map ADD on the volume (which must exist,
        as the foreign key demands; if not, the journal takes the row back)."""
        row = coerce_values("attachment", values)
        if not row.get("id"):
            row["id"] = new_id()
        if row.get("volume_id") is None:
            raise exception.InvalidInput(reason="an attachment needs a volume_id")
        if row.get("created_at") is None:
            row["created_at"] = utcnow()
        if row.get("deleted") is None:
            row["deleted"] = False
        record = {**blank("attachment"), **row}
        if not self.put_if(
            "volume_attachment", to_item("attachment", record), {"id": {"exists": False}}
        ):
            raise exception.DBDuplicateEntry(reason=f"attachment {record['id']} exists")
        if not self._set_in_map(record["volume_id"], record):
            raise exception.VolumeNotFound(volume_id=record["volume_id"])  # the row is undone
        return record

    def volume_attached(
        self,
        context: RequestContext,
        attachment_id: str,
        instance_uuid: str | None,
        host_name: str | None,
        mountpoint: str | None,
        attach_mode: str = "rw",
    ) -> Record:
        """1 get_item (the row), 1 update_item of the volume (status and its map entry,
        visible to the caller, ALL_NEW), 1 update_item of the row, + the record's
        batch_get_item of type and group."""
        changes = attached_changes(instance_uuid, host_name, mountpoint, attach_mode)
        record = {
            **from_item("attachment", self._attachment_item(context, attachment_id)),
            **changes,
        }
        volume_id = record["volume_id"]
        updates = {
            **changes_to_updates(
                "volume",
                {
                    "status": "in-use",
                    "attach_status": "attached",
                    "updated_at": changes["updated_at"],
                },
            ),
            **map_entry(record),
            **_VERSION_BUMP,
        }
        if self.sorted_index:  # the status entry moves: it needs the volume's created_at
            volume = self.rewrite_volume(context, volume_id, lambda _: (updates, {}))
        else:
            volume = self.update_if(
                "volumes",
                (volume_id,),
                updates,
                expected=visibility_expected(context, scoped=True),
                return_values="ALL_NEW",
            )
        if volume is None:
            raise exception.VolumeNotFound(volume_id=volume_id)
        self.update_if(
            "volume_attachment",
            (record["id"],),
            changes_to_updates("attachment", changes),
            expected=_EXISTS,
        )
        return self.volume_result(context, volume)

    def volume_detach(self, context: RequestContext, attachment_id: str) -> None:
        """1 update_item of the row (visible, ALL_NEW), then its map entry on the volume."""
        changes = {"attach_status": "detaching", "updated_at": utcnow()}
        row = self.update_if(
            "volume_attachment",
            (attachment_id,),
            changes_to_updates("attachment", changes),
            expected=visibility_expected(context, scoped=False),
            return_values="ALL_NEW",
        )
        if row is None:
            raise _not_found(attachment_id)
        record = from_item("attachment", row)
        self._set_in_map(record["volume_id"], record)

    def volume_detached(self, context: RequestContext, volume_id: str, attachment_id: str) -> None:
        """``modify`` of the volume (1 get_item + 1 conditional update_item; re-run when an
        attach or detach raced it): drop the attachment from the map and set the status
        from the attachments left. Then the row is retired (update_item): soft-deleted, as
        Liberty does (quirk #7). A missing attachment is not an error."""
        now = utcnow()

        def change(item: Wire) -> tuple[Wire, dict]:
            volume = from_item("volume", item)
            attachments = attachment_map(item)
            remaining = [a for i, a in attachments.items() if i != attachment_id and _used(a)]
            columns: dict[str, Any] = {"updated_at": now}
            if remaining:
                columns.update(status="in-use", attach_status="attached")
            else:
                migrating = volume["migration_status"]
                if (not migrating and volume["status"] != "uploading") or migrating in (
                    "success",
                    "error",
                ):
                    columns["status"] = "available"
                columns["attach_status"] = "detached"
            updates = changes_to_updates("volume", columns)
            if attachment_id in attachments:
                updates["volume_attachment"] = {
                    "action": "DELETE",
                    "value": {"SS": [attachment_id]},
                }
            return updates, {}

        # A versioned read-modify-write; with the sorted indexes the status entry moves too.
        self.rewrite_volume(context, volume_id, change)
        retired = self.update_if(
            "volume_attachment",
            (attachment_id,),
            changes_to_updates(
                "attachment",
                {
                    "attach_status": "detached",
                    "detach_time": now,
                    "deleted": True,
                    "deleted_at": now,
                    "updated_at": now,
                },
            ),
            expected=visibility_expected(context, scoped=False),
            return_values="ALL_NEW",
        )
        if retired and retired["volume_id"]["S"] != volume_id:
            # The row belonged to another volume: out of that volume's map too.
            self._set_in_map(retired["volume_id"]["S"], from_item("attachment", retired))

    # ------------------------------------------------------------- getters

    def volume_attachment_get(self, context: RequestContext, attachment_id: str) -> Record:
        """1 get_item of the row (not project-scoped, quirk #8)."""
        return from_item("attachment", self._attachment_item(context, attachment_id))

    def _used_by(self, context: RequestContext, volume_id: str) -> list[Record]:
        """The volume's used attachments from its map (1 get_item), sorted by id. The map
        holds live rows only, which is all ``read_deleted='no'`` (or 'yes') can see of them."""
        if context.read_deleted == "only":
            return []
        item = self.get("volumes", volume_id)
        if item is None:
            return []
        return [a for _, a in sorted(attachment_map(item).items()) if _used(a)]

    def volume_attachment_get_used_by_volume_id(
        self, context: RequestContext, volume_id: str
    ) -> list[Record]:
        return self._used_by(context, volume_id)

    def volume_attachment_get_by_host(
        self, context: RequestContext, volume_id: str, host: str
    ) -> Record | None:
        return next(
            (a for a in self._used_by(context, volume_id) if a["attached_host"] == host), None
        )

    def volume_attachment_get_by_instance_uuid(
        self, context: RequestContext, volume_id: str, instance_uuid: str
    ) -> Record | None:
        return next(
            (a for a in self._used_by(context, volume_id) if a["instance_uuid"] == instance_uuid),
            None,
        )

    def volume_attachment_update(
        self, context: RequestContext, attachment_id: str, values: Mapping[str, Any]
    ) -> Record:
        """1 get_item of the row, its update_item, and its map entry (moved between maps when
        ``volume_id`` changes: the new volume's first, which must exist)."""
        changes = coerce_values("attachment", values)
        changes.pop("id", None)  # an attachment keeps its id (V5)
        if "volume_id" in changes and changes["volume_id"] is None:
            raise exception.InvalidInput(reason="an attachment needs a volume_id")
        if "updated_at" not in changes:
            changes["updated_at"] = utcnow()
        current = from_item("attachment", self._attachment_item(context, attachment_id))
        record = {**current, **changes}
        moved = record["volume_id"] != current["volume_id"]
        if moved and not self._set_in_map(record["volume_id"], record):
            raise exception.VolumeNotFound(volume_id=record["volume_id"])
        self.update_if(
            "volume_attachment",
            (record["id"],),
            changes_to_updates("attachment", changes),
            expected=_EXISTS,
        )
        if moved:
            self._set_in_map(current["volume_id"], {**current, "deleted": True})
        else:
            self._set_in_map(record["volume_id"], record)
        return record
