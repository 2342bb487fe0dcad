"""Quota rules shared by every backend: resources, defaults, and the pure parts of quota_reserve.

The storage steps of ``quota_reserve`` differ (one locked SQL transaction, or
conditional updates on a key-value store); the decisions do not, so they live
here once: when a usage row is refreshed, which deltas are over quota, and how
``OverQuota`` is built.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cinderdb import exception
from cinderdb.records import Field, Kind, check_int_range, coerce_value

DEFAULT_QUOTA_CLASS = "default"

#: Rows the migrations seed into ``quota_classes`` (021, 026, 047).
DEFAULT_QUOTA_CLASS_LIMITS: dict[str, int] = {
    "volumes": 10,
    "snapshots": 10,
    "gigabytes": 1000,
    "consistencygroups": 10,
    "per_volume_gigabytes": -1,
}

_PROJECT = Field("project_id", Kind.STRING, 255, nullable=False)


@dataclass(frozen=True)
class QuotaResource:
    """One reservable resource: ``volumes``, ``gigabytes_lvm``...

    ``sync`` names the function that recounts usage from what exists; per-type
    resources carry the type they count.
    """

    name: str
    sync: str | None
    volume_type_id: str | None = None
    volume_type_name: str | None = None


def default_resources(volume_types: Iterable[Mapping[str, Any]] = ()) -> dict[str, QuotaResource]:
    """Cinder's ``QUOTAS.resources`` plus ``CGQUOTAS``: the global resources and three per type."""
    resources = {
        "volumes": QuotaResource("volumes", "_sync_volumes"),
        "snapshots": QuotaResource("snapshots", "_sync_snapshots"),
        "gigabytes": QuotaResource("gigabytes", "_sync_gigabytes"),
        "consistencygroups": QuotaResource("consistencygroups", "_sync_consistencygroups"),
        "per_volume_gigabytes": QuotaResource("per_volume_gigabytes", None),
    }
    for volume_type in volume_types:
        for base, sync in (
            ("volumes", "_sync_volumes"),
            ("gigabytes", "_sync_gigabytes"),
            ("snapshots", "_sync_snapshots"),
        ):
            name = f"{base}_{volume_type['name']}"
            resources[name] = QuotaResource(name, sync, volume_type["id"], volume_type["name"])
    return resources


def usage_name(resource: QuotaResource) -> str:
    """The usage name a sync function reports for ``resource``.

    ``_sync_volumes`` reports ``volumes`` or ``volumes_<type name>``, and so on.
    """
    base = {
        "_sync_volumes": "volumes",
        "_sync_gigabytes": "gigabytes",
        "_sync_snapshots": "snapshots",
        "_sync_consistencygroups": "consistencygroups",
    }[resource.sync or ""]
    return f"{base}_{resource.volume_type_name}" if resource.volume_type_name else base


def as_quota_resource(name: str, resource: Any) -> QuotaResource:
    """Any resource object Cinder's quota engine passes, as a ``QuotaResource``.

    Cinder's ``ReservableResource`` has ``name`` and ``sync`` only; its
    ``VolumeTypeResource`` adds ``volume_type_id`` and ``volume_type_name``.
    Liberty reads the per-type attributes with ``getattr(res, ..., None)``, and
    so does this (``sync`` too: an ``AbsoluteResource`` has none).
    """
    if isinstance(resource, QuotaResource):
        return resource
    return QuotaResource(
        getattr(resource, "name", name),
        getattr(resource, "sync", None),
        getattr(resource, "volume_type_id", None),
        getattr(resource, "volume_type_name", None),
    )


