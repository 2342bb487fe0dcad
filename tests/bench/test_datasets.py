"""Datasets: deterministic, internally consistent, and loaded the same into every backend."""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict

import pytest

from bench.workload.datasets import DatasetSpec, build_dataset, load_dataset, metadata_key_names
from bench.workload.view import DatasetView
from cinderdb import get_admin_context
from tests.bench.support import SMALL
from tests.provision import PROVISIONERS, selected_backends

SPEC = dataclasses.replace(SMALL, volumes=400, metadata_keys=4, metadata_key_pool=6)


def test_same_seed_same_data_other_seed_other_data():
    assert build_dataset(SPEC).data == build_dataset(SPEC).data
    other = build_dataset(dataclasses.replace(SPEC, seed=SPEC.seed + 1)).data
    assert other.volumes != build_dataset(SPEC).data.volumes


def test_spec_round_trips_through_its_dict():
    assert DatasetSpec.from_dict(SPEC.to_dict()) == SPEC


def test_case_twins_make_names_that_differ_only_by_case():
    plain = build_dataset(SPEC).data
    twins = build_dataset(dataclasses.replace(SPEC, case_twins=True)).data
    type_names = [t["name"] for t in twins.volume_types]
    assert type_names[1] == type_names[0].upper() != type_names[0]
    assert len({n.casefold() for n in type_names}) < len(set(type_names))
    display = Counter(v["display_name"].casefold() for v in twins.volumes)
    assert display.most_common(1)[0][1] == 2
    assert {v["display_name"] for v in twins.volumes} >= {"vol-0", "Vol-0"}
    assert len({v["display_name"].casefold() for v in plain.volumes}) == len(plain.volumes)
    assert len({t["name"].casefold() for t in plain.volume_types}) == len(plain.volume_types)


def test_metadata_keys_and_value_cardinality_follow_the_spec():
    spec = dataclasses.replace(SPEC, metadata_values=3)
    data = build_dataset(spec).data
    pool = set(metadata_key_names(spec.metadata_key_pool))
    values_per_key = defaultdict(set)
    for volume in data.volumes:
        assert len(volume["metadata"]) == spec.metadata_keys
        assert set(volume["metadata"]) <= pool
        for key, value in volume["metadata"].items():
            values_per_key[key].add(value)
    assert max(len(values) for values in values_per_key.values()) == 3


def test_records_are_consistent():
    data = build_dataset(SPEC).data
    types = {t["id"]: t for t in data.volume_types}
    groups = {g["id"]: g for g in data.consistencygroups}
    volumes = {v["id"]: v for v in data.volumes}
    statuses = Counter(v["status"] for v in data.volumes)
    assert set(statuses) == {"available", "in-use", "error"}
    for volume in data.volumes:
        vtype = types[volume["volume_type_id"]]
        assert vtype["is_public"] or volume["project_id"] in vtype["projects"]
        attached = volume["attachments"]
        assert (volume["status"] == "in-use") == bool(attached)
        assert len(attached) <= (3 if volume["multiattach"] else 1)
        if attached:
            assert volume["admin_metadata"]["attached_mode"] == "rw"
        if volume["consistencygroup_id"]:
            assert groups[volume["consistencygroup_id"]]["volume_type_id"] == vtype["id"]
    assert any(len(v["attachments"]) > 1 for v in data.volumes)  # some multiattach in use
    cgsnapshots = {c["id"]: c for c in data.cgsnapshots}
    for snapshot in data.snapshots:
        volume = volumes[snapshot["volume_id"]]
        assert snapshot["project_id"] == volume["project_id"]
        assert snapshot["volume_size"] == volume["size"]
        if snapshot["cgsnapshot_id"]:
            group = cgsnapshots[snapshot["cgsnapshot_id"]]["consistencygroup_id"]
            assert volume["consistencygroup_id"] == group
    assert data.cgsnapshots
    assert data.glance_metadata


