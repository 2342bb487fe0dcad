"""Volume user metadata (and image metadata through ``meta_type``), and admin metadata.

User and admin metadata are the volume's ``volume_metadata`` and
``volume_admin_metadata`` maps plus, for each pair, the volume id in the pair's
set of the inverted table of the same name. A read is the volume's get_item.
A change is ``VolumeFunctions.rewrite_volume``: a versioned read-modify-write
(the inverted sets need the values it replaces), ids of new pairs ADDed before
the conditional write, ids of dropped pairs DELETEd after it. Image metadata
(``meta_type=image``) goes to the glance functions' inverted table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cinderdb import exception
from cinderdb.api import METADATA_TYPES
from cinderdb.context import RequestContext
from cinderdb.magneto.glance import GlanceStore
from cinderdb.magneto.items import Wire, string_map
from cinderdb.magneto.lookups import ADMIN_METADATA, USER_METADATA
from cinderdb.records import Kind, Record, coerce_metadata


def _meta_type(meta_type: Any, volume_id: Any) -> METADATA_TYPES:
    """The ``METADATA_TYPES`` member of ``meta_type`` (or its value); else
    ``InvalidMetadataType`` (V8)."""
    try:
        return METADATA_TYPES(meta_type)
    except (ValueError, TypeError):
        raise exception.InvalidMetadataType(metadata_type=meta_type, id=volume_id) from None


class MetadataFunctions(GlanceStore):
    """Volume user metadata (and image metadata through ``meta_type``), and admin metadata."""

    def _metadata_map(self, context: RequestContext, volume_id: Any, attribute: str) -> dict:
        """One get_item: the volume (visible to the caller) and one of its maps."""
        return string_map(self.volume_item(context, volume_id), attribute)

    def _update_map(
        self,
        context: RequestContext,
        volume_id: Any,
        kind: tuple[str, str],
        metadata: Any,
        delete: bool,
    ) -> dict[str, str]:
        attribute = kind[0]

        def compute(item: Wire) -> tuple[Wire, dict] | None:
            pairs = coerce_metadata(metadata)  # after the volume check, as Liberty
            old = string_map(item, attribute)
            new = dict(pairs) if delete else {**old, **pairs}
            return None if new == old else ({}, {kind: new})

        item = self.rewrite_volume(context, volume_id, compute)
        return string_map(item, attribute)

    def _delete_key(
        self, context: RequestContext, volume_id: Any, kind: tuple[str, str], key: Any
    ) -> None:
        attribute = kind[0]

        def compute(item: Wire) -> tuple[Wire, dict] | None:
            old = string_map(item, attribute)
            if key not in old:
                return None  # a missing key is a silent no-op
            return {}, {kind: {k: v for k, v in old.items() if k != key}}

        self.rewrite_volume(context, volume_id, compute)

    # --------------------------------------------------------- user metadata

    def volume_metadata_get(self, context: RequestContext, volume_id: str) -> dict[str, str]:
        """1 get_item."""
        return self._metadata_map(context, volume_id, USER_METADATA[0])

    def volume_metadata_get_item(self, context: RequestContext, volume_id: str, key: str) -> Record:
        """1 get_item."""
        metadata = self._metadata_map(context, volume_id, USER_METADATA[0])
        if key not in metadata:
            raise exception.VolumeMetadataNotFound(metadata_key=key, volume_id=volume_id)
        return {"key": key, "value": metadata[key]}

    def volume_metadata_delete(
        self,
        context: RequestContext,
        volume_id: str,
        key: str,
        meta_type: METADATA_TYPES = METADATA_TYPES.user,
    ) -> None:
        """User: 1 get_item + (if the key is there) 1 update_item + 1 inverted update_item."""
        try:
            kind = METADATA_TYPES(meta_type)
        except (ValueError, TypeError):
            kind = None
        if kind is METADATA_TYPES.user:
            self._delete_key(context, volume_id, USER_METADATA, key)
            return
        volume = self.volume_item(context, volume_id)  # Liberty checks the volume first
        if _meta_type(meta_type, volume_id) is METADATA_TYPES.image:
            self.glance_delete_key(volume_id, key, volume)

    def volume_metadata_update(
        self,
        context: RequestContext,
        volume_id: str,
        metadata: Mapping[str, str],
        delete: bool,
        meta_type: METADATA_TYPES = METADATA_TYPES.user,
    ) -> dict[str, str]:
        """User: ``rewrite_volume`` (1 get_item, one inverted update_item per added or dropped
        pair, 1 conditional update_item). Image: the glance upsert (scan + updates)."""
        try:
            kind = METADATA_TYPES(meta_type)
        except (ValueError, TypeError):
            kind = None
        if kind is METADATA_TYPES.user:
            return self._update_map(context, volume_id, USER_METADATA, metadata, bool(delete))
        volume = self.volume_item(context, volume_id)
        _meta_type(meta_type, volume_id)
        pairs = coerce_metadata(metadata, Kind.TEXT)
        return self.glance_upsert(volume_id, pairs, bool(delete), volume)

    # -------------------------------------------------------- admin metadata

    def volume_admin_metadata_get(self, context: RequestContext, volume_id: str) -> dict[str, str]:
        """1 get_item."""
        return self._metadata_map(context, volume_id, ADMIN_METADATA[0])

    def volume_admin_metadata_delete(
        self, context: RequestContext, volume_id: str, key: str
    ) -> None:
        self._delete_key(context, volume_id, ADMIN_METADATA, key)

    def volume_admin_metadata_update(
        self, context: RequestContext, volume_id: str, metadata: Mapping[str, str], delete: bool
    ) -> dict[str, str]:
        return self._update_map(context, volume_id, ADMIN_METADATA, metadata, bool(delete))