def _integer(label: str, value: Any) -> int:
    """A quota integer: an int (not a bool) within MySQL's INT, as the columns it feeds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise exception.InvalidInput(reason=f"{label} must be an integer")
    check_int_range(label, value)
    return value


def check_reserve_arguments(
    resources: Mapping[str, Any],
    quotas: Mapping[str, int],
    deltas: Mapping[str, int],
    expire: Any,
    until_refresh: Any,
    max_age: Any,
) -> dict[str, QuotaResource]:
    """Refuse malformed quota_reserve arguments before anything is read or written; return
    the resources the deltas name, as ``QuotaResource``.

    Liberty crashes with a TypeError or writes garbage on these; here they are
    ``InvalidInput`` and nothing is stored. Every integer must fit MySQL's INT
    (a delta, a limit and ``until_refresh`` are INT columns; ``max_age``,
    Cinder's ``CONF.max_age``, is held to the same range), so the backends
    agree where MySQL's strict mode refuses a value.
    """
    if not all(isinstance(arg, Mapping) for arg in (resources, quotas, deltas)):
        raise exception.InvalidInput(reason="resources, quotas and deltas must be dicts")
    chosen: dict[str, QuotaResource] = {}
    for name, delta in deltas.items():
        _integer(f"delta for {name}", delta)
        resource = None if name not in resources else as_quota_resource(name, resources[name])
        if resource is None or resource.sync is None:
            raise exception.QuotaResourceUnknown(unknown=[name])
        if name not in quotas:
            raise exception.InvalidInput(reason=f"no quota limit given for {name}")
        chosen[name] = resource
    for name, limit in quotas.items():
        _integer(f"quota limit for {name}", limit)
    if not isinstance(expire, dt.datetime):
        raise exception.InvalidReservationExpiration(expire=expire)
    for label, value in (("until_refresh", until_refresh), ("max_age", max_age)):
        if value is not None:
            _integer(label, value)
    return chosen


def check_usage_range(usages: Mapping[str, Mapping[str, Any]]) -> None:
    """Usages as a call would store them must fit their INT columns (``InvalidInput``
    before anything is written): MySQL refuses an ``in_use`` or ``reserved`` past INT, so
    SQLite and the MagnetoDB design are made to refuse it too."""
    for name, usage in usages.items():
        for column in ("in_use", "reserved", "until_refresh"):
            value = usage.get(column)
            if value is not None:
                check_int_range(f"{column} of {name}", value)


def reservation_project(context: Any, project_id: str | None) -> str:
    """The project a reservation call acts on: the argument, else the context's.

    Liberty looks up ``project_id IS NULL`` for commit and rollback and fails
    with KeyError (quirk §14.11b); here the context's project is used, and a
    call that names no project at all is ``InvalidInput`` (Q1).
    """
    chosen = project_id if project_id is not None else context.project_id
    if chosen is None:
        raise exception.InvalidInput(reason="no project: pass project_id")
    return coerce_value(_PROJECT, chosen)


def reservation_uuids(reservations: Any) -> list[str]:
    """The uuids a commit or rollback was given, checked: a list of strings."""
    if isinstance(reservations, str | bytes) or not isinstance(reservations, Sequence):
        raise exception.InvalidInput(reason="reservations must be a list of uuids")
    if not all(isinstance(uuid, str) for uuid in reservations):
        raise exception.InvalidInput(reason="reservation uuids must be strings")
    return list(reservations)


def needs_refresh(
    usage: Mapping[str, Any] | None, max_age: int | None, now: dt.datetime
) -> tuple[bool, int | None]:
    """Whether quota_reserve recounts one usage, and the row's new ``until_refresh``.

    Liberty's order: no row, negative ``in_use``, ``until_refresh`` counting
    down to zero, then ``max_age``. Liberty's ``max_age`` test takes
    ``(updated_at - now).seconds``, which is wrong for nearly every age (quirk
    §14.11); this uses the real age in seconds.
    """
    if usage is None:
        return True, None
    until_refresh = usage.get("until_refresh")
    if usage["in_use"] < 0:
        return True, until_refresh
    if until_refresh is not None:
        until_refresh -= 1
        return until_refresh <= 0, until_refresh
    updated_at = usage.get("updated_at")
    if max_age and updated_at is not None:
        return (now - updated_at).total_seconds() >= max_age, until_refresh
    return False, until_refresh


def find_overs(
    quotas: Mapping[str, int], deltas: Mapping[str, int], usages: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """The resources a reservation would take over quota, sorted.

    Over means: a limit of 0 or more, a delta of 0 or more, and
    ``limit < delta + in_use + reserved``. Negative deltas are never over, so a
    project over its quota can always shrink.
    """
    overs = []
    for name, delta in deltas.items():
        limit = quotas[name]
        usage = usages[name]
        if limit >= 0 and delta >= 0 and limit < delta + usage["in_use"] + usage["reserved"]:
            overs.append(name)
    return sorted(overs)


def over_quota(
    overs: list[str], quotas: Mapping[str, int], usages: Mapping[str, Mapping[str, Any]]
) -> exception.OverQuota:
    """The ``OverQuota`` Liberty raises: usages of every resource of the project."""
    return exception.OverQuota(
        overs=overs,
        quotas=dict(quotas),
        usages={
            name: {"in_use": usage["in_use"], "reserved": usage["reserved"]}
            for name, usage in usages.items()
        },
    )