def test_quota_usages_match_what_exists():
    data = build_dataset(SPEC).data
    names = {t["id"]: t["name"] for t in data.volume_types}
    expected: dict[str, Counter] = defaultdict(Counter)
    volume_type = {}
    for volume in data.volumes:
        typed = names[volume["volume_type_id"]]
        volume_type[volume["id"]] = typed
        for resource, amount in (("volumes", 1), ("gigabytes", volume["size"])):
            expected[volume["project_id"]][resource] += amount
            expected[volume["project_id"]][f"{resource}_{typed}"] += amount
    for snapshot in data.snapshots:
        typed = volume_type[snapshot["volume_id"]]
        for resource, amount in (("snapshots", 1), ("gigabytes", snapshot["volume_size"])):
            expected[snapshot["project_id"]][resource] += amount
            expected[snapshot["project_id"]][f"{resource}_{typed}"] += amount
    for group in data.consistencygroups:
        expected[group["project_id"]]["consistencygroups"] += 1
    usages = {(u["project_id"], u["resource"]): u for u in data.quota_usages}
    for project, counts in expected.items():
        for resource, amount in counts.items():
            assert usages[(project, resource)]["in_use"] == amount
            assert usages[(project, resource)]["reserved"] == 0
    limits = {(q["project_id"], q["resource"]): q["hard_limit"] for q in data.quotas}
    for (project, resource), usage in usages.items():
        if resource in ("volumes", "snapshots", "gigabytes", "consistencygroups"):
            assert limits[(project, resource)] > usage["in_use"]


def test_view_holds_what_the_dataset_has():
    dataset = build_dataset(SPEC)
    view = DatasetView.from_dataset(dataset)
    assert len(view.volumes) == SPEC.volumes
    assert len(view.snapshots) == len(dataset.data.snapshots)
    assert sum(v.snapshots for v in view.volumes.values()) == len(dataset.data.snapshots)
    assert sum(1 for p in view.projects if p.spare) == SPEC.spare_projects
    halves = [DatasetView.from_dataset(dataset, (i, 2)) for i in range(2)]
    assert sum(len(h.volumes) for h in halves) == SPEC.volumes
    assert not set(halves[0].project_by_id) & set(halves[1].project_by_id)


@pytest.mark.parametrize("name", selected_backends())
def test_loaded_backend_answers_with_the_dataset(request, name):
    dataset = build_dataset(SPEC)
    admin = get_admin_context()
    with PROVISIONERS[name](request) as backend:
        seconds = load_dataset(backend, dataset.data, quiet=True)
        assert seconds > 0
        listed = backend.volume_get_all(admin, None, None)
        assert sorted(v["id"] for v in listed) == sorted(v["id"] for v in dataset.data.volumes)
        volume = dataset.data.volumes[0]
        record = backend.volume_get(admin, volume["id"])
        assert {m["key"]: m["value"] for m in record["volume_metadata"]} == volume["metadata"]
        project = volume["project_id"]
        usage = backend.quota_usage_get_all_by_project(admin, project)
        stored = {
            u["resource"]: u["in_use"]
            for u in dataset.data.quota_usages
            if u["project_id"] == project
        }
        assert {k: v["in_use"] for k, v in usage.items() if k != "project_id"} == stored


def test_load_datasets_loads_every_backend_at_once(tmp_path):
    """Both sides of a run load in parallel threads; each gets the whole dataset."""
    from bench.workload.datasets import load_datasets
    from cinderdb import open_backend

    dataset = build_dataset(SPEC)
    admin = get_admin_context()
    urls = {"a": f"sqlite:///{tmp_path}/a.db", "b": "magnetodb+inproc:///loads"}
    backends = [(label, open_backend(url)) for label, url in urls.items()]
    try:
        seconds = load_datasets(backends, dataset.data, quiet=True)
        assert set(seconds) == {"a", "b"}
        assert all(s > 0 for s in seconds.values())
        for _, backend in backends:
            assert len(backend.volume_get_all(admin, None, None)) == SPEC.volumes
    finally:
        for _, backend in backends:
            backend.close()
