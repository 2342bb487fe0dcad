"""The reservation cycle without transactions: quota_reserve, commit, rollback, expire.

Liberty's ``SELECT ... FOR UPDATE`` becomes conditional writes on the usage's
``version``, and one invariant holds at every step: *a live usage's
``reserved`` is the sum of the positive deltas of the reservations its
``reservations`` set lists, and every listed uuid is a live reservation*.
``quota_reserve`` reads the project's usages (one query), decides with
``cinderdb.quota``, writes the reservation items (one batch_write_item), then
applies them usage by usage, each update conditional on the version read and
listing the uuids in the same atomic write; on a conflict it undoes what it
applied and starts over. Commit, rollback and expire apply a reservation only
if its usage still lists it, and unlist it in the same conditional write, so
each reservation is settled exactly once however calls race. A crash between
two writes leaves live reservations that no usage lists: they were never
applied (or are settled already), and are retired without touching a usage.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cinderdb import exception
from cinderdb.base import new_id
from cinderdb.context import RequestContext
from cinderdb.magneto.core import MAX_ATTEMPTS, ItemWrite, MagnetoCore
from cinderdb.magneto.groups import group_count
from cinderdb.magneto.items import (
    Wire,
    changes_to_updates,
    from_item,
    n,
    s,
    ss,
    string_set,
    to_item,
)
from cinderdb.magneto.journal import UNDONE, Undo
from cinderdb.quota import (
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
from cinderdb.records import Field, Kind, Record, blank, coerce_value, utcnow
from magnetodb.errors import ConditionalCheckFailedException

USAGES = "quota_usages"
RESERVATIONS = "reservations"
#: A live reservation no usage lists is in flight (written by a quota_reserve that has
#: not applied it yet) or a crash's leftover; expire and destroy-all retire it only
#: once it is this old, so they never retire one a reserve is about to apply.
RESERVE_GRACE_SECONDS = 60
LIVE: Wire = {"deleted": {"value": n(0)}}
_EXPIRE = Field("expire", Kind.DATETIME, nullable=False)
_STAMP = "%Y-%m-%dT%H:%M:%S"
_USAGE_FIELDS = ("in_use", "reserved", "until_refresh")
LOG = logging.getLogger(__name__)


def is_live(item: Wire | None) -> bool:
    return item is not None and item.get("deleted", {}).get("N", "0") == "0"


def keys_ok(*values: Any) -> bool:
    """Item keys must be text; SQL simply finds no row for anything else."""
    return all(isinstance(value, str) for value in values)


def retired_updates(kind: str, now: dt.datetime) -> Wire:
    """Liberty's row-level delete (``CinderBase.delete``): ``updated_at`` changes too."""
    return changes_to_updates(kind, {"deleted": True, "deleted_at": now, "updated_at": now})


def retired_item(kind: str, item: Wire, now: dt.datetime) -> Wire:
    """A whole item as its soft delete leaves it (for batch_write_item puts)."""
    record = {**from_item(kind, item), "deleted": True, "deleted_at": now, "updated_at": now}
    return {**item, **to_item(kind, record)}


def version_is(item: Wire | None, key_attribute: str) -> Wire:
    """``expected`` for "still the item that was read" (absent: "still absent")."""
    if item is None:
        return {key_attribute: {"exists": False}}
    version = item.get("version")
    return {"version": {"value": version}} if version else {"version": {"exists": False}}


def young(record: Record, now: dt.datetime) -> bool:
    created = record["created_at"]
    return created is not None and (now - created).total_seconds() < RESERVE_GRACE_SECONDS


# ------------------------------------------------------------- usage counts


def volume_data(
    volumes: Iterable[Record], project_id: str, volume_type_id: str | None = None
) -> tuple[int, int]:
    """``(count, total size)`` of a project's live volumes, optionally of one type."""
    chosen = [
        v
        for v in volumes
        if v["project_id"] == project_id
        and not v["deleted"]
        and (not volume_type_id or v["volume_type_id"] == volume_type_id)
    ]
    return len(chosen), sum(v["size"] or 0 for v in chosen)


