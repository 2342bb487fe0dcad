"""Workload mixes as data: operation name -> relative weight (YCSB's ``workloada`` files).

``STANDARD`` is what ``cinderbench compare`` runs: every catalog operation,
reads dominating as in a production Cinder (shows and lists from Horizon and
Nova), attach/detach churn, a steady create/delete/snapshot lifecycle, and
rare admin commands (types, QoS, quotas). The named mixes skew it toward one
production pattern; the locust workloads use them too.

``resolve_mix("name")`` or ``resolve_mix("create=3,show=10")`` gives a checked
weight table.
"""

from __future__ import annotations

from collections.abc import Mapping

from bench.workload.catalog import CATALOG

Mix = dict[str, float]

STANDARD: Mix = {
    # volumes: reads
    "show": 12,
    "list": 6,
    "list_filtered": 4,
    "list_paged": 3,
    "list_all_tenants": 0.2,
    "metadata_show": 3,
    # volumes: lifecycle
    "create": 5,
    "delete": 4,
    "force_delete": 0.5,
    "extend": 2,
    "migrate": 0.5,
    "update": 2,
    "metadata_set": 2,
    "metadata_unset": 1,
    "metadata_update_all": 1,
    "attach": 5,
    "detach": 4.5,
    # snapshots
    "snapshot_create": 2.5,
    "snapshot_delete": 2,
    "snapshot_list": 2,
    "snapshot_show": 3,
    "snapshot_rename": 0.5,
    "snapshot_reset_state": 0.3,
    "snapshot_metadata_set": 1,
    "snapshot_metadata_show": 1,
    "snapshot_metadata_update_all": 0.5,
    # types and QoS (admin)
    "type_list": 2,
    "type_create": 0.3,
    "type_delete": 0.3,
    "type_key": 0.3,
    "qos_create": 0.2,
    "qos_associate": 0.2,
    "qos_disassociate": 0.2,
    "qos_disassociate_all": 0.1,
    "qos_get_association": 0.3,
    "qos_key": 0.3,
    "qos_list": 0.5,
    "qos_show": 0.5,
    "qos_delete": 0.2,
    # quotas
    "quota_show": 1.5,
    "quota_usage": 1,
    "quota_defaults": 0.5,
    "quota_update": 0.3,
    "quota_delete": 0.1,
    "quota_class_show": 0.3,
    "quota_class_update": 0.2,
    # consistency groups
    "cg_create": 0.3,
    "cg_create_from_src": 0.2,
    "cg_delete": 0.4,
}

MIXES: dict[str, Mix] = {
    "standard": STANDARD,
    # Nova-driven: instances booting and stopping, with the shows Nova issues
    "attach_heavy": {"attach": 10, "detach": 9, "show": 8, "list": 2, "create": 1, "delete": 1},
    # dashboards and CLIs paging through big projects
    "list_filters": {"list": 3, "list_filtered": 6, "list_paged": 5, "show": 2},
    # many users creating, growing and deleting against their quotas
    "quota_churn": {
        "create": 6,
        "delete": 5,
        "extend": 4,
        "quota_show": 2,
        "quota_usage": 2,
        "quota_update": 1,
        "snapshot_create": 2,
        "snapshot_delete": 2,
    },
    # backup-style snapshot cycles with metadata and consistency groups
    "snapshot_lifecycle": {
        "snapshot_create": 5,
        "snapshot_delete": 4,
        "snapshot_list": 2,
        "snapshot_show": 3,
        "snapshot_metadata_set": 2,
        "snapshot_metadata_show": 2,
        "snapshot_rename": 1,
        "cg_create": 0.5,
        "cg_create_from_src": 0.5,
        "cg_delete": 0.8,
    },
    # read-only: no state changes, so every run starts from the same data
    "read_only": {
        "show": 10,
        "list": 3,
        "list_filtered": 3,
        "list_paged": 2,
        "metadata_show": 3,
        "snapshot_show": 3,
        "snapshot_list": 2,
        "type_list": 1,
        "quota_show": 1,
    },
    # every operation equally often (coverage, tests)
    "uniform": dict.fromkeys(CATALOG, 1.0),
}


def check_mix(mix: Mapping[str, float]) -> Mix:
    """A copy of ``mix`` with unknown operations or bad weights refused."""
    unknown = sorted(set(mix) - set(CATALOG))
    if unknown:
        raise ValueError(f"unknown operations in mix: {', '.join(unknown)}")
    checked = {name: float(weight) for name, weight in mix.items()}
    if any(weight < 0 for weight in checked.values()) or not any(checked.values()):
        raise ValueError("mix weights must be non-negative with at least one positive")
    return checked


def resolve_mix(spec: str | Mapping[str, float]) -> Mix:
    """A named mix, ``op=weight,op=weight`` text, or a weight table, checked."""
    if isinstance(spec, Mapping):
        return check_mix(spec)
    if spec in MIXES:
        return check_mix(MIXES[spec])
    if "=" not in spec:
        raise ValueError(f"unknown mix {spec!r}; named mixes: {', '.join(sorted(MIXES))}")
    weights = {}
    for part in spec.split(","):
        name, _, weight = part.partition("=")
        weights[name.strip()] = float(weight)
    return check_mix(weights)
