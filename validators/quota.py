"""Quota invariants on any backend (the Jepsen bank checker, for Cinder's quota usages).

For each project and resource with a live usage row:

- **in_use equals what exists** (``usage_mismatch``, field ``in_use``): the
  count or size sum of the project's live volumes, snapshots and groups, with
  the definitions of Cinder's sync functions (``cinderdb.quota``): ``volumes``
  and ``gigabytes`` count live volumes (gigabytes adds the ``volume_size`` of
  live snapshots), ``snapshots`` live snapshots, ``consistencygroups`` live
  groups; ``<resource>_<type name>`` the same for one volume type, a snapshot
  having the type of its *volume* (Liberty joins snapshots to volumes);
- **reserved equals the live reservations** (``usage_mismatch``, field
  ``reserved``): the sum of the positive deltas of the project's live
  reservations of that resource;
- **no committed usage exceeds its limit** (``over_quota``): ``in_use`` <= the
  project's limit, else the ``default`` class's, else the configured default
  (a negative limit is unlimited).

Everything but the reservations is read through the DB API
(``validators.state``), so the check is backend-neutral. The API has no read
for reservations, so each backend kind has a small reader (``RESERVATIONS``).
On MagnetoDB the design's own definition applies (docs/magnetodb-design.md,
"the reservation cycle"): a reservation counts when its item is live *and* its
usage lists it in the ``reservations`` set (an unlisted live item was never
applied, or is settled and awaits retirement); and every listed uuid must be
a live reservation of that project and resource (``usage_mismatch``, field
``reservations``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cinderdb.context import RequestContext, get_admin_context
from cinderdb.quota import DEFAULT_QUOTA_CLASS_LIMITS
from validators.findings import OVER_QUOTA, USAGE_MISMATCH, CheckSummary, Finding

#: (project, resource) -> value
Counts = dict[tuple[str, str], int]


@dataclass
class Reservations:
    """What a backend's reservations say about its usages."""

    #: (project, resource) -> sum of the positive deltas of the counted reservations
    reserved: Counts = field(default_factory=lambda: defaultdict(int))
    #: (project, resource, uuid, why): a usage lists a uuid that is no live reservation of it
    bad_listings: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: live reservations that count for no usage (MagnetoDB: unlisted; informational)
    uncounted: int = 0
    projects: set[str] = field(default_factory=set)


def sql_reservations(backend: Any) -> Reservations:
    """SQL: every reservation row with ``deleted`` false counts for its project and resource."""
    import sqlalchemy as sa

    from cinderdb.sql.models import Reservation

    found = Reservations()
    statement = sa.select(Reservation.project_id, Reservation.resource, Reservation.delta).where(
        Reservation.deleted == sa.false()
    )
    with backend.session() as session:
        for project, resource, delta in session.execute(statement):
            found.reserved[(project, resource)] += max(delta, 0)
            found.projects.add(project)
    return found


def magnetodb_reservations(backend: Any) -> Reservations:
    """MagnetoDB: the reservations each live usage lists (they must be live and its own)."""
    from cinderdb.magneto.items import from_item, string_set

    found = Reservations()
    live: dict[tuple[str, str], dict[str, Any]] = {}
    for item in backend.scan_all("reservations"):
        record = from_item("reservation", item)
        if not record["deleted"]:
            live[(record["project_id"], record["uuid"])] = record
    listed: set[tuple[str, str]] = set()
    for item in backend.scan_all("quota_usages"):
        usage = from_item("quota_usage", item)
        if usage["deleted"]:
            continue
        project, resource = usage["project_id"], usage["resource"]
        found.projects.add(project)
        for uuid in sorted(string_set(item, "reservations")):
            listed.add((project, uuid))
            record = live.get((project, uuid))
            if record is None:
                found.bad_listings.append((project, resource, uuid, "no live reservation"))
            elif record["resource"] != resource:
                why = f"a reservation of {record['resource']}"
                found.bad_listings.append((project, resource, uuid, why))
            else:
                found.reserved[(project, resource)] += max(record["delta"], 0)
    found.uncounted = len(set(live) - listed)
    return found


#: backend ``name`` -> its reservation reader
RESERVATIONS: dict[str, Callable[[Any], Reservations]] = {
    "sql": sql_reservations,
    "magnetodb": magnetodb_reservations,
}


# ------------------------------------------------------------------- existence


def _listed(answer: Any) -> list[dict[str, Any]]:
    return list(answer.values()) if isinstance(answer, dict) else list(answer)


