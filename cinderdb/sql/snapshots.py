"""Snapshots and their metadata: create, get, lists with filters/sort/pagination, update,
destroy, and the project aggregate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func

from cinderdb import exception
from cinderdb.base import (
    NO_MATCH,
    check_sort_keys,
    new_id,
    plan_equality_filters,
    process_sort_params,
)
from cinderdb.context import RequestContext
from cinderdb.records import Record, coerce_metadata, coerce_values, utcnow
from cinderdb.sql import models
from cinderdb.sql.core import read_deleted_clause, retry_on_deadlock
from cinderdb.sql.lookups import (
    LIBERTY_EXISTS_CHECKS,
    Lookups,
    MissingParentError,
    flush_checking_parents,
)
from cinderdb.sql.paging import apply_plan, sort_and_page
from cinderdb.sql.shapes import snapshot_record

_Snapshot = models.Snapshot


class SnapshotFunctions(Lookups):
    """Snapshots and their metadata."""

    def _missing_parent(self, row_values: Mapping[str, Any]) -> exception.NotFound:
        """Which parent a failed snapshot write named: its volume, else its cgsnapshot."""
        volume_id = row_values.get("volume_id")
        with self.session() as session:
            if session.get(models.Volume, volume_id) is None:
                return exception.VolumeNotFound(volume_id=volume_id)
        return exception.CgSnapshotNotFound(cgsnapshot_id=row_values.get("cgsnapshot_id"))

    # ---------------------------------------------------------------- create

    def snapshot_create(self, context: RequestContext, values: Mapping[str, Any]) -> Record:
        row_values = coerce_values("snapshot", values)
        raw_metadata = values.get("metadata")
        metadata = {} if raw_metadata is None else coerce_metadata(raw_metadata)
        if not row_values.get("id"):
            row_values["id"] = new_id()
        snapshot_id = row_values["id"]
        if row_values.get("volume_id") is None:
            raise exception.InvalidInput(reason="a snapshot needs a volume_id")
        if context.is_user_context and row_values.get("project_id") != context.project_id:
            # Liberty inserts, then fails to re-read it through the user's project scope.
            raise exception.SnapshotNotFound(snapshot_id=snapshot_id)
        now = utcnow()
        if row_values.get("created_at") is None:
            row_values["created_at"] = now
        row_values.setdefault("deleted", False)
        try:
            with self.session() as session:
                session.add(_Snapshot(**row_values))
                flush_checking_parents(session)
                session.add_all(
                    models.SnapshotMetadata(
                        snapshot_id=snapshot_id, key=k, value=v, created_at=now, deleted=False
                    )
                    for k, v in metadata.items()
                )
                session.flush()
                row = self.snapshot_row(session, context, snapshot_id, refresh=True)
                return snapshot_record(row, volume=True)
        except MissingParentError:
            raise self._missing_parent(row_values) from None

    # ------------------------------------------------------------------ read

    def snapshot_get(self, context: RequestContext, snapshot_id: str) -> Record:
        with self.session() as session:
            return snapshot_record(self.snapshot_row(session, context, snapshot_id), volume=True)

    def _snapshot_page(
        self,
        context: RequestContext,
        filters: Mapping[str, Any] | None,
        marker: str | None,
        limit: int | None,
        sort_keys: Sequence[str] | None,
        sort_dirs: Sequence[str] | None,
        offset: int | None,
    ) -> list[Record]:
        """The volume lists' machinery with snapshot filters (equality only, no IN)."""
        keys, dirs = process_sort_params(sort_keys, sort_dirs, default_dir="desc")
        plan = plan_equality_filters("snapshot", filters)
        if plan is NO_MATCH:
            return []
        statement = apply_plan(self.snapshot_query(context, volume=False), _Snapshot, plan)
        with self.session() as session:
            marker_row = None if marker is None else self.snapshot_row(session, context, marker)
            check_sort_keys("snapshot", keys)
            statement = sort_and_page(statement, _Snapshot, keys, dirs, marker_row, limit, offset)
            rows = session.scalars(statement).unique().all()
            return [snapshot_record(row, volume=False) for row in rows]

    def _live_list(self, context: RequestContext, where: Any, *, volume: bool) -> list[Record]:
        statement = self.snapshot_query(
            context, volume=volume, project_only=True, read_deleted="no"
        ).where(where)
        with self.session() as session:
            rows = session.scalars(statement).unique().all()
            return [snapshot_record(row, volume=volume) for row in rows]

    def snapshot_get_all_for_volume(self, context: RequestContext, volume_id: str) -> list[Record]:
        return self._live_list(context, _Snapshot.volume_id == volume_id, volume=False)

    def snapshot_get_all_for_cgsnapshot(
        self, context: RequestContext, cgsnapshot_id: str
    ) -> list[Record]:
        return self._live_list(context, _Snapshot.cgsnapshot_id == cgsnapshot_id, volume=True)

    def snapshot_data_get_for_project(
        self, context: RequestContext, project_id: str, volume_type_id: str | None = None
    ) -> tuple[int, int]:
        """Count and size of live snapshots; with a type, the *volume's* type is matched."""
        statement = self.model_query(
            context,
            _Snapshot,
            func.count(_Snapshot.id),
            func.sum(_Snapshot.volume_size),
            read_deleted="no",
        ).where(_Snapshot.project_id == project_id)
        if volume_type_id:
            statement = statement.join_from(
                _Snapshot, models.Volume, _Snapshot.volume_id == models.Volume.id
            ).where(models.Volume.volume_type_id == volume_type_id)
        with self.session() as session:
            count, total = session.execute(statement).one()
        return int(count or 0), int(total or 0)

    # ---------------------------------------------------------------- update

    def snapshot_update(
        self, context: RequestContext, snapshot_id: str, values: Mapping[str, Any]
    ) -> Record:
        row_values = coerce_values("snapshot", values)  # a 'metadata' key is ignored, as in Liberty
        row_values.pop("id", None)
        if "volume_id" in row_values and row_values["volume_id"] is None:
            raise exception.InvalidInput(reason="a snapshot needs a volume_id")
        try:
            with self.session() as session:
                row = self.snapshot_row(session, context, snapshot_id)
                for name, value in row_values.items():
                    setattr(row, name, value)
                if "updated_at" not in row_values:
                    row.updated_at = utcnow()
                flush_checking_parents(session)
                if "volume_id" in row_values:
                    row = self.snapshot_row(session, context, row.id, refresh=True)
                return snapshot_record(row, volume=True)
        except MissingParentError:
            raise self._missing_parent(row_values) from None

    @retry_on_deadlock
    def snapshot_destroy(self, context: RequestContext, snapshot_id: str) -> None:
        now = utcnow()
        with self.session() as session:
            statement = (
                sa.update(_Snapshot)
                .where(_Snapshot.id == snapshot_id)
                .values(status="deleted", deleted=True, deleted_at=now)
                .execution_options(synchronize_session=False)
            )
            clause = read_deleted_clause(_Snapshot, context.read_deleted)
            if clause is not None:
                statement = statement.where(clause)
            session.execute(statement)
            self.retire_metadata(session, models.SnapshotMetadata, "snapshot_id", snapshot_id, now)

    # -------------------------------------------------------------- metadata

    def snapshot_metadata_get(self, context: RequestContext, snapshot_id: str) -> dict[str, str]:
        with self.session() as session:
            stored = self.require_snapshot(session, context, snapshot_id, LIBERTY_EXISTS_CHECKS)
            return self.metadata_of(session, models.SnapshotMetadata, "snapshot_id", stored)

    @retry_on_deadlock
    def snapshot_metadata_delete(self, context: RequestContext, snapshot_id: str, key: str) -> None:
        with self.session() as session:
            stored = self.require_snapshot(session, context, snapshot_id)
            self.retire_metadata(
                session, models.SnapshotMetadata, "snapshot_id", stored, utcnow(), key=key
            )

    @retry_on_deadlock
    def snapshot_metadata_update(
        self, context: RequestContext, snapshot_id: str, metadata: Mapping[str, str], delete: bool
    ) -> dict[str, str]:
        """Upsert, then answer through ``snapshot_metadata_get`` as Liberty does (its two
        more existence checks included)."""
        with self.session() as session:
            stored = self.require_snapshot(session, context, snapshot_id)
            pairs = coerce_metadata(metadata)
            self.upsert_metadata(
                session,
                models.SnapshotMetadata,
                "snapshot_id",
                stored,
                pairs,
                bool(delete),
                utcnow(),
            )
            self.require_snapshot(session, context, snapshot_id, LIBERTY_EXISTS_CHECKS)
            return self.metadata_of(session, models.SnapshotMetadata, "snapshot_id", stored)
