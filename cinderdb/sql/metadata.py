"""Volume user metadata (and image metadata through ``meta_type``), and admin metadata.

Every function first checks the volume exists the way Liberty does: a full
``volume_get`` twice (stacked ``@require_volume_exists``), which is part of the
relational baseline being measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cinderdb import exception
from cinderdb.api import METADATA_TYPES
from cinderdb.context import RequestContext
from cinderdb.records import Kind, Record, coerce_metadata, utcnow
from cinderdb.sql import models
from cinderdb.sql.core import retry_on_deadlock
from cinderdb.sql.lookups import LIBERTY_EXISTS_CHECKS, Lookups

#: meta_type -> (table, value kind): image metadata lives in volume_glance_metadata (TEXT values).
_TABLES = {
    METADATA_TYPES.user: (models.VolumeMetadata, Kind.STRING),
    METADATA_TYPES.image: (models.VolumeGlanceMetadata, Kind.TEXT),
}


def _table_for(meta_type: Any, volume_id: Any) -> tuple[type, Kind]:
    """The table of a ``METADATA_TYPES`` member (or its value); else ``InvalidMetadataType``."""
    try:
        return _TABLES[METADATA_TYPES(meta_type)]
    except (ValueError, TypeError):
        raise exception.InvalidMetadataType(metadata_type=meta_type, id=volume_id) from None


class MetadataFunctions(Lookups):
    """Volume user metadata (and image metadata through ``meta_type``), and admin metadata."""

    def volume_metadata_get(self, context: RequestContext, volume_id: str) -> dict[str, str]:
        with self.session() as session:
            stored_id = self.require_volume(session, context, volume_id, LIBERTY_EXISTS_CHECKS)
            return self.metadata_of(session, models.VolumeMetadata, "volume_id", stored_id)

    def volume_metadata_get_item(self, context: RequestContext, volume_id: str, key: str) -> Record:
        with self.session() as session:
            stored_id = self.require_volume(session, context, volume_id, LIBERTY_EXISTS_CHECKS)
            statement = (
                self.live_metadata(models.VolumeMetadata, "volume_id", stored_id)
                .where(models.VolumeMetadata.key == key)
                .limit(1)
            )
            row = session.scalars(statement).first()
            if row is None:
                raise exception.VolumeMetadataNotFound(metadata_key=key, volume_id=volume_id)
            return {"key": row.key, "value": row.value}

    @retry_on_deadlock
    def volume_metadata_delete(
        self,
        context: RequestContext,
        volume_id: str,
        key: str,
        meta_type: METADATA_TYPES = METADATA_TYPES.user,
    ) -> None:
        with self.session() as session:
            stored_id = self.require_volume(session, context, volume_id, LIBERTY_EXISTS_CHECKS)
            model, _kind = _table_for(meta_type, volume_id)
            self.retire_metadata(session, model, "volume_id", stored_id, utcnow(), key=key)

    @retry_on_deadlock
    def volume_metadata_update(
        self,
        context: RequestContext,
        volume_id: str,
        metadata: Mapping[str, str],
        delete: bool,
        meta_type: METADATA_TYPES = METADATA_TYPES.user,
    ) -> dict[str, str]:
        with self.session() as session:
            stored_id = self.require_volume(session, context, volume_id, LIBERTY_EXISTS_CHECKS)
            model, kind = _table_for(meta_type, volume_id)
            pairs = coerce_metadata(metadata, kind)
            self.upsert_metadata(
                session, model, "volume_id", stored_id, pairs, bool(delete), utcnow()
            )
            return self.metadata_of(session, model, "volume_id", stored_id)

    # --------------------------------------------------------- admin metadata

    def volume_admin_metadata_get(self, context: RequestContext, volume_id: str) -> dict[str, str]:
        with self.session() as session:
            stored_id = self.require_volume(session, context, volume_id, LIBERTY_EXISTS_CHECKS)
            return self.metadata_of(session, models.VolumeAdminMetadata, "volume_id", stored_id)

    @retry_on_deadlock
    def volume_admin_metadata_delete(
        self, context: RequestContext, volume_id: str, key: str
    ) -> None:
        with self.session() as session:
            stored_id = self.require_volume(session, context, volume_id, LIBERTY_EXISTS_CHECKS)
            self.retire_metadata(
                session, models.VolumeAdminMetadata, "volume_id", stored_id, utcnow(), key=key
            )

    @retry_on_deadlock
    def volume_admin_metadata_update(
        self, context: RequestContext, volume_id: str, metadata: Mapping[str, str], delete: bool
    ) -> dict[str, str]:
        with self.session() as session:
            stored_id = self.require_volume(session, context, volume_id, LIBERTY_EXISTS_CHECKS)
            pairs = coerce_metadata(metadata)
            self.upsert_metadata(
                session,
                models.VolumeAdminMetadata,
                "volume_id",
                stored_id,
                pairs,
                bool(delete),
                utcnow(),
            )
            return self.metadata_of(session, models.VolumeAdminMetadata, "volume_id", stored_id)
