"""The logical state of a backend, read through the DB API (so it is backend-neutral).

After a replay both backends must hold the same logical content. It is read
with an admin context and ``read_deleted='yes'`` (soft-deleted rows count
too), function by function, into ``{section: {key: answer}}``:

=================  ====================================================================
section            read with
=================  ====================================================================
``volume``         ``volume_get_all`` (every volume with metadata, admin metadata,
                   type, live attachments and group)
``attachment``     ``volume_attachment_get`` of every attachment id the dataset and
                   the log name (retired ones included)
``snapshot``       ``snapshot_get_all`` (with metadata)
``volume_type``    ``volume_type_get`` (``inactive``, with ``projects``) of every type
                   ``volume_type_get_all`` lists or a volume, snapshot or the log names
``qos_specs``      ``qos_specs_get_all(inactive=True)``, and ``qos_specs_associations_get``
``group``          ``consistencygroup_get_all``; ``cgsnapshot``: ``cgsnapshot_get_all``
``quota``          per project ``quota_get_all_by_project``; per class
                   ``quota_class_get_all_by_name``
``quota_usage``    per project ``quota_usage_get`` of every resource it has
``glance``         ``volume_glance_metadata_get_all``
=================  ====================================================================

The quota invariants (``validators.quota``) read the same sections (live rows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cinderdb.context import RequestContext, get_admin_context
from cinderdb.quota import DEFAULT_QUOTA_CLASS

State = dict[str, dict[str, Any]]


@dataclass
class Scope:
    """What the API cannot list by itself: the projects, classes, attachments and types
    to ask about (collected from the dataset and the operation log)."""

    projects: set[str] = field(default_factory=set)
    quota_classes: set[str] = field(default_factory=lambda: {DEFAULT_QUOTA_CLASS})
    attachments: set[str] = field(default_factory=set)
    volume_types: set[str] = field(default_factory=set)

    @classmethod
    def from_dataset(cls, data: Any, spare_projects: Iterable[str] = ()) -> Scope:
        scope = cls()
        for volume in data.volumes:
            scope.projects.add(volume["project_id"])
            scope.attachments.update(a["id"] for a in volume.get("attachments") or ())
        for section in (data.snapshots, data.consistencygroups, data.quotas, data.quota_usages):
            scope.projects.update(r["project_id"] for r in section if r.get("project_id"))
        scope.projects.update(spare_projects)
        scope.quota_classes.update(r["class_name"] for r in data.quota_classes)
        scope.volume_types.update(t["id"] for t in data.volume_types)
        return scope

    def note_call(self, function: str, args: list[Any], kwargs: dict[str, Any]) -> None:
        """Widen the scope with what one logged call names."""
        context = args[0] if args else None
        if isinstance(context, RequestContext) and context.project_id:
            self.projects.add(context.project_id)
        project = kwargs.get("project_id")
        if isinstance(project, str):
            self.projects.add(project)
        values = args[1] if len(args) > 1 else None
        if function == "volume_attach" and isinstance(values, dict) and values.get("id"):
            self.attachments.add(str(values["id"]))
        elif function == "volume_type_create" and isinstance(values, dict) and values.get("id"):
            self.volume_types.add(str(values["id"]))
        elif function.startswith("quota_class_") and isinstance(values, str):
            self.quota_classes.add(values)
        elif (
            function.startswith("quota_")
            and isinstance(values, str)
            and function != "quota_reserve"
        ):
            self.projects.add(values)


def _safe(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as error:  # an answer too: the other backend may not fail
        return error


def read_state(api: Any, scope: Scope, context: RequestContext | None = None) -> State:
    """Every section of the module docstring, keyed for comparison.

    A failed read is kept as its exception (compared like any answer).
    """
    ctx = context or get_admin_context(read_deleted="yes")
    state: State = {}
    volumes = _safe(lambda: api.volume_get_all(ctx, None, None))
    state["volume"] = _keyed(volumes, "id")
    snapshots = _safe(lambda: api.snapshot_get_all(ctx))
    state["snapshot"] = _keyed(snapshots, "id")
    attachments = set(scope.attachments)
    type_ids = set(scope.volume_types)
    for volume in state["volume"].values():
        if isinstance(volume, dict):
            attachments.update(a["id"] for a in volume.get("volume_attachment") or ())
            type_ids.add(volume.get("volume_type_id"))
    for snapshot in state["snapshot"].values():
        if isinstance(snapshot, dict):
            type_ids.add(snapshot.get("volume_type_id"))
    state["attachment"] = {
        a: _safe(lambda a=a: api.volume_attachment_get(ctx, a)) for a in sorted(attachments)
    }
    listed = _safe(lambda: api.volume_type_get_all(ctx, True))
    if isinstance(listed, dict):
        type_ids.update(t["id"] for t in listed.values())
    type_ids.discard(None)
    state["volume_type"] = {
        t: _safe(lambda t=t: api.volume_type_get(ctx, t, True, ["projects"]))
        for t in sorted(type_ids)
    }
    specs = _safe(lambda: api.qos_specs_get_all(ctx, True))
    state["qos_specs"] = _keyed(specs, "id")
    state["qos_associations"] = {
        key: _safe(lambda key=key: api.qos_specs_associations_get(ctx, key))
        for key in state["qos_specs"]
    }
    state["group"] = _keyed(_safe(lambda: api.consistencygroup_get_all(ctx)), "id")
    state["cgsnapshot"] = _keyed(_safe(lambda: api.cgsnapshot_get_all(ctx)), "id")
    state["quota"] = {
        f"project:{p}": _safe(lambda p=p: api.quota_get_all_by_project(ctx, p))
        for p in sorted(scope.projects)
    }
    state["quota"].update(
        {
            f"class:{c}": _safe(lambda c=c: api.quota_class_get_all_by_name(ctx, c))
            for c in sorted(scope.quota_classes)
        }
    )
    state["quota_usage"] = _usages(api, ctx, scope.projects)
    glance = _safe(lambda: api.volume_glance_metadata_get_all(ctx))
    state["glance"] = _glance(glance)
    return state


def _keyed(answer: Any, key: str) -> dict[str, Any]:
    if isinstance(answer, BaseException):
        return {"<error>": answer}
    return {str(record[key]): record for record in answer}


def _usages(api: Any, ctx: RequestContext, projects: Iterable[str]) -> dict[str, Any]:
    usages: dict[str, Any] = {}
    for project in sorted(projects):
        listed = _safe(lambda p=project: api.quota_usage_get_all_by_project(ctx, p))
        if isinstance(listed, BaseException):
            usages[f"{project}"] = listed
            continue
        for resource in sorted(r for r in listed if r != "project_id"):
            usages[f"{project}/{resource}"] = _safe(
                lambda p=project, r=resource: api.quota_usage_get(ctx, p, r)
            )
    return usages


def _glance(answer: Any) -> dict[str, Any]:
    """Image properties keyed by owner and key, numbered when repeated (quirk 12)."""
    if isinstance(answer, BaseException):
        return {"<error>": answer}
    rows: dict[str, Any] = {}
    for row in answer:
        base = f"{row['volume_id']}/{row['snapshot_id']}/{row['key']}"
        key, n = base, 1
        while key in rows:
            n += 1
            key = f"{base}#{n}"
        rows[key] = row
    return rows
