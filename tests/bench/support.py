"""What the measurement-core tests share: the small dataset they load."""

from __future__ import annotations

from bench.workload.datasets import DatasetSpec

#: A small cloud that still has every kind of record the catalog needs.
SMALL = DatasetSpec(
    seed=11,
    projects=3,
    spare_projects=1,
    volumes=90,
    in_use_fraction=0.3,
    error_fraction=0.1,
    multiattach_fraction=0.2,
    snapshot_fraction=0.4,
    groups_per_project=2,
    group_volume_fraction=0.3,
    cgsnapshot_fraction=1.0,
)
