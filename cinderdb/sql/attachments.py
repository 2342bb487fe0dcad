"""Volume attachments: attach, attached, detach, detached, and the attachment getters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from cinderdb import exception
from cinderdb.base import attached_changes, new_id
from cinderdb.context import RequestContext
from cinderdb.records import Record, coerce_values, utcnow
from cinderdb.sql import models
from cinderdb.sql.lookups import Lookups, MissingParentError, flush_checking_parents
from cinderdb.sql.shapes import attachment_record, volume_record

_Attachment = models.VolumeAttachment


class AttachmentFunctions(Lookups):
    """Volume attachments: attach, attached, detach, detached, and the attachment getters."""

    def volume_attach(self, context: RequestContext, values: Mapping[str, Any]) -> Record:
        row_values = coerce_values("attachment", values)
        if not row_values.get("id"):
            row_values["id"] = new_id()
        if row_values.get("volume_id") is None:
            raise exception.InvalidInput(reason="an attachment needs a volume_id")
        if row_values.get("created_at") is None:
            row_values["created_at"] = utcnow()
        row_values.setdefault("deleted", False)
        try:
            with self.session() as session:
                session.add(_Attachment(**row_values))
                flush_checking_parents(session)  # the volume must exist (FOREIGN KEY)
                return attachment_record(self.attachment_row(session, context, row_values["id"]))
        except MissingParentError:
            raise exception.VolumeNotFound(volume_id=row_values["volume_id"]) from None

    def volume_attached(
        self,
        context: RequestContext,
        attachment_id: str,
        instance_uuid: str | None,
        host_name: str | None,
        mountpoint: str | None,
        attach_mode: str = "rw",
    ) -> Record:
        changes = attached_changes(instance_uuid, host_name, mountpoint, attach_mode)
        with self.session() as session:
            attachment = self.attachment_row(session, context, attachment_id)
            for name, value in changes.items():
                setattr(attachment, name, value)
            volume = self.volume_row(session, context, attachment.volume_id)
            volume.status = "in-use"
            volume.attach_status = "attached"
            volume.updated_at = changes["updated_at"]
            session.flush()
            return volume_record(volume, admin=context.is_admin, extra_specs=True)

    def volume_detach(self, context: RequestContext, attachment_id: str) -> None:
        with self.session() as session:
            attachment = self.attachment_row(session, context, attachment_id)
            attachment.attach_status = "detaching"
            attachment.updated_at = utcnow()

    def volume_detached(self, context: RequestContext, volume_id: str, attachment_id: str) -> None:
        """Retire the attachment (it becomes soft-deleted, quirk #7), then set the volume's
        status from the attachments left; a missing attachment is not an error."""
        now = utcnow()
        with self.session() as session:
            try:
                attachment = self.attachment_row(session, context, attachment_id)
            except exception.VolumeAttachmentNotFound:
                attachment = None
            if attachment is not None:
                attachment.attach_status = "detached"
                attachment.detach_time = now
                attachment.deleted = True
                attachment.deleted_at = now
                attachment.updated_at = now
                session.flush()
            remaining = session.scalars(self._used_by_volume(context, volume_id)).all()
            volume = self.volume_row(session, context, volume_id)
            if remaining:
                volume.status = "in-use"
                volume.attach_status = "attached"
            else:
                migrating = volume.migration_status
                if (not migrating and volume.status != "uploading") or migrating in (
                    "success",
                    "error",
                ):
                    volume.status = "available"
                volume.attach_status = "detached"
            volume.updated_at = now

    def _used_by_volume(self, context: RequestContext, volume_id: Any) -> sa.Select:
        """A volume's attachments whose attach_status is set and not 'detached' (SQL's
        ``!=`` skips NULL, quirk #7)."""
        return self.model_query(context, _Attachment).where(
            _Attachment.volume_id == volume_id, _Attachment.attach_status != "detached"
        )

    def volume_attachment_get(self, context: RequestContext, attachment_id: str) -> Record:
        with self.session() as session:
            return attachment_record(self.attachment_row(session, context, attachment_id))

    def volume_attachment_get_used_by_volume_id(
        self, context: RequestContext, volume_id: str
    ) -> list[Record]:
        with self.session() as session:
            rows = session.scalars(self._used_by_volume(context, volume_id)).all()
            return sorted((attachment_record(row) for row in rows), key=lambda a: a["id"])

    def _first_used(self, context: RequestContext, volume_id: str, where: Any) -> Record | None:
        with self.session() as session:
            row = session.scalars(
                self._used_by_volume(context, volume_id).where(where).limit(1)
            ).first()
            return None if row is None else attachment_record(row)

    def volume_attachment_get_by_host(
        self, context: RequestContext, volume_id: str, host: str
    ) -> Record | None:
        return self._first_used(context, volume_id, _Attachment.attached_host == host)

    def volume_attachment_get_by_instance_uuid(
        self, context: RequestContext, volume_id: str, instance_uuid: str
    ) -> Record | None:
        return self._first_used(context, volume_id, _Attachment.instance_uuid == instance_uuid)

    def volume_attachment_update(
        self, context: RequestContext, attachment_id: str, values: Mapping[str, Any]
    ) -> Record:
        row_values = coerce_values("attachment", values)
        row_values.pop("id", None)  # an attachment keeps its id
        if "volume_id" in row_values and row_values["volume_id"] is None:
            raise exception.InvalidInput(reason="an attachment needs a volume_id")
        try:
            with self.session() as session:
                attachment = self.attachment_row(session, context, attachment_id)
                for name, value in row_values.items():
                    setattr(attachment, name, value)
                if "updated_at" not in row_values:
                    attachment.updated_at = utcnow()
                flush_checking_parents(session)
                return attachment_record(attachment)
        except MissingParentError:
            raise exception.VolumeNotFound(volume_id=row_values.get("volume_id")) from None
