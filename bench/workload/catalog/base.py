"""What every catalog operation shares: plans, targets, Cinder's API-level errors, QUOTAS.

An operation is three steps so one plan can run on two backends back to back:

- ``plan(view, rng, keys)`` chooses targets and arguments from the live view
  and a seeded rng, *holds* its targets (no other worker picks them), and
  generates every id the operation will create, so two backends and a later
  replay get identical ids;
- ``execute(target, plan)`` runs Cinder Liberty's DB call sequence on one
  backend: it reads only the plan and what the DB returns, so the same plan
  on the same state makes the same calls; it raises Cinder's errors where the
  API would refuse;
- ``settle(view, plan, result)`` updates the view from a successful result.

``Quotas`` replays ``cinder.quota.QUOTAS``: limits from
``quota_get_all_by_project`` / the quota class / the ``default`` class / the
config defaults, then ``quota_reserve``, ``reservation_commit`` or
``reservation_rollback`` (whose failures Cinder logs and swallows).
"""

from __future__ import annotations

import abc
import contextlib
import datetime as dt
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bench.measure.outcomes import ApiError
from bench.workload.view import DatasetView, KeyChooser, ProjectState
from cinderdb import exception
from cinderdb.context import RequestContext
from cinderdb.quota import DEFAULT_QUOTA_CLASS_LIMITS, QuotaResource, default_resources
from cinderdb.records import utcnow

#: Cinder's ``reservation_expire`` default (seconds).
RESERVATION_EXPIRE = 86400
#: ``osapi_max_limit``: the limit every list call receives.
MAX_LIMIT = 1000
#: Where the idempotent ids of an operation's children come from (uuid5).
ID_NAMESPACE = uuid.UUID("6c1b3f7e-2a44-4c55-9a1d-5f0e2b7c9d10")


# ------------------------------------------------------------ API-level errors


class InvalidSnapshot(ApiError):
    pass


class InvalidConsistencyGroup(ApiError):
    pass


class VolumeAttached(ApiError):
    pass


class InvalidVolumeType(ApiError):
    pass


class InvalidVolumeAttachMode(ApiError):
    pass


def invalid_volume(reason: str) -> exception.InvalidVolume:
    return exception.InvalidVolume(reason=reason)


# ----------------------------------------------------------------- plans


@dataclass
class Plan:
    """One planned operation: who calls, on what, with which arguments (JSON-codec values)."""

    op: str
    project_id: str | None
    user_id: str | None
    request_id: str
    args: dict[str, Any]
    #: view keys held until the operation is settled
    holds: list[str] = field(default_factory=list)

    def user(self) -> RequestContext:
        """The caller's context (a fresh object per execution)."""
        return RequestContext(
            user_id=self.user_id, project_id=self.project_id, request_id=self.request_id
        )

    def admin(self) -> RequestContext:
        """``context.elevated()``: what Cinder's services and admin actions use."""
        return self.user().elevated()

    def to_dict(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "project_id": self.project_id,
            "user_id": self.user_id,
            "request_id": self.request_id,
            "args": self.args,
        }


@dataclass
class Target:
    """One backend as the catalog executes on it."""

    label: str
    #: a ``cinderdb`` backend or an ``Instrumented`` one
    api: Any
    #: QoS spec name -> its id on this backend (qos_specs_create makes its own ids)
    qos_ids: dict[str, str] = field(default_factory=dict)


#: The bits ``uuid.UUID(int=..., version=4)`` clears and sets (variant RFC 4122, version 4).
_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET = (0x8000 << 48) | (4 << 76)


