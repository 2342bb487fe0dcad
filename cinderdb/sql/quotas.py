"""Quotas: limits, classes, usages, and the reservation cycle (brief §8).

``quota_reserve`` runs Liberty's algorithm in one transaction that first locks
the project's usage rows (``SELECT ... FOR UPDATE``); the decisions (when to
recount, which deltas are over) come from ``cinderdb.quota`` so both backends
make them alike. ``reservation_commit``/``_rollback``/``_expire`` lock usages
before reservations, always in that order, so they cannot deadlock each other.

On MySQL the reserve transaction runs at REPEATABLE READ: its locking read then
also locks the gap where the project's usage rows would be, so two first-time
reservations cannot both create a usage row for the same resource (one of them
deadlocks and is retried). That is the isolation Liberty ran under (MySQL's
default); the rest of the backend uses READ COMMITTED.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import false
from sqlalchemy.orm import Session

from cinderdb import exception
from cinderdb.base import new_id, quota_class_values
from cinderdb.context import RequestContext
from cinderdb.quota import (
    DEFAULT_QUOTA_CLASS,
    QuotaResource,
    check_reserve_arguments,
    check_usage_range,
    find_overs,
    needs_refresh,
    over_quota,
    reservation_project,
    reservation_uuids,
    usage_name,
)
from cinderdb.records import Field, Kind, Record, coerce_value, coerce_values, utcnow
from cinderdb.sql.core import SQLCore, retry_on_deadlock
from cinderdb.sql.groups import group_count
from cinderdb.sql.models import Quota, QuotaClass, QuotaUsage, Reservation, Snapshot, Volume

_EXPIRE = Field("expire", Kind.DATETIME, nullable=False)
LOG = logging.getLogger(__name__)


def _live(model: type) -> Any:
    return model.deleted == false()


def _usage_view(row: QuotaUsage) -> dict[str, Any]:
    """The usage fields the shared quota decisions read."""
    return {
        "in_use": row.in_use,
        "reserved": row.reserved,
        "until_refresh": row.until_refresh,
        "updated_at": row.updated_at,
    }


def _retired(now: dt.datetime) -> dict[str, Any]:
    """Liberty's row-level delete (``CinderBase.delete``): ``updated_at`` changes too."""
    return {"deleted": True, "deleted_at": now, "updated_at": now}


# ------------------------------------------------------------- usage counts


def volume_data(
    session: Session, project_id: str, volume_type_id: str | None = None
) -> tuple[int, int]:
    """``(count, total size)`` of a project's live volumes, optionally of one type."""
    statement = sa.select(sa.func.count(Volume.id), sa.func.sum(Volume.size)).where(
        Volume.project_id == project_id, _live(Volume)
    )
    if volume_type_id:
        statement = statement.where(Volume.volume_type_id == volume_type_id)
    count, total = session.execute(statement).one()
    return int(count or 0), int(total or 0)


def snapshot_data(
    session: Session, project_id: str, volume_type_id: str | None = None
) -> tuple[int, int]:
    """``(count, total volume_size)`` of a project's live snapshots; with a type, the
    snapshots whose *volume* has it (Liberty joins ``snapshots`` to ``volumes``)."""
    statement = sa.select(sa.func.count(Snapshot.id), sa.func.sum(Snapshot.volume_size)).where(
        Snapshot.project_id == project_id, _live(Snapshot)
    )
    if volume_type_id:
        statement = statement.join(Volume, Snapshot.volume_id == Volume.id).where(
            Volume.volume_type_id == volume_type_id
        )
    count, total = session.execute(statement).one()
    return int(count or 0), int(total or 0)


