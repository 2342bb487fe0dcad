"""Quota commands: show, usage, defaults, update, delete, class-show, class-update.

They follow Liberty's ``cinder/api/contrib/quotas.py`` and ``quota_classes.py``
through ``QUOTAS.get_project_quotas`` / ``get_defaults`` / ``get_class_quotas``
(every one reads the ``resources`` property, i.e. ``volume_type_get_all``).
Update and delete act on the dataset's spare projects (limits, nothing
else), so they never starve the projects the rest of the mix works in.
"""

from __future__ import annotations

import random
from typing import Any

from bench.workload.catalog.base import Operation, Plan, Quotas, Target
from bench.workload.view import DatasetView, KeyChooser
from cinderdb import exception

RESOURCES = ("volumes", "snapshots", "gigabytes", "consistencygroups")


class QuotaShow(Operation):
    name = "quota_show"
    command = "cinder quota-show PROJECT"
    usages = False

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        return self.new_plan(rng, view.choose_project(keys))

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        quotas, user = Quotas(target.api), plan.user()
        resources = quotas.resources(user)
        limits = quotas.project_quotas(user, resources, plan.project_id, usages=self.usages)
        return {"resources": len(limits)}


class QuotaUsage(QuotaShow):
    name = "quota_usage"
    command = "cinder quota-usage PROJECT"
    usages = True


class QuotaDefaults(QuotaShow):
    name = "quota_defaults"
    command = "cinder quota-defaults PROJECT"

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        quotas, user = Quotas(target.api), plan.user()
        resources = quotas.resources(user)
        defaults = target.api.quota_class_get_default(user)
        return {"resources": len(resources), "defaults": len(defaults)}


def _spare_project(view: DatasetView, keys: KeyChooser, accept=lambda p: True):
    with view.lock:
        project = view.choose_project(keys, lambda p: p.spare and accept(p))
        if project is None or not view.hold(f"quota:{project.id}", exclusive=True):
            return None
        return project


class QuotaUpdate(Operation):
    name = "quota_update"
    command = "cinder quota-update --RESOURCE N PROJECT (admin)"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        project = _spare_project(view, keys)
        if project is None:
            return None
        return self.new_plan(
            rng,
            project,
            [f"quota:{project.id}"],
            resource=rng.choice(RESOURCES),
            limit=rng.randrange(5, 500),
        )

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        api, admin, args = target.api, plan.admin(), plan.args
        quotas = Quotas(api)
        quotas.project_quotas(admin, quotas.resources(admin), plan.project_id, usages=True)
        try:
            api.quota_update(admin, plan.project_id, args["resource"], args["limit"])
        except exception.ProjectQuotaNotFound:
            api.quota_create(admin, plan.project_id, args["resource"], args["limit"])
        quotas.project_quotas(admin, quotas.resources(admin), plan.project_id)
        return {}

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        with view.lock:
            view.project_by_id[plan.project_id or ""].has_limits = True


class QuotaDelete(Operation):
    name = "quota_delete"
    command = "cinder quota-delete PROJECT (admin)"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        project = _spare_project(view, keys, lambda p: p.has_limits)
        if project is None:
            return None
        return self.new_plan(rng, project, [f"quota:{project.id}"])

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        target.api.quota_destroy_all_by_project(plan.admin(), plan.project_id, only_quotas=True)
        return {}

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        with view.lock:
            view.project_by_id[plan.project_id or ""].has_limits = False


def _class_quotas(api: Any, context: Any, class_name: str) -> dict[str, Any]:
    """``QUOTAS.get_class_quotas``: resources, the class's rows, the default class."""
    Quotas(api).resources(context)
    rows = api.quota_class_get_all_by_name(context, class_name)
    api.quota_class_get_default(context)
    return rows


class QuotaClassShow(Operation):
    name = "quota_class_show"
    command = "cinder quota-class-show CLASS (admin)"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        if not view.quota_classes:
            return None
        class_name = rng.choice(view.quota_classes)
        return self.new_plan(rng, view.choose_project(keys), class_name=class_name)

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        rows = _class_quotas(target.api, plan.admin(), plan.args["class_name"])
        return {"resources": len(rows)}


class QuotaClassUpdate(Operation):
    name = "quota_class_update"
    command = "cinder quota-class-update --RESOURCE N CLASS (admin)"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        if not view.quota_classes:
            return None
        class_name = rng.choice(view.quota_classes)
        if not view.hold(f"quota_class:{class_name}", exclusive=True):
            return None
        return self.new_plan(
            rng,
            view.choose_project(keys),
            [f"quota_class:{class_name}"],
            class_name=class_name,
            resource=rng.choice(RESOURCES),
            limit=rng.randrange(10, 10_000),
        )

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        api, admin, args = target.api, plan.admin(), plan.args
        try:
            api.quota_class_update(admin, args["class_name"], args["resource"], args["limit"])
        except exception.QuotaClassNotFound:
            api.quota_class_create(admin, args["class_name"], args["resource"], args["limit"])
        return {"resources": len(_class_quotas(api, admin, args["class_name"]))}


OPERATIONS: tuple[Operation, ...] = (
    QuotaShow(),
    QuotaUsage(),
    QuotaDefaults(),
    QuotaUpdate(),
    QuotaDelete(),
    QuotaClassShow(),
    QuotaClassUpdate(),
)