def existing_usage(api: Any, context: RequestContext | None = None) -> tuple[Counts, set[str]]:
    """What the sync functions would count, per (project, usage name), and the projects
    that own anything."""
    everything = context or get_admin_context(read_deleted="yes")
    volumes = api.volume_get_all(everything, None, None)
    snapshots = api.snapshot_get_all(everything)
    groups = api.consistencygroup_get_all(everything)
    type_names = {t["id"]: t["name"] for t in _listed(api.volume_type_get_all(everything, True))}
    for volume in volumes:  # a type gone from the by-name listing (a deleted namesake)
        type_id = volume["volume_type_id"]
        if type_id and type_id not in type_names:
            type_names[type_id] = api.volume_type_get(everything, type_id, True)["name"]
    volume_types = {v["id"]: v["volume_type_id"] for v in volumes}
    counts: Counts = defaultdict(int)
    projects: set[str] = set()

    def add(project: str, base: str, amount: int, type_id: str | None) -> None:
        counts[(project, base)] += amount
        name = type_names.get(type_id) if type_id else None
        if name is not None:
            counts[(project, f"{base}_{name}")] += amount

    for volume in volumes:
        projects.add(volume["project_id"])
        if not volume["deleted"]:
            add(volume["project_id"], "volumes", 1, volume["volume_type_id"])
            add(volume["project_id"], "gigabytes", volume["size"] or 0, volume["volume_type_id"])
    for snapshot in snapshots:
        projects.add(snapshot["project_id"])
        if not snapshot["deleted"]:
            type_id = volume_types.get(snapshot["volume_id"])
            add(snapshot["project_id"], "snapshots", 1, type_id)
            add(snapshot["project_id"], "gigabytes", snapshot["volume_size"] or 0, type_id)
    for group in groups:
        projects.add(group["project_id"])
        if not group["deleted"]:
            counts[(group["project_id"], "consistencygroups")] += 1
    projects.discard(None)  # type: ignore[arg-type]
    return counts, projects


# ---------------------------------------------------------------------- checks


@dataclass
class QuotaResult:
    """The quota invariants of one backend."""

    label: str
    checks: list[CheckSummary]
    findings: list[Finding]
    seconds: float
    usages: int = 0
    unlisted_reservations: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings


def _limit(limits: dict[str, Any], defaults: dict[str, Any], resource: str) -> int:
    if resource in limits:
        return int(limits[resource])
    if resource in defaults:
        return int(defaults[resource])
    return DEFAULT_QUOTA_CLASS_LIMITS.get(resource, -1)


def check_quotas(
    api: Any,
    label: str | None = None,
    projects: Iterable[str] = (),
    reservations: Callable[[Any], Reservations] | None = None,
) -> QuotaResult:
    """The three invariants (module docstring) on one backend, for every project that owns
    anything, has reservations, or is named in ``projects`` (e.g. ``Scope.projects``)."""
    started = time.perf_counter()
    label = label or api.side
    reader = reservations or RESERVATIONS[api.side]
    ctx = get_admin_context()
    exists, owners = existing_usage(api)
    found = reader(api)
    everyone = sorted(set(projects) | owners | found.projects)
    defaults = api.quota_class_get_default(ctx)
    names = ("in_use", "reserved", "limit", "reservations_set")
    checks = {name: CheckSummary(f"quota:{label}:{name}", "quota") for name in names}
    findings: list[Finding] = []

    def finding(check: str, cls: str, key: dict, field: str, expected: Any, actual: Any) -> None:
        findings.append(
            Finding(f"quota:{label}", cls, "quota_usages", key, field, expected, actual)
        )
        _bump(checks[check], cls)

    usages = 0
    for project in everyone:
        listed = api.quota_usage_get_all_by_project(ctx, project)
        limits = api.quota_get_all_by_project(ctx, project)
        for resource in sorted(r for r in listed if r != "project_id"):
            usages += 1
            key = {"project_id": project, "resource": resource}
            in_use, reserved = listed[resource]["in_use"], listed[resource]["reserved"]
            for name in ("in_use", "reserved", "limit"):
                checks[name].checked += 1
            expected_use = exists.get((project, resource), 0)
            if in_use != expected_use:
                finding("in_use", USAGE_MISMATCH, key, "in_use", expected_use, in_use)
            expected_reserved = found.reserved.get((project, resource), 0)
            if reserved != expected_reserved:
                finding("reserved", USAGE_MISMATCH, key, "reserved", expected_reserved, reserved)
            limit = _limit(limits, defaults, resource)
            if 0 <= limit < in_use:
                finding("limit", OVER_QUOTA, key, "in_use", limit, in_use)
    for project, resource, uuid, why in found.bad_listings:
        key = {"project_id": project, "resource": resource}
        finding("reservations_set", USAGE_MISMATCH, key, "reservations", why, uuid)
    if api.side != "magnetodb":
        del checks["reservations_set"]
    else:
        checks["reservations_set"].checked = usages
    seconds = time.perf_counter() - started
    for check in checks.values():
        check.seconds = round(seconds, 3)
    return QuotaResult(label, list(checks.values()), findings, seconds, usages, found.uncounted)


def _bump(check: CheckSummary, finding_class: str) -> None:
    """Count a quota finding on its check row."""
    setattr(check, finding_class, getattr(check, finding_class) + 1)
