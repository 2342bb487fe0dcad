"""Volume types, extra specs, type access and type-QoS associations (brief §5).

Reads keep Liberty's query shape: the type row with its extra specs joined
(for users too, who then do not see them), the ``projects`` join only when
asked for, and for non-admins an EXISTS on ``volume_type_projects`` that makes
private types visible to the projects that have access.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import false, literal_column, true
from sqlalchemy.orm import Session, joinedload

from cinderdb import exception
from cinderdb.base import check_filters, is_uuid_like, new_id
from cinderdb.context import RequestContext
from cinderdb.records import (
    Field,
    Kind,
    Record,
    coerce_metadata,
    coerce_value,
    coerce_values,
    utcnow,
)
from cinderdb.sql.core import SQLCore, retry_on_deadlock
from cinderdb.sql.models import (
    QualityOfServiceSpecs,
    Volume,
    VolumeTypeExtraSpecs,
    VolumeTypeProjects,
    VolumeTypes,
)
from cinderdb.sql.qos import ROOT_KEY, qos_record
from cinderdb.sql.shapes import type_record

_NAME = Field("name", Kind.STRING, 255, nullable=False)
_PROJECT = Field("project_id", Kind.STRING, 255, nullable=False)
_IS_PUBLIC = Field("is_public", Kind.BOOLEAN)


def _soft_delete() -> dict[str, Any]:
    """Liberty's bulk soft delete: ``deleted``, ``deleted_at`` now, ``updated_at`` unchanged."""
    return {"deleted": True, "deleted_at": utcnow(), "updated_at": literal_column("updated_at")}