class QuotaFunctions(SQLCore):
    """Quota limits, classes, usages and reservations."""

    # ------------------------------------------------------ sync functions

    def _sync_volumes(
        self, session: Session, project_id: str, resource: QuotaResource
    ) -> dict[str, int]:
        count, _ = volume_data(session, project_id, resource.volume_type_id)
        return {usage_name(resource): count}

    def _sync_gigabytes(
        self, session: Session, project_id: str, resource: QuotaResource
    ) -> dict[str, int]:
        _, volume_gigabytes = volume_data(session, project_id, resource.volume_type_id)
        _, snapshot_gigabytes = snapshot_data(session, project_id, resource.volume_type_id)
        return {usage_name(resource): volume_gigabytes + snapshot_gigabytes}

    def _sync_snapshots(
        self, session: Session, project_id: str, resource: QuotaResource
    ) -> dict[str, int]:
        count, _ = snapshot_data(session, project_id, resource.volume_type_id)
        return {usage_name(resource): count}

    def _sync_consistencygroups(
        self, session: Session, project_id: str, resource: QuotaResource
    ) -> dict[str, int]:
        return {usage_name(resource): group_count(session, project_id)}

    def _sync(self, session: Session, project_id: str, resource: QuotaResource) -> dict[str, int]:
        """Recount one resource from what exists (Liberty's ``QUOTA_SYNC_FUNCTIONS``)."""
        sync = {
            "_sync_volumes": self._sync_volumes,
            "_sync_gigabytes": self._sync_gigabytes,
            "_sync_snapshots": self._sync_snapshots,
            "_sync_consistencygroups": self._sync_consistencygroups,
        }.get(resource.sync or "")
        if sync is None:
            raise exception.QuotaResourceUnknown(unknown=[resource.name])
        return sync(session, project_id, resource)

    # ------------------------------------------------------------ helpers

    def _lock_for_reserve(self, session: Session) -> None:
        if self.dialect == "mysql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})

    @staticmethod
    def _locked_usages(session: Session, project_id: str) -> dict[str, QuotaUsage]:
        statement = (
            sa.select(QuotaUsage)
            .where(QuotaUsage.project_id == project_id, _live(QuotaUsage))
            .order_by(QuotaUsage.id)
            .with_for_update()
        )
        return {row.resource: row for row in session.scalars(statement)}

    @staticmethod
    def _quota_row(session: Session, project_id: str, resource: str) -> Quota | None:
        statement = (
            sa.select(Quota)
            .where(Quota.project_id == project_id, Quota.resource == resource, _live(Quota))
            .order_by(Quota.id)
        )
        return session.scalars(statement.limit(1)).first()

    @staticmethod
    def _class_row(session: Session, class_name: str, resource: str) -> QuotaClass | None:
        statement = (
            sa.select(QuotaClass)
            .where(
                QuotaClass.class_name == class_name,
                QuotaClass.resource == resource,
                _live(QuotaClass),
            )
            .order_by(QuotaClass.id)
        )
        return session.scalars(statement.limit(1)).first()

    # ------------------------------------------------------ project limits

    def quota_get(self, context: RequestContext, project_id: str, resource: str) -> Record:
        with self.session() as session:
            row = self._quota_row(session, project_id, resource)
            if row is None:
                raise exception.ProjectQuotaNotFound(project_id=project_id)
            return self.columns_of("quota", row)

    def quota_get_all_by_project(self, context: RequestContext, project_id: str) -> dict[str, Any]:
        statement = (
            sa.select(Quota.resource, Quota.hard_limit)
            .where(Quota.project_id == project_id, _live(Quota))
            .order_by(Quota.id)
        )
        with self.session() as session:
            return {"project_id": project_id, **dict(session.execute(statement).all())}

    def quota_create(
        self, context: RequestContext, project_id: str, resource: str, limit: int
    ) -> Record:
        values = coerce_values(
            "quota", {"project_id": project_id, "resource": resource, "hard_limit": limit}
        )
        with self.session() as session:
            # Liberty adds a second live row (quirk §14.11a); one per resource here.
            if self._quota_row(session, values["project_id"], values["resource"]) is not None:
                raise exception.DBDuplicateEntry(
                    reason=f"project {project_id} already has a limit for {resource}"
                )
            row = Quota(**values, created_at=utcnow(), deleted=False)
            session.add(row)
            session.flush()
            return self.columns_of("quota", row)

    def quota_update(
        self, context: RequestContext, project_id: str, resource: str, limit: int
    ) -> Record:
        hard_limit = coerce_values("quota", {"hard_limit": limit})["hard_limit"]
        with self.session() as session:
            row = self._quota_row(session, project_id, resource)
            if row is None:
                raise exception.ProjectQuotaNotFound(project_id=project_id)
            if row.hard_limit != hard_limit:
                row.hard_limit = hard_limit
                row.updated_at = utcnow()
            return self.columns_of("quota", row)

    def quota_destroy(self, context: RequestContext, project_id: str, resource: str) -> None:
        with self.session() as session:
            row = self._quota_row(session, project_id, resource)
            if row is None:
                raise exception.ProjectQuotaNotFound(project_id=project_id)
            for key, value in _retired(utcnow()).items():
                setattr(row, key, value)

    @retry_on_deadlock
    def quota_destroy_all_by_project(
        self, context: RequestContext, project_id: str, only_quotas: bool = False
    ) -> None:
        now = utcnow()
        models: tuple[type, ...] = (Quota,) if only_quotas else (Quota, QuotaUsage, Reservation)
        with self.session() as session:
            for model in models:  # usages before reservations: the lock order of §1.4
                session.execute(
                    sa.update(model)
                    .where(model.project_id == project_id, _live(model))
                    .values(_retired(now))
                )

    # ------------------------------------------------------- class limits

    def quota_class_get(self, context: RequestContext, class_name: str, resource: str) -> Record:
        with self.session() as session:
            row = self._class_row(session, class_name, resource)
            if row is None:
                raise exception.QuotaClassNotFound(class_name=class_name)
            return self.columns_of("quota_class", row)

    def quota_class_get_default(self, context: RequestContext) -> dict[str, Any]:
        return self._class_limits(DEFAULT_QUOTA_CLASS)

    def quota_class_get_all_by_name(
        self, context: RequestContext, class_name: str
    ) -> dict[str, Any]:
        return self._class_limits(class_name)

    def _class_limits(self, class_name: str) -> dict[str, Any]:
        statement = (
            sa.select(QuotaClass.resource, QuotaClass.hard_limit)
            .where(QuotaClass.class_name == class_name, _live(QuotaClass))
            .order_by(QuotaClass.id)
        )
        with self.session() as session:
            return {"class_name": class_name, **dict(session.execute(statement).all())}

    def quota_class_create(
        self, context: RequestContext, class_name: str, resource: str, limit: int
    ) -> Record:
        values = quota_class_values(class_name, resource, limit)
        with self.session() as session:
            if self._class_row(session, values["class_name"], values["resource"]) is not None:
                raise exception.DBDuplicateEntry(
                    reason=f"quota class {class_name} already has a limit for {resource}"
                )
            row = QuotaClass(**values, created_at=utcnow(), deleted=False)
            session.add(row)
            session.flush()
            return self.columns_of("quota_class", row)

    def quota_class_update(
        self, context: RequestContext, class_name: str, resource: str, limit: int
    ) -> Record:
        hard_limit = coerce_values("quota_class", {"hard_limit": limit})["hard_limit"]
        with self.session() as session:
            row = self._class_row(session, class_name, resource)
            if row is None:
                raise exception.QuotaClassNotFound(class_name=class_name)
            if row.hard_limit != hard_limit:
                row.hard_limit = hard_limit
                row.updated_at = utcnow()
            return self.columns_of("quota_class", row)

    def quota_class_destroy(self, context: RequestContext, class_name: str, resource: str) -> None:
        with self.session() as session:
            row = self._class_row(session, class_name, resource)
            if row is None:
                raise exception.QuotaClassNotFound(class_name=class_name)
            for key, value in _retired(utcnow()).items():
                setattr(row, key, value)

    def quota_class_destroy_all_by_name(self, context: RequestContext, class_name: str) -> None:
        with self.session() as session:
            session.execute(
                sa.update(QuotaClass)
                .where(QuotaClass.class_name == class_name, _live(QuotaClass))
                .values(_retired(utcnow()))
            )

    # -------------------------------------------------------------- usages

    def quota_usage_get(self, context: RequestContext, project_id: str, resource: str) -> Record:
        statement = (
            sa.select(QuotaUsage)
            .where(
                QuotaUsage.project_id == project_id,
                QuotaUsage.resource == resource,
                _live(QuotaUsage),
            )
            .order_by(QuotaUsage.id)
        )
        with self.session() as session:
            row = session.scalars(statement.limit(1)).first()
            if row is None:
                raise exception.QuotaUsageNotFound(project_id=project_id)
            return {**self.columns_of("quota_usage", row), "total": row.in_use + row.reserved}

    def quota_usage_get_all_by_project(
        self, context: RequestContext, project_id: str
    ) -> dict[str, Any]:
        statement = (
            sa.select(QuotaUsage.resource, QuotaUsage.in_use, QuotaUsage.reserved)
            .where(QuotaUsage.project_id == project_id, _live(QuotaUsage))
            .order_by(QuotaUsage.id)
        )
        with self.session() as session:
            rows = session.execute(statement).all()
        usages = {
            resource: {"in_use": in_use, "reserved": reserved}
            for resource, in_use, reserved in rows
        }
        return {"project_id": project_id, **usages}

    # ---------------------------------------------------------- reservations

    @retry_on_deadlock
    def quota_reserve(
        self,
        context: RequestContext,
        resources: Mapping[str, QuotaResource],
        quotas: Mapping[str, int],
        deltas: Mapping[str, int],
        expire: dt.datetime,
        until_refresh: int | None,
        max_age: int | None,
        project_id: str | None = None,
    ) -> list[str]:
        resources = check_reserve_arguments(
            resources, quotas, deltas, expire, until_refresh, max_age
        )
        project_id = reservation_project(context, project_id)
        expire = coerce_value(_EXPIRE, expire)
        now = utcnow()
        uuids: list[str] = []
        with self.session() as session:
            self._lock_for_reserve(session)
            usages = self._locked_usages(session, project_id)
            existing = set(usages.values())
            self._refresh_usages(
                session, project_id, resources, deltas, usages, max_age, until_refresh or None, now
            )
            views = {name: _usage_view(row) for name, row in usages.items()}
            unders = [n for n, d in deltas.items() if d < 0 and d + views[n]["in_use"] < 0]
            overs = find_overs(quotas, deltas, views)
            if not overs:
                for name, delta in deltas.items():
                    if delta > 0:
                        usages[name].reserved += delta
            check_usage_range({name: _usage_view(row) for name, row in usages.items()})
            for row in existing:  # what SQLAlchemy's onupdate would do for Liberty
                if session.is_modified(row):
                    row.updated_at = now
            session.flush()  # new usage rows get the ids reservations point at
            if not overs:
                for name, delta in deltas.items():
                    uuid = new_id()
                    session.add(
                        Reservation(
                            uuid=uuid,
                            usage_id=usages[name].id,
                            project_id=project_id,
                            resource=name,
                            delta=delta,
                            expire=expire,
                            created_at=now,
                            deleted=False,
                        )
                    )
                    uuids.append(uuid)
            views = {name: _usage_view(row) for name, row in usages.items()}
        if unders:
            LOG.warning("quota_reserve: usage of %s would drop below 0 in %s", unders, project_id)
        if overs:
            # After the commit, as Liberty: refreshed usages persist (quirk §14.11d).
            raise over_quota(overs, quotas, views)
        return uuids

    def _refresh_usages(
        self,
        session: Session,
        project_id: str,
        resources: Mapping[str, QuotaResource],
        deltas: Mapping[str, int],
        usages: dict[str, QuotaUsage],
        max_age: int | None,
        countdown: int | None,
        now: dt.datetime,
    ) -> None:
        """Steps 2-3 of §8.2: create missing usage rows, count ``until_refresh`` down, and
        recount (sync) the resources that need it; ``usages`` gains the new rows."""

        def usage_row(name: str) -> QuotaUsage:
            if name not in usages:
                usages[name] = QuotaUsage(
                    project_id=project_id,
                    resource=name,
                    in_use=0,
                    reserved=0,
                    until_refresh=countdown,
                    created_at=now,
                    deleted=False,
                )
                session.add(usages[name])
            return usages[name]

        work = set(deltas)
        for name in deltas:
            if name not in work:
                continue  # recounted already, by another resource's sync
            current = usages.get(name)
            view = None if current is None else _usage_view(current)
            refresh, remaining = needs_refresh(view, max_age, now)
            if current is not None:
                current.until_refresh = remaining
            usage_row(name)
            if refresh:
                for synced, count in self._sync(session, project_id, resources[name]).items():
                    row = usage_row(synced)
                    row.in_use = count
                    row.until_refresh = countdown
                    work.discard(synced)

    @retry_on_deadlock
    def reservation_commit(
        self, context: RequestContext, reservations: Sequence[str], project_id: str | None = None
    ) -> None:
        self._settle(context, reservations, project_id, commit=True)

    @retry_on_deadlock
    def reservation_rollback(
        self, context: RequestContext, reservations: Sequence[str], project_id: str | None = None
    ) -> None:
        self._settle(context, reservations, project_id, commit=False)

    def _settle(
        self,
        context: RequestContext,
        reservations: Sequence[str],
        project_id: str | None,
        *,
        commit: bool,
    ) -> None:
        """Commit (reserved → in_use) or roll back (release reserved) reservations.

        Unknown or already settled uuids are ignored, as in Liberty. Only the
        project's own reservations are settled: Liberty matches uuids in every
        project and then applies them to this project's usages by resource name.
        """
        uuids = reservation_uuids(reservations)
        project_id = reservation_project(context, project_id)
        if not uuids:
            return
        now = utcnow()
        with self.session() as session:
            usages = self._locked_usages(session, project_id)
            statement = (
                sa.select(Reservation)
                .where(
                    Reservation.uuid.in_(uuids),
                    Reservation.project_id == project_id,
                    _live(Reservation),
                )
                .order_by(Reservation.id)
                .with_for_update()
            )
            for reservation in session.scalars(statement):
                usage = usages.get(reservation.resource)
                if usage is not None:
                    if reservation.delta >= 0:
                        usage.reserved -= reservation.delta
                    if commit:
                        usage.in_use += reservation.delta
                    usage.updated_at = now
                for key, value in _retired(now).items():
                    setattr(reservation, key, value)
            check_usage_range({name: _usage_view(row) for name, row in usages.items()})

    @retry_on_deadlock
    def reservation_expire(self, context: RequestContext) -> None:
        # Liberty updates the usages without locking them, so a concurrent
        # reserve can lose an update. Here the usages are locked first, then
        # the reservations, as commit and rollback do. Timestamps are whole
        # seconds, so "expired" is ``expire <= now`` (Liberty: ``<`` in µs).
        now = utcnow()
        expired = sa.select(Reservation.usage_id).where(
            _live(Reservation), Reservation.expire <= now
        )
        with self.session() as session:
            usage_ids = sorted(set(session.scalars(expired)))
            if not usage_ids:
                return
            usages = {
                row.id: row
                for row in session.scalars(
                    sa.select(QuotaUsage)
                    .where(QuotaUsage.id.in_(usage_ids), _live(QuotaUsage))
                    .order_by(QuotaUsage.id)
                    .with_for_update()
                )
            }
            locked = (
                sa.select(Reservation)
                .where(
                    Reservation.usage_id.in_(usage_ids),
                    _live(Reservation),
                    Reservation.expire <= now,
                )
                .order_by(Reservation.id)
                .with_for_update()
            )
            for reservation in session.scalars(locked):
                usage = usages.get(reservation.usage_id)
                if usage is not None and reservation.delta >= 0:
                    usage.reserved -= reservation.delta
                    usage.updated_at = now
                for key, value in _retired(now).items():
                    setattr(reservation, key, value)