def new_uuid(rng: random.Random) -> str:
    """A uuid4-shaped id from the plan's random stream (same seed, same ids).

    The text ``str(uuid.UUID(int=rng.getrandbits(128), version=4))`` gives, made
    without the UUID object: every operation plans one, so it is on the hot path.
    """
    h = "%032x" % (rng.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def child_id(plan: Plan, *parts: str) -> str:
    """An id derived from the plan: for children whose count is known only at execution."""
    return str(uuid.uuid5(ID_NAMESPACE, ":".join((plan.request_id, *parts))))


def reservation_expiry(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(seconds=RESERVATION_EXPIRE)


class Operation(abc.ABC):
    """A Cinder REST/CLI operation as its DB API call sequence (see the module docstring)."""

    #: the catalog name (``create``, ``snapshot_delete``...)
    name: ClassVar[str]
    #: the command it models, for reports (``cinder create``, ``nova volume-attach``)
    command: ClassVar[str]

    @abc.abstractmethod
    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        """A plan with its targets held, or None when nothing is eligible now."""

    @abc.abstractmethod
    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        """Run the call sequence on one backend; return what ``settle`` needs."""

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        """Record a successful outcome in the view; reads change nothing, so this
        default leaves the view as it is."""
        return

    def new_plan(
        self,
        rng: random.Random,
        project: ProjectState | None,
        holds: list[str] | None = None,
        **args: Any,
    ) -> Plan:
        """A plan for a user of ``project`` (or an admin without a project)."""
        user_id = rng.choice(project.users) if project and project.users else None
        return Plan(
            op=self.name,
            project_id=project.id if project else None,
            user_id=user_id,
            request_id=f"req-{new_uuid(rng)}",
            args=args,
            holds=holds or [],
        )


# ----------------------------------------------------------------- quotas


class Quotas:
    """``QUOTAS`` (volume-type aware) and ``CGQUOTAS`` of cinder/quota.py, on one backend."""

    def __init__(self, api: Any) -> None:
        self.api = api

    def resources(self, context: RequestContext) -> dict[str, QuotaResource]:
        """The ``resources`` property: global resources plus three per live volume type."""
        types = self.api.volume_type_get_all(context.elevated())
        return default_resources(types.values())

    def project_quotas(
        self,
        context: RequestContext,
        resources: Mapping[str, QuotaResource],
        project_id: str,
        usages: bool = False,
    ) -> dict[str, int]:
        """``DbQuotaDriver.get_project_quotas``: project row, class row, default class, config."""
        project = self.api.quota_get_all_by_project(context, project_id)
        if usages:
            self.api.quota_usage_get_all_by_project(context, project_id)
        quota_class = context.quota_class if project_id == context.project_id else None
        by_class = self.api.quota_class_get_all_by_name(context, quota_class) if quota_class else {}
        defaults = self.api.quota_class_get_default(context)
        return {
            name: project.get(name, by_class.get(name, defaults.get(name, _config_default(name))))
            for name in resources
        }

    def type_opts(
        self, context: RequestContext, deltas: dict[str, int], volume_type_id: str | None
    ) -> dict[str, int]:
        """``QUOTAS.add_volume_type_opts``: each of volumes/gigabytes/snapshots again as
        ``<name>_<type name>``."""
        if not volume_type_id:
            return deltas
        name = self.api.volume_type_get(context, volume_type_id, True)["name"]
        typed = dict(deltas)
        for base in ("volumes", "gigabytes", "snapshots"):
            if base in deltas:
                typed[f"{base}_{name}"] = deltas[base]
        return typed

    def limit_check(self, context: RequestContext, project_id: str, **values: int) -> None:
        """``QUOTAS.limit_check``: limit-only resources (per_volume_gigabytes)."""
        resources = self.resources(context)
        quotas = self.project_quotas(context, resources, project_id)
        overs = [name for name, value in values.items() if 0 <= quotas[name] < value]
        if overs:
            raise exception.OverQuota(overs=sorted(overs), quotas=quotas, usages={})

    def reserve(
        self,
        context: RequestContext,
        project_id: str,
        deltas: dict[str, int],
        expire: dt.datetime,
        cg: bool = False,
    ) -> list[str]:
        """``QUOTAS.reserve`` (``CGQUOTAS.reserve`` with ``cg``): limits, then quota_reserve."""
        if cg:
            resources = {"consistencygroups": default_resources()["consistencygroups"]}
        else:
            resources = self.resources(context)
        quotas = self.project_quotas(context, resources, project_id)
        return self.api.quota_reserve(
            context, resources, quotas, deltas, expire, 0, 0, project_id=project_id
        )

    def commit(self, context: RequestContext, reservations: list[str], project_id: str) -> None:
        """``QUOTAS.commit``: a failure is logged and swallowed by Cinder (usage heals later)."""
        try:
            self.api.reservation_commit(context, reservations, project_id=project_id)
        except exception.CinderException:
            return

    def rollback(self, context: RequestContext, reservations: list[str], project_id: str) -> None:
        """``QUOTAS.rollback``: likewise swallowed."""
        try:
            self.api.reservation_rollback(context, reservations, project_id=project_id)
        except exception.CinderException:
            return


def _config_default(resource: str) -> int:
    """The ``quota_*`` config defaults; per-type resources default to unlimited."""
    return DEFAULT_QUOTA_CLASS_LIMITS.get(resource, -1)


# ----------------------------------------------------- shared call sequences


def show_volume(api: Any, plan: Plan, volume_id: str) -> dict[str, Any]:
    """``cinder show`` (GET /volumes/{id}): volume_get, admin metadata, image metadata."""
    volume = api.volume_get(plan.user(), volume_id)
    api.volume_admin_metadata_get(plan.admin(), volume_id)
    with contextlib.suppress(exception.GlanceMetadataNotFound):  # the view extension's rule
        api.volume_glance_metadata_get(plan.user(), volume_id)
    return volume


def now_args() -> dict[str, Any]:
    """The time arguments a plan fixes up front (so both backends write the same values)."""
    now = utcnow()
    return {"now": now, "expire": reservation_expiry(now)}
