"""Row lookups the volume-side areas share: Liberty's ``_volume_get``, ``_snapshot_get``,
``volume_attachment_get``, the ``require_*_exists`` checks and the metadata upsert.

Each lookup issues the statement Liberty issues (``volume_get`` is one SELECT
joining seven tables for admins, six for users), inside the caller's session.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc, false
from sqlalchemy.orm import Session, joinedload

from cinderdb import exception
from cinderdb.context import RequestContext
from cinderdb.sql import models
from cinderdb.sql.core import SQLCore, is_foreign_key_violation

#: Liberty stacks ``@require_volume_exists`` on the public metadata function and on
#: the private one it calls, so each call pays two ``volume_get``s (brief §10).
LIBERTY_EXISTS_CHECKS = 2


class MissingParentError(Exception):
    """A write named a parent row that does not exist (a FOREIGN KEY violation).

    Raised inside a session so the transaction rolls back; the caller then
    finds out which parent is missing and raises Cinder's NotFound for it.
    """


def flush_checking_parents(session: Session) -> None:
    """Flush; a missing parent row becomes ``MissingParentError`` (no extra SELECT on success)."""
    try:
        session.flush()
    except exc.IntegrityError as error:
        if is_foreign_key_violation(error):
            raise MissingParentError() from error
        raise


class Lookups(SQLCore):
    """Shared, Liberty-shaped reads of volumes, snapshots and attachments."""

    # -------------------------------------------------------------- volumes

    def volume_query(
        self, context: RequestContext, *, extra_specs: bool, project_only: bool = False
    ) -> sa.Select:
        """``_volume_get_query``: metadata, type, attachments, group (+ admin metadata
        for admins) joined; ``extra_specs`` chains the type's specs (``volume_get`` only)."""
        type_load = joinedload(models.Volume.volume_type)
        if extra_specs:
            type_load = type_load.joinedload(models.VolumeTypes.extra_specs)
        options = [
            joinedload(models.Volume.volume_metadata),
            type_load,
            joinedload(models.Volume.volume_attachment),
            joinedload(models.Volume.consistencygroup),
        ]
        if context.is_admin:
            options.append(joinedload(models.Volume.volume_admin_metadata))
        return self.model_query(context, models.Volume, project_only=project_only).options(*options)

    def volume_row(
        self, session: Session, context: RequestContext, volume_id: Any, *, refresh: bool = False
    ) -> models.Volume:
        """Liberty's ``_volume_get`` (``.first()``, hence LIMIT 1). ``VolumeNotFound``.

        ``refresh`` re-reads a row this session already holds (after writes).
        """
        statement = (
            self.volume_query(context, extra_specs=True, project_only=True)
            .where(models.Volume.id == volume_id)
            .limit(1)
        )
        if refresh:
            statement = statement.execution_options(populate_existing=True)
        row = session.scalars(statement).unique().first()
        if row is None:
            raise exception.VolumeNotFound(volume_id=volume_id)
        return row

    def require_volume(
        self, session: Session, context: RequestContext, volume_id: Any, checks: int = 1
    ) -> str:
        """``@require_volume_exists``: a full ``volume_get`` per check, as Liberty pays it.
        Returns the stored id."""
        for _ in range(checks):
            row = self.volume_row(session, context, volume_id)
        return row.id

    def volume_exists(self, context: RequestContext, volume_id: Any) -> bool:
        """Whether a volume row exists at all (used only to name a missing parent)."""
        with self.session() as session:
            return session.get(models.Volume, volume_id) is not None

    # ------------------------------------------------------------ snapshots

    def snapshot_query(
        self,
        context: RequestContext,
        *,
        volume: bool,
        project_only: bool = False,
        read_deleted: str | None = None,
    ) -> sa.Select:
        """Snapshots with their metadata joined, and their volume when ``volume``."""
        options = [joinedload(models.Snapshot.snapshot_metadata)]
        if volume:
            options.append(joinedload(models.Snapshot.volume))
        return self.model_query(
            context, models.Snapshot, project_only=project_only, read_deleted=read_deleted
        ).options(*options)

    def snapshot_row(
        self,
        session: Session,
        context: RequestContext,
        snapshot_id: Any,
        *,
        refresh: bool = False,
    ) -> models.Snapshot:
        """Liberty's ``_snapshot_get``: 3 tables. ``SnapshotNotFound``."""
        statement = (
            self.snapshot_query(context, volume=True, project_only=True)
            .where(models.Snapshot.id == snapshot_id)
            .limit(1)
        )
        if refresh:
            statement = statement.execution_options(populate_existing=True)
        row = session.scalars(statement).unique().first()
        if row is None:
            raise exception.SnapshotNotFound(snapshot_id=snapshot_id)
        return row

    def require_snapshot(
        self, session: Session, context: RequestContext, snapshot_id: Any, checks: int = 1
    ) -> str:
        """``@require_snapshot_exists``: a full ``snapshot_get`` per check; the stored id."""
        for _ in range(checks):
            row = self.snapshot_row(session, context, snapshot_id)
        return row.id

    # ---------------------------------------------------------- attachments

    def attachment_row(
        self, session: Session, context: RequestContext, attachment_id: Any
    ) -> models.VolumeAttachment:
        """``volume_attachment_get`` (unscoped, quirk #8). ``VolumeAttachmentNotFound``."""
        statement = (
            self.model_query(context, models.VolumeAttachment)
            .where(models.VolumeAttachment.id == attachment_id)
            .limit(1)
        )
        row = session.scalars(statement).first()
        if row is None:
            raise exception.VolumeAttachmentNotFound(filter=f"attachment_id = {attachment_id}")
        return row

    # ------------------------------------------------------------- metadata

    @staticmethod
    def live_metadata(model: type, parent_column: str, parent_id: Any) -> sa.Select:
        """The live key/value rows of one parent (``read_deleted='no'`` whatever the context)."""
        return sa.select(model).where(
            getattr(model, parent_column) == parent_id, model.deleted == false()
        )

    def metadata_of(
        self, session: Session, model: type, parent_column: str, parent_id: Any
    ) -> dict[str, Any]:
        """``{key: value}`` of a parent's live metadata rows (one SELECT)."""
        rows = session.scalars(self.live_metadata(model, parent_column, parent_id)).all()
        return {row.key: row.value for row in rows}

    def upsert_metadata(
        self,
        session: Session,
        model: type,
        parent_column: str,
        parent_id: Any,
        metadata: Mapping[str, Any],
        delete: bool,
        now: dt.datetime,
    ) -> None:
        """Liberty's ``_volume_x_metadata_update`` on any key/value table.

        With ``delete`` every live key absent from ``metadata`` is retired (with
        ``deleted_at``: quirk #5 fixed). Then each key is looked up on its own
        (Liberty's per-key SELECT) and updated in place or inserted.
        """
        if delete:
            for row in session.scalars(self.live_metadata(model, parent_column, parent_id)):
                if row.key not in metadata:
                    row.deleted = True
                    row.deleted_at = now
                    row.updated_at = now
        for key, value in metadata.items():
            statement = (
                self.live_metadata(model, parent_column, parent_id).where(model.key == key).limit(1)
            )
            row = session.scalars(statement).first()
            if row is None:
                session.add(
                    model(
                        **{parent_column: parent_id},
                        key=key,
                        value=value,
                        created_at=now,
                        deleted=False,
                    )
                )
            elif row.value != value:
                row.value = value
                row.updated_at = now
        session.flush()

    def retire_metadata(
        self,
        session: Session,
        model: type,
        parent_column: str,
        parent_id: Any,
        now: dt.datetime,
        key: Any = None,
    ) -> None:
        """Bulk soft delete of a parent's live rows (one key or all); ``updated_at`` kept."""
        statement = (
            sa.update(model)
            .where(getattr(model, parent_column) == parent_id, model.deleted == false())
            .values(deleted=True, deleted_at=now)
            .execution_options(synchronize_session=False)
        )
        if key is not None:
            statement = statement.where(model.key == key)
        session.execute(statement)
