"""Consistency groups and cgsnapshots (brief §7): plain rows, no eager loads.

Both are project-scoped for users (``model_query(project_only=True)``), listed
under the context's ``read_deleted``, and soft-deleted with status 'deleted'.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import false, literal_column
from sqlalchemy.orm import Session

from cinderdb import exception
from cinderdb.base import NO_MATCH, new_id, plan_equality_filters
from cinderdb.context import RequestContext
from cinderdb.records import Record, coerce_values, utcnow
from cinderdb.sql.core import SQLCore
from cinderdb.sql.models import Cgsnapshot, ConsistencyGroup

_GROUP = "consistencygroup"
_CGSNAPSHOT = "cgsnapshot"


def _destroyed() -> dict[str, Any]:
    """Liberty's destroy: status 'deleted', soft-deleted, ``updated_at`` unchanged."""
    return {
        "status": "deleted",
        "deleted": True,
        "deleted_at": utcnow(),
        "updated_at": literal_column("updated_at"),
    }


def _changes(kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The columns an update sets; the id is the row's identity and stays."""
    changes = coerce_values(kind, values)
    changes.pop("id", None)
    return changes


def _with_defaults(row_values: dict[str, Any]) -> dict[str, Any]:
    """A new row's values: ``created_at`` now and ``deleted`` False unless the caller set them."""
    defaults = {"created_at": utcnow(), "deleted": False}
    return {**row_values, **{k: v for k, v in defaults.items() if row_values.get(k) is None}}


class GroupFunctions(SQLCore):
    """Consistency groups and cgsnapshots."""

    # ------------------------------------------------------------- helpers

    def _group(self, session: Session, context: RequestContext, group_id: str) -> ConsistencyGroup:
        statement = self.model_query(context, ConsistencyGroup, project_only=True).where(
            ConsistencyGroup.id == group_id
        )
        row = session.scalars(statement).first()
        if row is None:
            raise exception.ConsistencyGroupNotFound(consistencygroup_id=group_id)
        return row

    def _cgsnapshot(
        self, session: Session, context: RequestContext, cgsnapshot_id: str
    ) -> Cgsnapshot:
        statement = self.model_query(context, Cgsnapshot, project_only=True).where(
            Cgsnapshot.id == cgsnapshot_id
        )
        row = session.scalars(statement).first()
        if row is None:
            raise exception.CgSnapshotNotFound(cgsnapshot_id=cgsnapshot_id)
        return row

    def _list(self, statement: sa.Select, kind: str) -> list[Record]:
        with self.session() as session:
            return [self.columns_of(kind, row) for row in session.scalars(statement)]

    def _cgsnapshots(
        self,
        context: RequestContext,
        filters: Mapping[str, Any] | None,
        **restrictions: str,
    ) -> list[Record]:
        """Liberty's ``_cgsnapshot_get_all``: equality filters ANDed with the restrictions.

        An unknown filter key returns ``[]`` (Liberty). Liberty skips a falsy
        project or group restriction; here every restriction applies.
        """
        plan = plan_equality_filters(_CGSNAPSHOT, filters)
        if plan is NO_MATCH:
            return []
        statement = self.model_query(context, Cgsnapshot)
        for conditions in (plan.equal, restrictions):
            for column, value in conditions.items():
                attribute = getattr(Cgsnapshot, column)
                statement = statement.where(
                    attribute.is_(None) if value is None else attribute == value
                )
        return self._list(statement.order_by(Cgsnapshot.created_at, Cgsnapshot.id), _CGSNAPSHOT)

    # ------------------------------------------------------------- groups

    def consistencygroup_create(self, context: RequestContext, values: Mapping[str, Any]) -> Record:
        row_values = coerce_values(_GROUP, values)
        row_values["id"] = row_values.get("id") or new_id()
        with self.session() as session:
            session.add(ConsistencyGroup(**_with_defaults(row_values)))
            session.flush()
            # Re-read as Liberty does (project-scoped): a user naming another
            # project gets ConsistencyGroupNotFound, and the insert rolls back.
            return self.columns_of(_GROUP, self._group(session, context, row_values["id"]))

    def consistencygroup_get(self, context: RequestContext, consistencygroup_id: str) -> Record:
        with self.session() as session:
            return self.columns_of(_GROUP, self._group(session, context, consistencygroup_id))

    def consistencygroup_get_all(self, context: RequestContext) -> list[Record]:
        statement = self.model_query(context, ConsistencyGroup).order_by(
            ConsistencyGroup.created_at, ConsistencyGroup.id
        )
        return self._list(statement, _GROUP)

    def consistencygroup_get_all_by_project(
        self, context: RequestContext, project_id: str
    ) -> list[Record]:
        statement = (
            self.model_query(context, ConsistencyGroup)
            .where(ConsistencyGroup.project_id == project_id)
            .order_by(ConsistencyGroup.created_at, ConsistencyGroup.id)
        )
        return self._list(statement, _GROUP)

    def consistencygroup_update(
        self, context: RequestContext, consistencygroup_id: str, values: Mapping[str, Any]
    ) -> Record:
        changes = _changes(_GROUP, values)
        with self.session() as session:
            row = self._group(session, context, consistencygroup_id)
            for key, value in changes.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            return self.columns_of(_GROUP, row)

    def consistencygroup_destroy(self, context: RequestContext, consistencygroup_id: str) -> None:
        with self.session() as session:
            session.execute(
                sa.update(ConsistencyGroup)
                .where(
                    ConsistencyGroup.id == consistencygroup_id,
                    ConsistencyGroup.deleted == false(),
                )
                .values(_destroyed())
            )

    def consistencygroup_data_get_for_project(
        self, context: RequestContext, project_id: str
    ) -> tuple[int, int]:
        with self.session() as session:
            return (0, group_count(session, project_id))

    # --------------------------------------------------------- cgsnapshots

    def cgsnapshot_create(self, context: RequestContext, values: Mapping[str, Any]) -> Record:
        row_values = coerce_values(_CGSNAPSHOT, values)
        row_values["id"] = row_values.get("id") or new_id()
        group_id = row_values.get("consistencygroup_id")
        with self.session() as session:
            # The seed's foreign key: the group must exist (MySQL would refuse
            # the row with a raw error; SQLite would store a dangling id).
            group = sa.select(ConsistencyGroup.id).where(ConsistencyGroup.id == group_id)
            if group_id is None or session.scalar(group) is None:
                raise exception.ConsistencyGroupNotFound(consistencygroup_id=group_id)
            session.add(Cgsnapshot(**_with_defaults(row_values)))
            session.flush()
            return self.columns_of(
                _CGSNAPSHOT, self._cgsnapshot(session, context, row_values["id"])
            )

    def cgsnapshot_get(self, context: RequestContext, cgsnapshot_id: str) -> Record:
        with self.session() as session:
            return self.columns_of(_CGSNAPSHOT, self._cgsnapshot(session, context, cgsnapshot_id))

    def cgsnapshot_get_all(
        self, context: RequestContext, filters: Mapping[str, Any] | None = None
    ) -> list[Record]:
        return self._cgsnapshots(context, filters)

    def cgsnapshot_get_all_by_group(
        self, context: RequestContext, group_id: str, filters: Mapping[str, Any] | None = None
    ) -> list[Record]:
        return self._cgsnapshots(context, filters, consistencygroup_id=group_id)

    def cgsnapshot_get_all_by_project(
        self, context: RequestContext, project_id: str, filters: Mapping[str, Any] | None = None
    ) -> list[Record]:
        return self._cgsnapshots(context, filters, project_id=project_id)

    def cgsnapshot_update(
        self, context: RequestContext, cgsnapshot_id: str, values: Mapping[str, Any]
    ) -> Record:
        changes = _changes(_CGSNAPSHOT, values)
        with self.session() as session:
            row = self._cgsnapshot(session, context, cgsnapshot_id)
            for key, value in changes.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            return self.columns_of(_CGSNAPSHOT, row)

    def cgsnapshot_destroy(self, context: RequestContext, cgsnapshot_id: str) -> None:
        with self.session() as session:
            session.execute(
                sa.update(Cgsnapshot)
                .where(Cgsnapshot.id == cgsnapshot_id, Cgsnapshot.deleted == false())
                .values(_destroyed())
            )


def group_count(session: Session, project_id: str | None) -> int:
    """How many live consistency groups a project has (``_sync_consistencygroups`` too)."""
    statement = sa.select(sa.func.count(ConsistencyGroup.id)).where(
        ConsistencyGroup.project_id == project_id, ConsistencyGroup.deleted == false()
    )
    return int(session.scalar(statement) or 0)