def snapshot_data(
    snapshots: Iterable[Record],
    volume_types: Mapping[str, str | None],
    project_id: str,
    volume_type_id: str | None = None,
) -> tuple[int, int]:
    """``(count, total volume_size)`` of a project's live snapshots; with a type, those whose
    *volume* (deleted or not) has it (Liberty joins ``snapshots`` to ``volumes``)."""
    chosen = [
        snap
        for snap in snapshots
        if snap["project_id"] == project_id
        and not snap["deleted"]
        and (not volume_type_id or volume_types.get(snap["volume_id"]) == volume_type_id)
    ]
    return len(chosen), sum(snap["volume_size"] or 0 for snap in chosen)


def _settled_views(
    usages: Mapping[str, Wire],
    pairs_by_resource: Mapping[str, Sequence[tuple[str, int]]],
    *,
    commit: bool,
) -> dict[str, dict[str, int]]:
    """``in_use`` and ``reserved`` of each live usage once the reservations it lists are
    settled (checked against INT before the first write, as MySQL would refuse them)."""
    views = {}
    for resource, item in usages.items():
        if not is_live(item):
            continue
        listed = string_set(item, "reservations")
        mine = [delta for uuid, delta in pairs_by_resource.get(resource, ()) if uuid in listed]
        record = from_item("quota_usage", item)
        views[resource] = {
            "in_use": record["in_use"] + (sum(mine) if commit else 0),
            "reserved": record["reserved"] - sum(d for d in mine if d >= 0),
        }
    return views


_SYNCS = ("_sync_volumes", "_sync_gigabytes", "_sync_snapshots", "_sync_consistencygroups")


