"""Quotas: project limits, class limits and usages (the reservation cycle is ``reservations.py``).

Limits (``quotas``, ``quota_classes``) and usages are items keyed by (project or
class, resource); a soft-deleted limit or usage item is replaced by the next
create (no read lists deleted ones). Creates are puts conditional on a free key,
updates and destroys update_items conditional on a live item.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cinderdb import exception
from cinderdb.base import quota_class_values
from cinderdb.context import RequestContext
from cinderdb.magneto.core import MAX_ATTEMPTS, ItemWrite
from cinderdb.magneto.items import Wire, changes_to_updates, from_item, n, string_set, to_item
from cinderdb.magneto.reservations import (
    LIVE,
    RESERVATIONS,
    USAGES,
    ReservationFunctions,
    is_live,
    keys_ok,
    retired_item,
    retired_updates,
    version_is,
    young,
)
from cinderdb.quota import DEFAULT_QUOTA_CLASS
from cinderdb.records import Record, blank, coerce_values, utcnow

QUOTAS = "quotas"
CLASSES = "quota_classes"


class QuotaFunctions(ReservationFunctions):
    """Quota limits, classes, usages and reservations."""

    # ---------------------------------------------------- limits (generic)

    def _limit(self, table: str, kind: str, owner: str, resource: str) -> Wire | None:
        item = self.get(table, owner, resource) if keys_ok(owner, resource) else None
        return item if is_live(item) else None

    def _limits(self, table: str, owner: str) -> dict[str, Any]:
        """``{resource: hard_limit}`` of the live items under one owner (one query)."""
        if not isinstance(owner, str):
            return {}
        items = self.query_all(table, owner)
        return {
            item["resource"]["S"]: from_item(_KIND[table], item)["hard_limit"]
            for item in items
            if is_live(item)
        }

    def _create_limit(self, table: str, record: Record) -> Record:
        """A conditional put: the key must be free, or hold a deleted item (replaced)."""
        kind = _KIND[table]
        owner, resource = record[_OWNER[table]], record["resource"]
        if owner is None:
            raise exception.InvalidInput(reason=f"{_OWNER[table]} is required")
        item = to_item(kind, record)
        hash_key = _OWNER[table]
        for attempt in range(MAX_ATTEMPTS):
            if self.put_if(table, item, {hash_key: {"exists": False}}):
                return record
            current = self.get(table, owner, resource)
            if is_live(current):
                raise exception.DBDuplicateEntry(
                    reason=f"{owner} already has a limit for {resource}"
                )
            if current is not None and self.put_if(table, item, {"deleted": {"value": n(1)}}):
                return record
            self.retrying(attempt)
        self.note_contention("give_up")
        raise exception.DBConflict(target=f"{table} {owner}/{resource}", attempts=MAX_ATTEMPTS)

    def _update_limit(
        self, table: str, owner: str, resource: str, hard_limit: int | None, not_found: Exception
    ) -> Record:
        """Read, then (if the limit changes) an update conditional on the value read."""
        kind = _KIND[table]
        for attempt in range(MAX_ATTEMPTS):
            item = self._limit(table, kind, owner, resource)
            if item is None:
                raise not_found
            current = from_item(kind, item)
            if current["hard_limit"] == hard_limit:
                return current
            updates = changes_to_updates(kind, {"hard_limit": hard_limit, "updated_at": utcnow()})
            old = item.get("hard_limit")
            expected = {**LIVE, "hard_limit": {"value": old} if old else {"exists": False}}
            new = self.update_if(table, (owner, resource), updates, expected, "ALL_NEW")
            if new is not None:
                return from_item(kind, new)
            self.retrying(attempt)
        self.note_contention("give_up")
        raise exception.DBConflict(target=f"{table} {owner}/{resource}", attempts=MAX_ATTEMPTS)

    def _destroy_limit(self, table: str, owner: str, resource: str, not_found: Exception) -> None:
        """One update_item conditional on a live item."""
        retired = retired_updates(_KIND[table], utcnow())
        if not keys_ok(owner, resource) or (
            self.update_if(table, (owner, resource), retired, LIVE) is None
        ):
            raise not_found

    def _retire_all(self, table: str, owner: str, now: dt.datetime) -> list[Wire]:
        """Soft-delete every live item under one owner: a query, then one batch_write_item
        of the retired items. Returns the items as they were."""
        items = (
            [item for item in self.query_all(table, owner) if is_live(item)]
            if isinstance(owner, str)
            else []
        )
        if items:
            kind = _KIND[table]
            self.write_items(
                [ItemWrite(table, item, retired_item(kind, item, now)) for item in items]
            )
        return items

    # ------------------------------------------------------ project limits

    def quota_get(self, context: RequestContext, project_id: str, resource: str) -> Record:
        item = self._limit(QUOTAS, "quota", project_id, resource)
        if item is None:
            raise exception.ProjectQuotaNotFound(project_id=project_id)
        return from_item("quota", item)

    def quota_get_all_by_project(self, context: RequestContext, project_id: str) -> dict[str, Any]:
        return {"project_id": project_id, **self._limits(QUOTAS, project_id)}

    def quota_create(
        self, context: RequestContext, project_id: str, resource: str, limit: int
    ) -> Record:
        values = coerce_values(
            "quota", {"project_id": project_id, "resource": resource, "hard_limit": limit}
        )
        record = {**blank("quota"), **values, "created_at": utcnow(), "deleted": False}
        return self._create_limit(QUOTAS, record)

    def quota_update(
        self, context: RequestContext, project_id: str, resource: str, limit: int
    ) -> Record:
        hard_limit = coerce_values("quota", {"hard_limit": limit})["hard_limit"]
        not_found = exception.ProjectQuotaNotFound(project_id=project_id)
        return self._update_limit(QUOTAS, project_id, resource, hard_limit, not_found)

    def quota_destroy(self, context: RequestContext, project_id: str, resource: str) -> None:
        not_found = exception.ProjectQuotaNotFound(project_id=project_id)
        self._destroy_limit(QUOTAS, project_id, resource, not_found)

    def quota_destroy_all_by_project(
        self, context: RequestContext, project_id: str, only_quotas: bool = False
    ) -> None:
        """Limits (query + batch write); then each usage, retired by a conditional update
        that keeps its ``reservations`` list; then the reservations those usages listed,
        and unlisted ones past the grace period (query + batch write)."""
        now = utcnow()
        self._retire_all(QUOTAS, project_id, now)
        if only_quotas or not isinstance(project_id, str):
            return
        listed: set[str] = set()
        for usage in self.query_all(USAGES, project_id):
            listed |= self._retire_usage(project_id, usage, now)
        doomed = []
        for item in self.query_all(RESERVATIONS, project_id):
            record = from_item("reservation", item)
            if not record["deleted"] and (record["uuid"] in listed or not young(record, now)):
                doomed.append(ItemWrite(RESERVATIONS, item, retired_item("reservation", item, now)))
        self.write_items(self.with_ordered_entries(doomed))

    def _retire_usage(self, project_id: str, usage: Wire | None, now: dt.datetime) -> set[str]:
        """Soft-delete one usage (conditional on its version); the uuids it listed."""
        resource = usage["resource"]["S"] if usage is not None else ""
        for attempt in range(MAX_ATTEMPTS):
            if not is_live(usage):
                return set()
            updates = {
                **retired_updates("quota_usage", now),
                "version": {"action": "ADD", "value": n(1)},
            }
            if (
                self.update_if(
                    USAGES, (project_id, resource), updates, version_is(usage, "project_id")
                )
                is not None
            ):
                return string_set(usage, "reservations")  # type: ignore[arg-type]
            self.retrying(attempt)
            usage = self.get(USAGES, project_id, resource)
        self.note_contention("give_up")
        raise exception.DBConflict(target=f"usage {project_id}/{resource}", attempts=MAX_ATTEMPTS)

    # ------------------------------------------------------- class limits

    def quota_class_get(self, context: RequestContext, class_name: str, resource: str) -> Record:
        item = self._limit(CLASSES, "quota_class", class_name, resource)
        if item is None:
            raise exception.QuotaClassNotFound(class_name=class_name)
        return from_item("quota_class", item)

    def quota_class_get_default(self, context: RequestContext) -> dict[str, Any]:
        return {"class_name": DEFAULT_QUOTA_CLASS, **self._limits(CLASSES, DEFAULT_QUOTA_CLASS)}

    def quota_class_get_all_by_name(
        self, context: RequestContext, class_name: str
    ) -> dict[str, Any]:
        return {"class_name": class_name, **self._limits(CLASSES, class_name)}

    def quota_class_create(
        self, context: RequestContext, class_name: str, resource: str, limit: int
    ) -> Record:
        values = quota_class_values(class_name, resource, limit)
        record = {**blank("quota_class"), **values, "created_at": utcnow(), "deleted": False}
        return self._create_limit(CLASSES, record)

    def quota_class_update(
        self, context: RequestContext, class_name: str, resource: str, limit: int
    ) -> Record:
        hard_limit = coerce_values("quota_class", {"hard_limit": limit})["hard_limit"]
        not_found = exception.QuotaClassNotFound(class_name=class_name)
        return self._update_limit(CLASSES, class_name, resource, hard_limit, not_found)

    def quota_class_destroy(self, context: RequestContext, class_name: str, resource: str) -> None:
        not_found = exception.QuotaClassNotFound(class_name=class_name)
        self._destroy_limit(CLASSES, class_name, resource, not_found)

    def quota_class_destroy_all_by_name(self, context: RequestContext, class_name: str) -> None:
        self._retire_all(CLASSES, class_name, utcnow())

    # -------------------------------------------------------------- usages

    def quota_usage_get(self, context: RequestContext, project_id: str, resource: str) -> Record:
        item = self.get(USAGES, project_id, resource) if keys_ok(project_id, resource) else None
        if not is_live(item):
            raise exception.QuotaUsageNotFound(project_id=project_id)
        record = from_item("quota_usage", item)  # type: ignore[arg-type]
        return {**record, "total": record["in_use"] + record["reserved"]}

    def quota_usage_get_all_by_project(
        self, context: RequestContext, project_id: str
    ) -> dict[str, Any]:
        items = self.query_all(USAGES, project_id) if isinstance(project_id, str) else []
        usages = {}
        for item in items:
            if is_live(item):
                record = from_item("quota_usage", item)
                usages[record["resource"]] = {
                    "in_use": record["in_use"],
                    "reserved": record["reserved"],
                }
        return {"project_id": project_id, **usages}


_KIND = {QUOTAS: "quota", CLASSES: "quota_class"}
_OWNER = {QUOTAS: "project_id", CLASSES: "class_name"}