class VolumeTypeFunctions(SQLCore):
    """Volume types, extra specs, type access and type-QoS associations."""

    # ------------------------------------------------------------- queries

    def _type_query(
        self,
        context: RequestContext,
        read_deleted: str = "no",
        *,
        projects: bool = False,
    ) -> sa.Select:
        """Liberty's ``_volume_type_get_query``: extra specs joined; visibility for users."""
        statement = self.model_query(context, VolumeTypes, read_deleted=read_deleted).options(
            joinedload(VolumeTypes.extra_specs)
        )
        if projects:
            statement = statement.options(joinedload(VolumeTypes.projects))
        if not context.is_admin:
            statement = statement.where(
                sa.or_(
                    VolumeTypes.is_public == true(),
                    VolumeTypes.projects.any(VolumeTypeProjects.project_id == context.project_id),
                )
            )
        return statement

    @staticmethod
    def _record(context: RequestContext, row: VolumeTypes, projects: bool = False) -> Record:
        """A type dict; ``extra_specs`` only for admins (Liberty removes the key for users)."""
        return type_record(row, extra_specs=bool(context.is_admin), projects=projects)

    def _type_row(
        self,
        session: Session,
        context: RequestContext,
        type_id: str,
        inactive: bool = False,
        projects: bool = False,
    ) -> VolumeTypes:
        statement = self._type_query(context, "yes" if inactive else "no", projects=projects).where(
            VolumeTypes.id == type_id
        )
        row = session.scalars(statement).unique().first()
        if row is None:
            raise exception.VolumeTypeNotFound(volume_type_id=type_id)
        return row

    def _type_by_name_row(
        self, session: Session, context: RequestContext, name: str
    ) -> VolumeTypes:
        # No visibility filter (Liberty, quirk §14.8 kept) and the context's
        # read_deleted; should a live and a deleted type share the name, the
        # live one wins, then the newest.
        statement = (
            self.model_query(context, VolumeTypes)
            .options(joinedload(VolumeTypes.extra_specs))
            .where(VolumeTypes.name == name)
            .order_by(VolumeTypes.deleted, VolumeTypes.created_at.desc(), VolumeTypes.id)
        )
        row = session.scalars(statement).unique().first()
        if row is None:
            raise exception.VolumeTypeNotFoundByName(volume_type_name=name)
        return row

    @staticmethod
    def _live_type_id(session: Session, type_id: str) -> str:
        """The id of a live type, or ``VolumeTypeNotFound`` (the access functions' check)."""
        found = session.scalar(
            sa.select(VolumeTypes.id).where(
                VolumeTypes.id == type_id, VolumeTypes.deleted == false()
            )
        )
        if found is None:
            raise exception.VolumeTypeNotFound(volume_type_id=type_id)
        return found

    @staticmethod
    def _live_spec(session: Session, type_id: str, key: str) -> VolumeTypeExtraSpecs | None:
        statement = sa.select(VolumeTypeExtraSpecs).where(
            VolumeTypeExtraSpecs.volume_type_id == type_id,
            VolumeTypeExtraSpecs.key == key,
            VolumeTypeExtraSpecs.deleted == false(),
        )
        return session.scalars(statement.limit(1)).first()

    @staticmethod
    def _name_taken(session: Session, name: str, other_than: str | None = None) -> bool:
        statement = sa.select(VolumeTypes.id).where(
            VolumeTypes.name == name, VolumeTypes.deleted == false()
        )
        if other_than is not None:
            statement = statement.where(VolumeTypes.id != other_than)
        return session.scalar(statement.limit(1)) is not None

    # ------------------------------------------------------- types: write

    def volume_type_create(
        self,
        context: RequestContext,
        values: Mapping[str, Any],
        projects: Sequence[str] | None = None,
    ) -> Record:
        columns = coerce_values("volume_type", values)
        columns["name"] = coerce_value(_NAME, columns.get("name"))
        if columns.get("is_public") is None:
            columns.pop("is_public", None)
        specs = coerce_metadata(values.get("extra_specs") or {})
        access = list(dict.fromkeys(coerce_value(_PROJECT, p) for p in projects or ()))
        type_id = columns.get("id") or new_id()
        now = utcnow()
        defaults = {"created_at": now, "deleted": False}
        with self.session() as session:
            if self._name_taken(session, columns["name"]):
                raise exception.VolumeTypeExists(id=columns["name"])
            live_id = sa.select(VolumeTypes.id).where(
                VolumeTypes.id == type_id, VolumeTypes.deleted == false()
            )
            if session.scalar(live_id) is not None:
                raise exception.VolumeTypeExists(id=type_id)
            fresh = {k: v for k, v in defaults.items() if columns.get(k) is None}
            session.add(VolumeTypes(**{**columns, **fresh, "id": type_id}))
            session.flush()  # the children's foreign keys need the type row first
            session.add_all(
                VolumeTypeExtraSpecs(
                    volume_type_id=type_id, key=key, value=value, created_at=now, deleted=False
                )
                for key, value in specs.items()
            )
            session.add_all(
                VolumeTypeProjects(
                    volume_type_id=type_id, project_id=project, created_at=now, deleted=False
                )
                for project in access
            )
            session.flush()
            return self._record(context, self._type_row(session, context, type_id))

    def volume_type_update(
        self, context: RequestContext, volume_type_id: str, values: Mapping[str, Any]
    ) -> Record:
        # Liberty needs all three keys (KeyError otherwise, quirk §14.9): here a
        # missing key, like None, means "unchanged".
        if not isinstance(values, Mapping):
            raise exception.InvalidInput(reason="values must be a dict")
        wanted = {key: values[key] for key in ("name", "description", "is_public") if key in values}
        changes = {k: v for k, v in coerce_values("volume_type", wanted).items() if v is not None}
        with self.session() as session:
            row = self._type_row(session, context, volume_type_id)
            if "name" in changes and self._name_taken(session, changes["name"], volume_type_id):
                raise exception.VolumeTypeExists(id=changes["name"])
            if any(getattr(row, key) != value for key, value in changes.items()):
                for key, value in changes.items():
                    setattr(row, key, value)
                row.updated_at = utcnow()
                session.flush()
            return self._record(context, row)

    @retry_on_deadlock
    def volume_type_destroy(self, context: RequestContext, id: str) -> None:
        with self.session() as session:
            self._type_row(session, context, id)
            in_use = self.model_query(context, Volume, Volume.id).where(Volume.volume_type_id == id)
            if session.scalar(in_use.limit(1)) is not None:
                raise exception.VolumeTypeInUse(volume_type_id=id)
            session.execute(
                sa.update(VolumeTypes)
                .where(VolumeTypes.id == id, VolumeTypes.deleted == false())
                .values(_soft_delete())
            )
            session.execute(
                sa.update(VolumeTypeExtraSpecs)
                .where(
                    VolumeTypeExtraSpecs.volume_type_id == id,
                    VolumeTypeExtraSpecs.deleted == false(),
                )
                .values(_soft_delete())
            )

    # -------------------------------------------------------- types: read

    def volume_type_get_all(
        self,
        context: RequestContext,
        inactive: bool = False,
        filters: Mapping[str, Any] | None = None,
    ) -> dict[str, Record]:
        check_filters(filters)
        statement = self._type_query(context, "yes" if inactive else "no")
        is_public = coerce_value(_IS_PUBLIC, (filters or {}).get("is_public"))
        if is_public is not None:
            condition = VolumeTypes.is_public == is_public
            if is_public and context.project_id is not None:
                condition = sa.or_(
                    condition,
                    VolumeTypes.projects.any(VolumeTypeProjects.project_id == context.project_id),
                )
            statement = statement.where(condition)
        # By name; should deleted types share a live type's name (``inactive``),
        # the live one is ordered last so that it is the one the dict keeps.
        statement = statement.order_by(
            VolumeTypes.name, VolumeTypes.deleted.desc(), VolumeTypes.created_at, VolumeTypes.id
        )
        with self.session() as session:
            rows = session.scalars(statement).unique().all()
            return {row.name: self._record(context, row) for row in rows}

    def volume_type_get(
        self,
        context: RequestContext,
        id: str,
        inactive: bool = False,
        expected_fields: Sequence[str] | None = None,
    ) -> Record:
        projects = "projects" in (expected_fields or ())
        with self.session() as session:
            row = self._type_row(session, context, id, inactive, projects=projects)
            return self._record(context, row, projects=projects)

    def volume_type_get_by_name(self, context: RequestContext, name: str) -> Record:
        with self.session() as session:
            return self._record(context, self._type_by_name_row(session, context, name))

    def volume_types_get_by_name_or_id(
        self, context: RequestContext, volume_type_list: Sequence[str]
    ) -> list[Record]:
        if isinstance(volume_type_list, str) or not isinstance(volume_type_list, Sequence):
            raise exception.InvalidInput(reason="volume_type_list must be a list")
        result = []
        with self.session() as session:
            for entry in volume_type_list:
                if is_uuid_like(entry):
                    row = self._type_row(session, context, entry)
                else:
                    row = self._type_by_name_row(session, context, entry)
                result.append(self._record(context, row))
        return result

    # --------------------------------------------------------- QoS links

    def volume_type_qos_associations_get(
        self, context: RequestContext, qos_specs_id: str, inactive: bool = False
    ) -> list[Record]:
        statement = (
            self.model_query(context, VolumeTypes, read_deleted="yes" if inactive else "no")
            .where(VolumeTypes.qos_specs_id == qos_specs_id)
            .order_by(VolumeTypes.name, VolumeTypes.id)
        )
        with self.session() as session:
            return [
                type_record(row, extra_specs=False, projects=False)
                for row in session.scalars(statement)
            ]

    def volume_type_qos_associate(
        self, context: RequestContext, type_id: str, qos_specs_id: str
    ) -> None:
        with self.session() as session:
            row = self._type_row(session, context, type_id)
            # Liberty does not check the spec (MySQL then fails on the foreign
            # key, SQLite stores a dangling id): a live spec is required here.
            root = session.scalar(
                sa.select(QualityOfServiceSpecs.id).where(
                    QualityOfServiceSpecs.id == qos_specs_id,
                    QualityOfServiceSpecs.specs_id.is_(None),
                    QualityOfServiceSpecs.key == ROOT_KEY,
                    QualityOfServiceSpecs.deleted == false(),
                )
            )
            if root is None:
                raise exception.QoSSpecsNotFound(specs_id=qos_specs_id)
            row.qos_specs_id = qos_specs_id
            row.updated_at = utcnow()

    def volume_type_qos_disassociate(
        self, context: RequestContext, qos_specs_id: str, type_id: str
    ) -> None:
        with self.session() as session:
            self._type_row(session, context, type_id)
            session.execute(
                sa.update(VolumeTypes)
                .where(VolumeTypes.id == type_id, VolumeTypes.qos_specs_id == qos_specs_id)
                .values(qos_specs_id=None, updated_at=utcnow())
            )

    def volume_type_qos_disassociate_all(self, context: RequestContext, qos_specs_id: str) -> None:
        with self.session() as session:
            session.execute(
                sa.update(VolumeTypes)
                .where(VolumeTypes.qos_specs_id == qos_specs_id)
                .values(qos_specs_id=None, updated_at=utcnow())
            )

    def volume_type_qos_specs_get(
        self, context: RequestContext, type_id: str
    ) -> dict[str, Record | None]:
        # Liberty's three SELECTs: the type check, the type joined to its QoS
        # rows, and the root's children.
        with self.session() as session:
            self._type_row(session, context, type_id)
            statement = (
                sa.select(VolumeTypes)
                .options(joinedload(VolumeTypes.qos_specs))
                .where(VolumeTypes.id == type_id)
            )
            row = session.scalars(statement).unique().one()
            roots = [spec for spec in row.qos_specs if spec.key == ROOT_KEY and not spec.specs_id]
            if not roots:
                return {"qos_specs": None}
            return {"qos_specs": qos_record(roots[0], roots[0].specs)}

    # ------------------------------------------------------------- access

    def volume_type_access_get_all(self, context: RequestContext, type_id: str) -> list[Record]:
        with self.session() as session:
            type_id = self._live_type_id(session, type_id)
            rows = session.execute(
                sa.select(VolumeTypeProjects.volume_type_id, VolumeTypeProjects.project_id)
                .where(
                    VolumeTypeProjects.volume_type_id == type_id,
                    VolumeTypeProjects.deleted == false(),
                )
                .order_by(VolumeTypeProjects.project_id)
            )
            return [{"volume_type_id": t, "project_id": p} for t, p in rows]

    def volume_type_access_add(
        self, context: RequestContext, type_id: str, project_id: str
    ) -> Record:
        project_id = coerce_value(_PROJECT, project_id)
        exists = exception.VolumeTypeAccessExists(volume_type_id=type_id, project_id=project_id)
        try:
            with self.session() as session:
                live_id = self._live_type_id(session, type_id)
                if self._live_access(session, live_id, project_id):
                    raise exists
                session.add(
                    VolumeTypeProjects(
                        volume_type_id=live_id,
                        project_id=project_id,
                        created_at=utcnow(),
                        deleted=False,
                    )
                )
        except exception.DBDuplicateEntry as error:  # a concurrent add won the unique key
            raise exists from error
        return {"volume_type_id": live_id, "project_id": project_id}

    @staticmethod
    def _live_access(session: Session, type_id: str, project_id: str) -> bool:
        statement = sa.select(VolumeTypeProjects.id).where(
            VolumeTypeProjects.volume_type_id == type_id,
            VolumeTypeProjects.project_id == project_id,
            VolumeTypeProjects.deleted == false(),
        )
        return session.scalar(statement.limit(1)) is not None

    def volume_type_access_remove(
        self, context: RequestContext, type_id: str, project_id: str
    ) -> None:
        with self.session() as session:
            live_id = self._live_type_id(session, type_id)
            if not self._live_access(session, live_id, project_id):
                raise exception.VolumeTypeAccessNotFound(
                    volume_type_id=type_id, project_id=project_id
                )
            pair = (
                VolumeTypeProjects.volume_type_id == live_id,
                VolumeTypeProjects.project_id == project_id,
            )
            # The seed's unique key (type, project, deleted) has a Boolean
            # ``deleted``, so a second revocation of the same pair would collide
            # with the first one's row (quirk §14.9b). The older revocation is
            # purged first; Mitaka instead widened ``deleted`` to an integer.
            session.execute(sa.delete(VolumeTypeProjects).where(*pair, VolumeTypeProjects.deleted))
            session.execute(
                sa.update(VolumeTypeProjects)
                .where(*pair, VolumeTypeProjects.deleted == false())
                .values(_soft_delete())
            )

    # -------------------------------------------------------- extra specs

    def volume_type_extra_specs_get(
        self, context: RequestContext, volume_type_id: str
    ) -> dict[str, str]:
        statement = sa.select(VolumeTypeExtraSpecs.key, VolumeTypeExtraSpecs.value).where(
            VolumeTypeExtraSpecs.volume_type_id == volume_type_id,
            VolumeTypeExtraSpecs.deleted == false(),
        )
        with self.session() as session:
            return dict(session.execute(statement).all())

    def volume_type_extra_specs_delete(
        self, context: RequestContext, volume_type_id: str, key: str
    ) -> None:
        with self.session() as session:
            spec = self._live_spec(session, volume_type_id, key)
            if spec is None:
                raise exception.VolumeTypeExtraSpecsNotFound(
                    extra_specs_key=key, volume_type_id=volume_type_id
                )
            session.execute(
                sa.update(VolumeTypeExtraSpecs)
                .where(
                    VolumeTypeExtraSpecs.volume_type_id == volume_type_id,
                    VolumeTypeExtraSpecs.key == key,
                    VolumeTypeExtraSpecs.deleted == false(),
                )
                .values(_soft_delete())
            )

    def volume_type_extra_specs_update_or_create(
        self, context: RequestContext, volume_type_id: str, extra_specs: Mapping[str, str]
    ) -> dict[str, str]:
        specs = coerce_metadata(extra_specs)
        now = utcnow()
        with self.session() as session:
            # Liberty does not check the type (MySQL then fails on the foreign
            # key, SQLite stores orphans): a live type is required here.
            self._live_type_id(session, volume_type_id)
            for key, value in specs.items():
                spec = self._live_spec(session, volume_type_id, key)
                if spec is None:
                    session.add(
                        VolumeTypeExtraSpecs(
                            volume_type_id=volume_type_id,
                            key=key,
                            value=value,
                            created_at=now,
                            deleted=False,
                        )
                    )
                elif spec.value != value:
                    spec.value = value
                    spec.updated_at = now
        return specs