class ReservationFunctions(MagnetoCore):
    """quota_reserve, reservation_commit, reservation_rollback and reservation_expire."""

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
        for attempt in range(MAX_ATTEMPTS):
            mark = self.savepoint()
            outcome = self._try_reserve(
                project_id, resources, quotas, deltas, expire, max_age, until_refresh or None
            )
            if outcome is not None:
                break
            self.undo_since(mark)  # a usage changed under this attempt: start over clean
            self.retrying(attempt)
        else:
            self.note_contention("give_up")
            raise exception.DBConflict(target=f"usages of {project_id}", attempts=MAX_ATTEMPTS)
        uuids, overs, views, unders = outcome
        if unders:
            LOG.warning("quota_reserve: usage of %s would drop below 0 in %s", unders, project_id)
        if overs:
            # Refreshed usages were stored first, as Liberty commits them (quirk §14.11d):
            # they stand although the call raises.
            self.keep_writes()
            raise over_quota(overs, quotas, views)
        return uuids

    def _try_reserve(
        self,
        project_id: str,
        resources: Mapping[str, QuotaResource],
        quotas: Mapping[str, int],
        deltas: Mapping[str, int],
        expire: dt.datetime,
        max_age: int | None,
        countdown: int | None,
    ) -> tuple[list[str], list[str], dict[str, Any], list[str]] | None:
        """One attempt: None when a usage changed under it (everything undone)."""
        now = utcnow()
        items = {item["resource"]["S"]: item for item in self.query_all(USAGES, project_id)}
        read = {r: from_item("quota_usage", i) for r, i in items.items() if is_live(i)}
        state = {r: dict(record) for r, record in read.items()}

        def usage_row(name: str) -> dict[str, Any]:
            if name not in state:
                state[name] = {
                    **blank("quota_usage"),
                    "project_id": project_id,
                    "resource": name,
                    "in_use": 0,
                    "reserved": 0,
                    "until_refresh": countdown,
                    "created_at": now,
                    "deleted": False,
                }
            return state[name]

        # Steps 2-3 of §8.2: which usages are recounted (decided first, so that the
        # counts they need are fetched together), then the counts.
        recount: list[QuotaResource] = []
        work = set(deltas)
        for name in deltas:
            if name not in work:
                continue
            current = read.get(name)
            refresh, remaining = needs_refresh(current, max_age, now)
            if current is not None:
                state[name]["until_refresh"] = remaining
            usage_row(name)
            if refresh:
                resource = resources[name]
                if resource.sync not in _SYNCS:
                    raise exception.QuotaResourceUnknown(unknown=[resource.name])
                recount.append(resource)
                work.discard(usage_name(resource))
        for synced, count in self._usage_counts(project_id, recount).items():
            row = usage_row(synced)
            row["in_use"] = count
            row["until_refresh"] = countdown
        unders = [n for n, d in deltas.items() if d < 0 and d + state[n]["in_use"] < 0]
        overs = find_overs(quotas, deltas, state)
        uuids: list[str] = []
        listed: dict[str, list[tuple[str, int]]] = {}
        if not overs:
            for name, delta in deltas.items():
                if delta > 0:
                    state[name]["reserved"] += delta
                uuid = new_id()
                uuids.append(uuid)
                listed.setdefault(name, []).append((uuid, delta))
        check_usage_range(state)
        if not overs:
            self.write_items(
                self.with_ordered_entries(
                    [
                        ItemWrite(
                            RESERVATIONS,
                            None,
                            to_item(
                                "reservation",
                                {
                                    "uuid": uuid,
                                    "project_id": project_id,
                                    "resource": name,
                                    "delta": delta,
                                    "expire": expire,
                                    "created_at": now,
                                    "deleted": False,
                                },
                            ),
                        )
                        for name, pairs in listed.items()
                        for uuid, delta in pairs
                    ]
                )
            )
        for name in sorted(state):
            if not self._write_usage(
                project_id, items.get(name), read.get(name), state[name], listed.get(name, []), now
            ):
                return None
        views = {
            name: {"in_use": r["in_use"], "reserved": r["reserved"]} for name, r in state.items()
        }
        return uuids, overs, views, unders

    def _write_usage(
        self,
        project_id: str,
        item: Wire | None,
        before: Record | None,
        after: Record,
        listed: Sequence[tuple[str, int]],
        now: dt.datetime,
    ) -> bool:
        """Store one usage's new state and list its new reservations, conditional on the
        version read; False on a conflict. A usage that neither changed nor gained a
        reservation is not written (Liberty writes only rows with net changes)."""
        changes: dict[str, Any] = {}
        if before is None:  # new, or replacing a deleted item
            changes = {
                k: after[k]
                for k in (
                    "in_use",
                    "reserved",
                    "until_refresh",
                    "created_at",
                    "deleted",
                    "deleted_at",
                    "updated_at",
                )
            }
        else:
            changes = {k: after[k] for k in _USAGE_FIELDS if after[k] != before[k]}
            if changes:
                changes["updated_at"] = now
        if not changes and not listed:
            return True
        updates = changes_to_updates("quota_usage", changes)
        uuids = [uuid for uuid, _ in listed]
        if before is None:
            updates["reservations"] = (
                {"action": "PUT", "value": ss(uuids)} if uuids else {"action": "DELETE"}
            )
        elif uuids:
            updates["reservations"] = {"action": "ADD", "value": ss(uuids)}
        updates["version"] = {"action": "ADD", "value": n(1)}
        expected = version_is(item, "project_id")
        resource = after["resource"]

        def compensate(old: Wire | None, new: Wire | None) -> Undo | None:
            """Restore the usage; if someone wrote it since, take this reserve's reservations
            back out of it instead (they must not stay listed once their items are gone)."""
            restore = self.restore(USAGES, old, new)
            if restore is None or not listed:
                return restore

            def run() -> str:
                try:
                    return restore.run()
                except ConditionalCheckFailedException:
                    self._settle_usage(
                        project_id, resource, None, listed, commit=False, stamp=False
                    )
                    return UNDONE

            return Undo(lambda: f"{restore.describe()}, or unlist {uuids}", run)

        return (
            self.update_if(USAGES, (project_id, resource), updates, expected, compensate=compensate)
            is not None
        )

    def _usage_counts(self, project_id: str, recount: Sequence[QuotaResource]) -> dict[str, int]:
        """The sync functions of ``recount``, with the items they need fetched together: the
        index queries they need, then one batch_get_item of volumes, snapshots and groups
        (and one more for the volumes of typed snapshots kept in another project)."""
        if not recount:
            return {}
        syncs = {r.sync for r in recount}
        typed = any(r.volume_type_id for r in recount)
        need_snapshots = bool(syncs & {"_sync_gigabytes", "_sync_snapshots"})
        need_volumes = bool(syncs & {"_sync_volumes", "_sync_gigabytes"}) or (
            need_snapshots and typed
        )
        wanted: dict[str, list[tuple[str]]] = {}
        if need_volumes:
            wanted["volumes"] = [(i,) for i in self.index_ids("volumes_by_project", project_id)]
        if need_snapshots:
            wanted["snapshots"] = [(i,) for i in self.index_ids("snapshots_by_project", project_id)]
        found = self.get_many(wanted) if any(wanted.values()) else {}
        volumes = [from_item("volume", i) for i in found.get("volumes", [])]
        snapshots = [from_item("snapshot", i) for i in found.get("snapshots", [])]
        volume_types = {v["id"]: v["volume_type_id"] for v in volumes}
        if typed and need_snapshots:
            others = sorted({snap["volume_id"] for snap in snapshots} - volume_types.keys())
            if others:
                for item in self.get_many({"volumes": [(i,) for i in others]})["volumes"]:
                    record = from_item("volume", item)
                    volume_types[record["id"]] = record["volume_type_id"]
        counts: dict[str, int] = {}
        for resource in recount:
            type_id = resource.volume_type_id
            if resource.sync == "_sync_volumes":
                count = volume_data(volumes, project_id, type_id)[0]
            elif resource.sync == "_sync_gigabytes":
                count = (
                    volume_data(volumes, project_id, type_id)[1]
                    + snapshot_data(snapshots, volume_types, project_id, type_id)[1]
                )
            elif resource.sync == "_sync_snapshots":
                count = snapshot_data(snapshots, volume_types, project_id, type_id)[0]
            else:
                count = group_count(self, project_id)
            counts[usage_name(resource)] = count
        return counts

    def reservation_commit(
        self, context: RequestContext, reservations: Sequence[str], project_id: str | None = None
    ) -> None:
        self._settle(context, reservations, project_id, commit=True)

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
        """The reservations (one batch_get_item: keyed by project, so another project's
        uuids are not found, as Q2 wants), then each usage they belong to (a conditional
        update per resource), then the reservations are retired (one batch_write_item).
        Unknown or settled uuids are ignored, as in Liberty."""
        uuids = reservation_uuids(reservations)
        project_id = reservation_project(context, project_id)
        if not uuids:
            return
        now = utcnow()
        found = self.get_many({RESERVATIONS: [(project_id, u) for u in uuids]})[RESERVATIONS]
        live = [item for item in found if is_live(item)]
        if not live:
            return
        by_resource: dict[str, list[tuple[str, int]]] = {}
        for item in live:
            record = from_item("reservation", item)
            by_resource.setdefault(record["resource"], []).append((record["uuid"], record["delta"]))
        usages = self.get_many({USAGES: [(project_id, r) for r in sorted(by_resource)]})[USAGES]
        first = {item["resource"]["S"]: item for item in usages}
        check_usage_range(_settled_views(first, by_resource, commit=commit))
        for resource, pairs in sorted(by_resource.items()):
            self._settle_usage(project_id, resource, first.get(resource), pairs, commit=commit)
        self.write_items(
            self.with_ordered_entries(
                [
                    ItemWrite(RESERVATIONS, item, retired_item("reservation", item, now))
                    for item in live
                ]
            )
        )

    def _settle_usage(
        self,
        project_id: str,
        resource: str,
        usage: Wire | None,
        pairs: Sequence[tuple[str, int]],
        *,
        commit: bool,
        stamp: bool = True,
        only_positive_stamp: bool = False,
    ) -> None:
        """Apply the reservations a usage still lists and unlist them, in one update
        conditional on the version read; re-read and redo on a conflict. A usage that lists
        none of them (settled already, never applied, or gone) is left alone."""
        fetched = usage is not None
        for attempt in range(MAX_ATTEMPTS):
            if not fetched:
                usage = self.get(USAGES, project_id, resource)
            fetched = False
            if not is_live(usage):
                return
            listed = string_set(usage, "reservations")  # type: ignore[arg-type]
            mine = [(u, d) for u, d in pairs if u in listed]
            if not mine:
                return
            record = from_item("quota_usage", usage)  # type: ignore[arg-type]
            changes = {"reserved": record["reserved"] - sum(d for _, d in mine if d >= 0)}
            if commit:
                changes["in_use"] = record["in_use"] + sum(d for _, d in mine)
            touched = any(d >= 0 for _, d in mine) if only_positive_stamp else True
            if stamp and touched:
                changes["updated_at"] = utcnow()
            updates = {
                **changes_to_updates("quota_usage", changes),
                "reservations": {"action": "DELETE", "value": ss(u for u, _ in mine)},
                "version": {"action": "ADD", "value": n(1)},
            }
            if (
                self.update_if(
                    USAGES, (project_id, resource), updates, version_is(usage, "project_id")
                )
                is not None
            ):
                return
            self.retrying(attempt)
        self.note_contention("give_up")
        raise exception.DBConflict(target=f"usage {project_id}/{resource}", attempts=MAX_ATTEMPTS)

    def reservation_expire(self, context: RequestContext) -> None:
        """Every live reservation whose ``expire`` has passed, across projects: a scan with a
        filter (with ``expire_index``: one query of ``reservations_by_expire`` and one
        batch_get_item of the reservations it names). Their usages come in one
        batch_get_item; each releases what it lists (conditional update); the reservations
        are retired in one batch_write_item (unlisted ones only once past the grace
        period)."""
        now = utcnow()
        expired = self._expired(now)
        if not expired:
            return
        groups: dict[tuple[str, str], list[tuple[str, int]]] = {}
        records = {}
        for item in expired:
            record = from_item("reservation", item)
            records[record["uuid"]] = (record, item)
            groups.setdefault((record["project_id"], record["resource"]), []).append(
                (record["uuid"], record["delta"])
            )
        usages = self.get_many({USAGES: sorted(groups)})[USAGES]
        first = {(i["project_id"]["S"], i["resource"]["S"]): i for i in usages}
        listed: set[str] = set()
        for (project_id, resource), pairs in sorted(groups.items()):
            usage = first.get((project_id, resource))
            if is_live(usage):
                listed |= string_set(usage, "reservations") & {u for u, _ in pairs}  # type: ignore[arg-type]
            self._settle_usage(
                project_id, resource, usage, pairs, commit=False, only_positive_stamp=True
            )
        self.write_items(
            self.with_ordered_entries(
                [
                    ItemWrite(RESERVATIONS, item, retired_item("reservation", item, now))
                    for uuid, (record, item) in records.items()
                    if uuid in listed or not young(record, now)
                ]
            )
        )

    def _expired(self, now: dt.datetime) -> list[Wire]:
        """The live reservations whose ``expire`` is at most ``now``: a scan of
        ``reservations`` on the seed; with ``expire_index`` a query of the entries up to
        ``now`` and a batch get of their reservations, each confirmed live and expired (an
        entry a crash left is skipped; the validators report it, repair removes it)."""
        stamp = now.strftime(_STAMP)
        rule = self.ordered.get(RESERVATIONS)
        if rule is None:
            scan_filter = {
                "deleted": {"comparison_operator": "EQ", "attribute_value_list": [n(0)]},
                "expire": {"comparison_operator": "LE", "attribute_value_list": [s(stamp)]},
            }
            return [item for item in self.scan_all(RESERVATIONS, scan_filter) if is_live(item)]
        entries = self.query_all(rule.table, rule.bucket, range_condition=rule.below(stamp))
        keys = [(e["project_id"]["S"], e["uuid"]["S"]) for e in entries]
        if not keys:
            return []
        found = self.get_many({RESERVATIONS: keys})[RESERVATIONS]
        return [
            item
            for item in found
            if is_live(item) and item.get("expire", {}).get("S", stamp + "~") <= stamp
        ]
