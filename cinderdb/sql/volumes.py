"""Volumes: create, get, lists (filters, sort, pagination), update, destroy, aggregates,
migration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, or_
from sqlalchemy.orm import Session

from cinderdb import exception
from cinderdb.base import (
    NO_MATCH,
    check_sort_keys,
    new_id,
    plan_volume_filters,
    process_sort_params,
)
from cinderdb.context import RequestContext
from cinderdb.records import Record, coerce_metadata, coerce_values, column_names, utcnow
from cinderdb.sql import models
from cinderdb.sql.core import read_deleted_clause, retry_on_deadlock
from cinderdb.sql.lookups import Lookups, MissingParentError, flush_checking_parents
from cinderdb.sql.paging import apply_volume_plan, sort_and_page
from cinderdb.sql.shapes import columns, volume_record

#: Boolean columns that are False, not NULL, when a create does not name them.
_FALSE_BY_DEFAULT = ("deleted", "bootable", "multiattach")


def _optional_metadata(values: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    raw = values.get(key)
    return None if raw is None else coerce_metadata(raw)


def _host_clause(host: str) -> Any:
    """``host == H`` or a pool of H (``H#...``); LIKE wildcards in H are taken literally."""
    return or_(
        models.Volume.host == host, models.Volume.host.startswith(host + "#", autoescape=True)
    )


def _check_host(host: Any) -> None:
    if host is not None and not isinstance(host, str):
        raise exception.InvalidInput(reason=f"host must be a string, not {type(host).__name__}")


class VolumeFunctions(Lookups):
    """Volumes: create, get, lists, update, destroy, aggregates, migration."""

    def volume_result(self, context: RequestContext, row: models.Volume) -> Record:
        """A ``volume_get``-shaped record (admin metadata for admins only)."""
        return volume_record(row, admin=context.is_admin, extra_specs=True)

    # ---------------------------------------------------------------- create

    def volume_create(self, context: RequestContext, values: Mapping[str, Any]) -> Record:
        row_values = coerce_values("volume", values)
        metadata = _optional_metadata(values, "metadata") or {}
        admin_metadata = (
            (_optional_metadata(values, "admin_metadata") or {}) if context.is_admin else {}
        )
        if not row_values.get("id"):
            row_values["id"] = new_id()
        volume_id = row_values["id"]
        if context.is_user_context and row_values.get("project_id") != context.project_id:
            # Liberty inserts, then fails to re-read it through the user's project scope.
            raise exception.VolumeNotFound(volume_id=volume_id)
        now = utcnow()
        if row_values.get("created_at") is None:
            row_values["created_at"] = now
        for flag in _FALSE_BY_DEFAULT:
            row_values.setdefault(flag, False)
        try:
            with self.session() as session:
                session.add(models.Volume(**row_values))
                flush_checking_parents(session)
                for model, pairs in (
                    (models.VolumeMetadata, metadata),
                    (models.VolumeAdminMetadata, admin_metadata),
                ):
                    session.add_all(
                        model(volume_id=volume_id, key=k, value=v, created_at=now, deleted=False)
                        for k, v in pairs.items()
                    )
                session.flush()
                return self.volume_result(
                    context, self.volume_row(session, context, volume_id, refresh=True)
                )
        except MissingParentError:
            group_id = row_values.get("consistencygroup_id")
            raise exception.ConsistencyGroupNotFound(consistencygroup_id=group_id) from None

    # ------------------------------------------------------------------ read

    def volume_get(self, context: RequestContext, volume_id: str) -> Record:
        with self.session() as session:
            return self.volume_result(context, self.volume_row(session, context, volume_id))

    def _list_records(
        self, context: RequestContext, statement: sa.Select, session: Session
    ) -> list[Record]:
        rows = session.scalars(statement).unique().all()
        return [volume_record(row, admin=context.is_admin, extra_specs=False) for row in rows]

    def _volume_page(
        self,
        context: RequestContext,
        marker: str | None,
        limit: int | None,
        sort_keys: Sequence[str] | None,
        sort_dirs: Sequence[str] | None,
        filters: Mapping[str, Any] | None,
        offset: int | None,
    ) -> list[Record]:
        """Liberty's ``_generate_paginate_query`` order: sort arguments, filters
        (no match gives ``[]``), the marker's ``volume_get``, sort keys, then the page."""
        keys, dirs = process_sort_params(sort_keys, sort_dirs, default_dir="desc")
        plan = plan_volume_filters(filters)
        if plan is NO_MATCH:
            return []
        statement = apply_volume_plan(self.volume_query(context, extra_specs=False), plan)
        if statement is None:
            return []
        with self.session() as session:
            marker_row = None if marker is None else self.volume_row(session, context, marker)
            check_sort_keys("volume", keys)
            statement = sort_and_page(
                statement, models.Volume, keys, dirs, marker_row, limit, offset
            )
            return self._list_records(context, statement, session)

    def _volume_list(
        self, context: RequestContext, where: Any, filters: Mapping[str, Any] | None
    ) -> list[Record]:
        """An unsorted, unpaged list (by host, by group) with Liberty's filters."""
        plan = plan_volume_filters(filters)
        if plan is NO_MATCH:
            return []
        statement = apply_volume_plan(
            self.volume_query(context, extra_specs=False).where(where), plan
        )
        if statement is None:
            return []
        with self.session() as session:
            return self._list_records(context, statement, session)

    def volume_get_all_by_host(
        self, context: RequestContext, host: str, filters: Mapping[str, Any] | None = None
    ) -> list[Record]:
        _check_host(host)  # Liberty returns None for a non-string host (quirk #14b, fixed)
        if not host:
            return []
        return self._volume_list(context, _host_clause(host), filters)

    def volume_get_all_by_group(
        self, context: RequestContext, group_id: str, filters: Mapping[str, Any] | None = None
    ) -> list[Record]:
        return self._volume_list(context, models.Volume.consistencygroup_id == group_id, filters)

    # ---------------------------------------------------------------- update

    def volume_update(
        self, context: RequestContext, volume_id: str, values: Mapping[str, Any]
    ) -> Record:
        row_values = coerce_values("volume", values)
        row_values.pop("id", None)  # a volume keeps its id
        metadata = _optional_metadata(values, "metadata")
        admin_metadata = _optional_metadata(values, "admin_metadata") if context.is_admin else None
        now = utcnow()
        try:
            with self.session() as session:
                row = self.volume_row(session, context, volume_id)
                for model, pairs in (
                    (models.VolumeMetadata, metadata),
                    (models.VolumeAdminMetadata, admin_metadata),
                ):
                    if pairs is not None:
                        self.upsert_metadata(session, model, "volume_id", row.id, pairs, True, now)
                for name, value in row_values.items():
                    setattr(row, name, value)
                if "updated_at" not in row_values:
                    row.updated_at = now
                flush_checking_parents(session)
                if metadata is not None or admin_metadata is not None:
                    row = self.volume_row(session, context, row.id, refresh=True)
                return self.volume_result(context, row)
        except MissingParentError:
            group_id = row_values.get("consistencygroup_id")
            raise exception.ConsistencyGroupNotFound(consistencygroup_id=group_id) from None

    @retry_on_deadlock
    def volume_destroy(self, context: RequestContext, volume_id: str) -> None:
        """Liberty's five bulk UPDATEs; ``updated_at`` is left as it was."""
        now = utcnow()
        with self.session() as session:
            statement = (
                sa.update(models.Volume)
                .where(models.Volume.id == volume_id)
                .values(status="deleted", deleted=True, deleted_at=now, migration_status=None)
                .execution_options(synchronize_session=False)
            )
            clause = read_deleted_clause(models.Volume, context.read_deleted)
            if clause is not None:
                statement = statement.where(clause)
            session.execute(statement)
            session.execute(
                sa.update(models.IscsiTarget)
                .where(models.IscsiTarget.volume_id == volume_id)
                .values(volume_id=None)
                .execution_options(synchronize_session=False)
            )
            for model in (models.VolumeMetadata, models.VolumeAdminMetadata, models.Transfer):
                self.retire_metadata(session, model, "volume_id", volume_id, now)

    # ------------------------------------------------------------ aggregates

    def volume_data_get_for_host(
        self, context: RequestContext, host: str, count_only: bool = False
    ) -> tuple[int, int] | int:
        if not isinstance(host, str):
            raise exception.InvalidInput(reason=f"host must be a string, not {type(host).__name__}")
        statement = self.model_query(
            context,
            models.Volume,
            func.count(models.Volume.id),
            func.sum(models.Volume.size),
            read_deleted="no",
        ).where(_host_clause(host))
        with self.session() as session:
            count, total = session.execute(statement).one()
        return int(count or 0) if count_only else (int(count or 0), int(total or 0))

    def volume_data_get_for_project(
        self, context: RequestContext, project_id: str, volume_type_id: str | None = None
    ) -> tuple[int, int]:
        statement = self.model_query(
            context,
            models.Volume,
            func.count(models.Volume.id),
            func.sum(models.Volume.size),
            read_deleted="no",
        ).where(models.Volume.project_id == project_id)
        if volume_type_id:
            statement = statement.where(models.Volume.volume_type_id == volume_type_id)
        with self.session() as session:
            count, total = session.execute(statement).one()
        return int(count or 0), int(total or 0)

    # ------------------------------------------------------------- migration

    def finish_volume_migration(
        self, context: RequestContext, src_vol_id: str, dest_vol_id: str
    ) -> tuple[Record, Record]:
        """Swap the columns as Liberty does (§4.8), then re-read both volumes so each
        record's nested type and group match its swapped ids."""
        now = utcnow()
        with self.session() as session:
            src = self.volume_row(session, context, src_vol_id)
            dest = self.volume_row(session, context, dest_vol_id)
            before_src, before_dest = columns("volume", src), columns("volume", dest)
            for key in column_names("volume"):
                if key in ("id", "provider_location"):
                    continue
                if key == "_name_id":
                    if not before_dest["_name_id"]:
                        dest._name_id = src.id
                    continue
                to_src, to_dest = before_dest[key], before_src[key]
                if key == "migration_status":
                    to_src, to_dest = None, "deleting"
                elif key == "display_description":
                    to_dest = f"migration src for {src.id}"
                elif key == "status":
                    to_dest = "deleting"
                setattr(src, key, to_src)
                setattr(dest, key, to_dest)
            src.updated_at = dest.updated_at = now
            session.flush()
            statement = (
                self.volume_query(context, extra_specs=True, project_only=True)
                .where(models.Volume.id.in_([src.id, dest.id]))
                .execution_options(populate_existing=True)
            )
            session.scalars(statement).unique().all()
            return self.volume_result(context, src), self.volume_result(context, dest)
