"""``cinder list``: plain, filtered, paged, and an admin's all-tenants list.

``volume_api.get_all`` elevates the context, so a user's list runs
``volume_get_all_by_project`` as admin (the admin-metadata join is there);
the REST layer always passes a limit (``osapi_max_limit``), adds
``no_migration_targets`` for non-admins, and sorts by ``created_at desc`` by
default. Liberty 7.0.0's detail view then reads every image property the
caller may see (``volume_glance_metadata_get_all``), not only the page's.
"""

from __future__ import annotations

import random
from typing import Any

from bench.workload.catalog.base import MAX_LIMIT, Operation, Plan, Target
from bench.workload.datasets import metadata_value, volume_display_name
from bench.workload.view import DatasetView, KeyChooser

SORT_KEYS = ("created_at", "display_name", "size", "status", "id", "updated_at")
STATUSES = ("available", "in-use", "error")


def _list(api: Any, plan: Plan, limit: int, filters: dict[str, Any], marker: str | None = None):
    args = plan.args
    return api.volume_get_all_by_project(
        plan.admin(),
        plan.project_id,
        marker,
        limit,
        args["sort_keys"],
        args["sort_dirs"],
        filters,
        None,
    )


class List(Operation):
    name = "list"
    command = "cinder list"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        project = view.choose_project(keys, lambda p: not p.spare)
        if project is None:
            return None
        return self.new_plan(
            rng,
            project,
            sort_keys=["created_at"],
            sort_dirs=["desc"],
            filters={"no_migration_targets": True},
        )

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        volumes = _list(target.api, plan, MAX_LIMIT, plan.args["filters"])
        target.api.volume_glance_metadata_get_all(plan.user())
        return {"count": len(volumes)}


class ListFiltered(List):
    name = "list_filtered"
    command = "cinder list --status S | --name N | --metadata k=v [k=v]"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        plan = super().plan(view, rng, keys)
        if plan is None:
            return None
        filters: dict[str, Any] = {"no_migration_targets": True}
        for kind in rng.sample(("status", "name", "metadata", "zone"), rng.choice((1, 1, 2))):
            if kind == "status":
                filters["status"] = rng.choice(STATUSES)
            elif kind == "name":
                index = rng.randrange(max(len(view.volumes), 1))
                filters["display_name"] = volume_display_name(index, view.case_twins)
            elif kind == "metadata":
                chosen = rng.sample(view.metadata_keys, rng.choice((1, 1, 2)))
                filters["metadata"] = {
                    key: metadata_value(key, rng.randrange(view.metadata_values)) for key in chosen
                }
            else:
                filters["availability_zone"] = "nova"
        plan.args["filters"] = filters
        return plan


class ListPaged(List):
    name = "list_paged"
    command = "cinder list --sort KEY:DIR --limit L [--marker M] (two pages)"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        plan = super().plan(view, rng, keys)
        if plan is None:
            return None
        plan.args.update(
            sort_keys=[rng.choice(SORT_KEYS)],
            sort_dirs=[rng.choice(("asc", "desc"))],
            limit=rng.choice((10, 20, 50, 100)),
        )
        return plan

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        limit, filters = plan.args["limit"], plan.args["filters"]
        page = _list(target.api, plan, limit, filters)
        count = len(page)
        if count == limit:  # the client follows the "next" link
            count += len(_list(target.api, plan, limit, filters, marker=page[-1]["id"]))
        target.api.volume_glance_metadata_get_all(plan.user())
        return {"count": count}


class ListAllTenants(Operation):
    name = "list_all_tenants"
    command = "cinder list --all-tenants (admin)"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        project = view.choose_project(keys)
        if project is None:
            return None
        return self.new_plan(rng, project, sort_keys=["created_at"], sort_dirs=["desc"])

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        admin, args = plan.admin(), plan.args
        volumes = target.api.volume_get_all(
            admin, None, MAX_LIMIT, args["sort_keys"], args["sort_dirs"], {}, None
        )
        target.api.volume_glance_metadata_get_all(admin)
        return {"count": len(volumes)}


OPERATIONS: tuple[Operation, ...] = (List(), ListFiltered(), ListPaged(), ListAllTenants())
