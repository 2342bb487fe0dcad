"""Glance (image) metadata of volumes and snapshots: create, read, copy, delete.

Rows belong to a volume (``volume_id``) or to a snapshot (``snapshot_id``).
Reads return live rows only (``docs/quirks.md``); copies insert new rows and,
as in Liberty, copying twice doubles them (quirk #12).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import false
from sqlalchemy.orm import Session

from cinderdb import exception
from cinderdb.context import RequestContext
from cinderdb.records import FIELDS, Record, coerce_value, utcnow
from cinderdb.sql import models
from cinderdb.sql.lookups import (
    LIBERTY_EXISTS_CHECKS,
    Lookups,
    MissingParentError,
    flush_checking_parents,
)
from cinderdb.sql.shapes import glance_records

_Glance = models.VolumeGlanceMetadata
_KEY, _VALUE = (next(f for f in FIELDS["glance_metadata"] if f.name == n) for n in ("key", "value"))


def _live(owner: str, owner_id: Any) -> sa.Select:
    return sa.select(_Glance).where(getattr(_Glance, owner) == owner_id, _Glance.deleted == false())


def _rows_or_not_found(
    session: Session, owner: str, owner_id: Any
) -> list[models.VolumeGlanceMetadata]:
    """A volume's or snapshot's live rows; ``GlanceMetadataNotFound`` when it has none."""
    rows = list(session.scalars(_live(owner, owner_id)).all())
    if not rows:
        raise exception.GlanceMetadataNotFound(id=owner_id)
    return rows


class GlanceFunctions(Lookups):
    """Glance (image) metadata of volumes and snapshots: create, read, copy, delete."""

    def volume_glance_metadata_create(
        self, context: RequestContext, volume_id: str, key: str, value: str
    ) -> None:
        key = coerce_value(_KEY, key)
        value = coerce_value(_VALUE, value)
        with self.session() as session:
            stored_id = self.require_volume(session, context, volume_id)
            existing = session.scalars(
                _live("volume_id", stored_id).where(_Glance.key == key)
            ).all()
            if existing:
                raise exception.GlanceMetadataExists(key=key, volume_id=volume_id)
            session.add(
                _Glance(
                    volume_id=stored_id, key=key, value=value, created_at=utcnow(), deleted=False
                )
            )

    def volume_glance_metadata_get(self, context: RequestContext, volume_id: str) -> list[Record]:
        with self.session() as session:
            stored_id = self.require_volume(session, context, volume_id, LIBERTY_EXISTS_CHECKS)
            return glance_records(_rows_or_not_found(session, "volume_id", stored_id))

    def volume_snapshot_glance_metadata_get(
        self, context: RequestContext, snapshot_id: str
    ) -> list[Record]:
        with self.session() as session:
            stored_id = self.require_snapshot(session, context, snapshot_id, LIBERTY_EXISTS_CHECKS)
            return glance_records(_rows_or_not_found(session, "snapshot_id", stored_id))

    def volume_glance_metadata_get_all(self, context: RequestContext) -> list[Record]:
        """Every live row; a user sees the rows of their project's volumes (an implicit
        join with volumes, so snapshot-only rows are admin-visible only, as in Liberty)."""
        statement = sa.select(_Glance).where(_Glance.deleted == false())
        if context.is_user_context:
            statement = statement.where(
                models.Volume.id == _Glance.volume_id,
                models.Volume.project_id == context.project_id,
            )
        with self.session() as session:
            return glance_records(session.scalars(statement).all())

    def _copy(
        self, session: Session, rows: list[models.VolumeGlanceMetadata], **owner: Any
    ) -> None:
        now = utcnow()
        session.add_all(
            _Glance(**owner, key=row.key, value=row.value, created_at=now, deleted=False)
            for row in rows
        )
        flush_checking_parents(session)

    def volume_glance_metadata_copy_to_snapshot(
        self, context: RequestContext, snapshot_id: str, volume_id: str
    ) -> None:
        with self.session() as session:
            stored_snapshot = self.require_snapshot(session, context, snapshot_id)
            stored_volume = self.require_volume(session, context, volume_id)
            rows = _rows_or_not_found(session, "volume_id", stored_volume)
            self._copy(session, rows, snapshot_id=stored_snapshot)

    def volume_glance_metadata_copy_to_volume(
        self, context: RequestContext, volume_id: str, snapshot_id: str
    ) -> None:
        with self.session() as session:
            stored_volume = self.require_volume(session, context, volume_id)
            stored_snapshot = self.require_snapshot(session, context, snapshot_id)
            rows = _rows_or_not_found(session, "snapshot_id", stored_snapshot)
            self._copy(session, rows, volume_id=stored_volume)

    def volume_glance_metadata_copy_from_volume_to_volume(
        self, context: RequestContext, src_volume_id: str, volume_id: str
    ) -> None:
        """Liberty checks only the source; a missing target is caught by its FOREIGN KEY."""
        try:
            with self.session() as session:
                stored_src = self.require_volume(session, context, src_volume_id)
                rows = _rows_or_not_found(session, "volume_id", stored_src)
                self._copy(session, rows, volume_id=volume_id)
        except MissingParentError:
            raise exception.VolumeNotFound(volume_id=volume_id) from None

    def _retire(self, owner: str, owner_id: Any) -> None:
        with self.session() as session:
            self.retire_metadata(session, _Glance, owner, owner_id, utcnow())

    def volume_glance_metadata_delete_by_volume(
        self, context: RequestContext, volume_id: str
    ) -> None:
        self._retire("volume_id", volume_id)

    def volume_glance_metadata_delete_by_snapshot(
        self, context: RequestContext, snapshot_id: str
    ) -> None:
        self._retire("snapshot_id", snapshot_id)
