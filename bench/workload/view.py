"""The live view of a dataset: what exists now, as the catalog needs it to pick targets.

The catalog plans an operation from this view (attach picks an available
volume, detach an attached one) and settles it from the outcome. Planning
*holds* its targets: an exclusive hold for a writer, a shared one for a
reader, so concurrent workers never act on the same volume at once, and
reads never race a delete of their target (the two backends must see the
same thing back to back). All access goes through ``lock``.

Key choice follows the run's distributions: a ``KeyChooser`` (one per worker,
seeded) picks a project, then a rank among the project's volumes (or
snapshots) in creation order, and the view probes forward from that rank to
the first eligible, unheld item, so popularity stays attached to items as
YCSB's key choosers do, and ``latest`` means the newest volumes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bench.locks import os_rlock
from bench.workload.datasets import Dataset, metadata_key_names
from bench.workload.generators import KeyGenerator, make_generator

EXCLUSIVE = -1


@dataclass
class VolumeState:
    id: str
    project_id: str
    size: int
    status: str
    type_id: str | None
    multiattach: bool = False
    bootable: bool = False
    host: str | None = None
    group_id: str | None = None
    #: attachment id -> (instance uuid, host)
    attachments: dict[str, tuple[str, str]] = field(default_factory=dict)
    snapshots: int = 0


@dataclass
class SnapshotState:
    id: str
    project_id: str
    volume_id: str
    size: int
    status: str
    cgsnapshot_id: str | None = None


@dataclass
class TypeState:
    id: str
    name: str
    #: the associated QoS spec's name (ids of workload-made specs differ per backend)
    qos: str | None
    is_public: bool = True
    #: volumes (live, as far as the view knows) that use the type
    volumes: int = 0
    #: made by the workload (type-create), so type-delete may remove it
    scratch: bool = False


@dataclass
class QosState:
    """A QoS spec, known by its unique name: ``qos_specs_create`` makes its own id."""

    name: str
    types: set[str] = field(default_factory=set)
    #: keys the workload added (qos-key unset removes only those)
    extra_keys: set[str] = field(default_factory=set)
    scratch: bool = False


@dataclass
class GroupState:
    id: str
    project_id: str
    type_ids: list[str]
    volumes: set[str] = field(default_factory=set)
    cgsnapshots: set[str] = field(default_factory=set)


@dataclass
class CgsnapshotState:
    id: str
    group_id: str
    project_id: str
    snapshots: list[str] = field(default_factory=list)


@dataclass
class ProjectState:
    id: str
    users: list[str]
    spare: bool = False
    #: volume and snapshot ids in creation order (rank 0 = oldest)
    volumes: list[str] = field(default_factory=list)
    snapshots: list[str] = field(default_factory=list)
    #: whether project limit rows exist (quota-delete removes them)
    has_limits: bool = True


class KeyChooser:
    """One worker's key distributions: which project, which rank inside a project."""

    def __init__(self, distribution: str, projects: int, rng: random.Random) -> None:
        self.distribution = distribution
        self.rng = rng
        self.project: KeyGenerator = make_generator(distribution, projects, rng)
        self.item: KeyGenerator = make_generator(distribution, 1, rng)

    def project_rank(self) -> int:
        return self.project.next()

    def item_rank(self, n: int) -> int:
        return self.item.next_of(n)


class DatasetView:
    """Thread-safe state of what exists, built from a dataset and kept by settle steps."""

    def __init__(self) -> None:
        self.lock = os_rlock()
        self.projects: list[ProjectState] = []
        self.project_by_id: dict[str, ProjectState] = {}
        self.volumes: dict[str, VolumeState] = {}
        self.snapshots: dict[str, SnapshotState] = {}
        self.types: dict[str, TypeState] = {}
        #: QoS spec name -> state
        self.qos: dict[str, QosState] = {}
        self.groups: dict[str, GroupState] = {}
        self.cgsnapshots: dict[str, CgsnapshotState] = {}
        self.quota_classes: list[str] = []
        self.metadata_keys: list[str] = []
        self.metadata_values: int = 1
        #: the dataset's names differ only by case in pairs (``DatasetSpec.case_twins``)
        self.case_twins: bool = False
        self.hosts: list[str] = []
        self._holds: dict[str, int] = {}
        #: keys whose state is unknown after an unexpected error: never picked again
        self.quarantined: set[str] = set()

    # ----------------------------------------------------------- building

    @classmethod
    def from_dataset(cls, dataset: Dataset, partition: tuple[int, int] = (0, 1)) -> DatasetView:
        """The view of a freshly loaded dataset.

        ``partition=(i, n)`` keeps only the projects whose index is ``i`` mod
        ``n``, so n processes (locust workers) can each hold a disjoint view.
        """
        index, count = partition
        view = cls()
        data, spec = dataset.data, dataset.spec
        spare = set(dataset.spare_projects)
        for number, (project, users) in enumerate(dataset.users.items()):
            if number % count == index:
                state = ProjectState(project, list(users), spare=project in spare)
                view.projects.append(state)
                view.project_by_id[project] = state
        mine = view.project_by_id
        view.metadata_keys = metadata_key_names(spec.metadata_key_pool)
        view.metadata_values = max(spec.metadata_values, 1)
        view.case_twins = spec.case_twins
        view.quota_classes = list(spec.quota_classes)
        qos_names = {qos["id"]: qos["name"] for qos in data.qos_specs}
        for name in qos_names.values():
            view.qos[name] = QosState(name)
        for vtype in data.volume_types:
            qos_name = qos_names.get(vtype["qos_specs_id"])
            view.types[vtype["id"]] = TypeState(
                vtype["id"], vtype["name"], qos_name, bool(vtype["is_public"])
            )
            if qos_name is not None:
                view.qos[qos_name].types.add(vtype["id"])
        for group in data.consistencygroups:
            if group["project_id"] in mine:
                type_ids = [t for t in (group["volume_type_id"] or "").split(",") if t]
                view.groups[group["id"]] = GroupState(group["id"], group["project_id"], type_ids)
        hosts = set()
        for volume in data.volumes:
            type_state = view.types.get(volume["volume_type_id"])
            if type_state is not None:
                type_state.volumes += 1
            if volume["project_id"] not in mine:
                continue
            if volume["host"]:
                hosts.add(volume["host"].split("#")[0])
            view.add_volume(
                VolumeState(
                    volume["id"],
                    volume["project_id"],
                    volume["size"],
                    volume["status"],
                    volume["volume_type_id"],
                    bool(volume["multiattach"]),
                    bool(volume["bootable"]),
                    volume["host"],
                    volume["consistencygroup_id"],
                    {
                        a["id"]: (a["instance_uuid"], a["attached_host"])
                        for a in volume["attachments"]
                    },
                )
            )
        view.hosts = sorted(hosts) or ["cinder-volume-0@lvm"]
        for cgsnapshot in data.cgsnapshots:
            if cgsnapshot["project_id"] in mine:
                group_id = cgsnapshot["consistencygroup_id"]
                view.cgsnapshots[cgsnapshot["id"]] = CgsnapshotState(
                    cgsnapshot["id"], group_id, cgsnapshot["project_id"]
                )
                view.groups[group_id].cgsnapshots.add(cgsnapshot["id"])
        for snapshot in data.snapshots:
            if snapshot["project_id"] in mine:
                view.add_snapshot(
                    SnapshotState(
                        snapshot["id"],
                        snapshot["project_id"],
                        snapshot["volume_id"],
                        snapshot["volume_size"],
                        snapshot["status"],
                        snapshot["cgsnapshot_id"],
                    )
                )
        return view

    # ------------------------------------------------------------ changes

    def add_volume(self, volume: VolumeState) -> None:
        with self.lock:
            self.volumes[volume.id] = volume
            self.project_by_id[volume.project_id].volumes.append(volume.id)
            if volume.group_id in self.groups:
                self.groups[volume.group_id].volumes.add(volume.id)

    def remove_volume(self, volume_id: str) -> None:
        with self.lock:
            volume = self.volumes.pop(volume_id, None)
            if volume is None:
                return
            self.project_by_id[volume.project_id].volumes.remove(volume_id)
            if volume.type_id in self.types:
                self.types[volume.type_id].volumes -= 1
            if volume.group_id in self.groups:
                self.groups[volume.group_id].volumes.discard(volume_id)

    def add_snapshot(self, snapshot: SnapshotState) -> None:
        with self.lock:
            self.snapshots[snapshot.id] = snapshot
            self.project_by_id[snapshot.project_id].snapshots.append(snapshot.id)
            if snapshot.volume_id in self.volumes:
                self.volumes[snapshot.volume_id].snapshots += 1
            if snapshot.cgsnapshot_id in self.cgsnapshots:
                self.cgsnapshots[snapshot.cgsnapshot_id].snapshots.append(snapshot.id)

    def remove_snapshot(self, snapshot_id: str) -> None:
        with self.lock:
            snapshot = self.snapshots.pop(snapshot_id, None)
            if snapshot is None:
                return
            self.project_by_id[snapshot.project_id].snapshots.remove(snapshot_id)
            if snapshot.volume_id in self.volumes:
                self.volumes[snapshot.volume_id].snapshots -= 1

    # -------------------------------------------------------------- holds

    def hold(self, key: str, exclusive: bool) -> bool:
        """Take a hold on ``key`` if it is free (exclusive) or not written (shared)."""
        with self.lock:
            current = self._holds.get(key, 0)
            if key in self.quarantined or current == EXCLUSIVE or (exclusive and current):
                return False
            self._holds[key] = EXCLUSIVE if exclusive else current + 1
            return True

    def hold_all(self, keys: list[str]) -> bool:
        """Hold every key exclusively, or none of them."""
        with self.lock:
            if any(k in self.quarantined or self._holds.get(k, 0) for k in keys):
                return False
            for key in keys:
                self._holds[key] = EXCLUSIVE
            return True

    def release(self, keys: Iterable[str]) -> None:
        with self.lock:
            for key in keys:
                current = self._holds.get(key, 0)
                if current == EXCLUSIVE or current <= 1:
                    self._holds.pop(key, None)
                else:
                    self._holds[key] = current - 1

    def quarantine(self, keys: Iterable[str]) -> None:
        """Never pick these again: an unexpected error left their state unknown."""
        with self.lock:
            self.quarantined.update(keys)

    # ------------------------------------------------------------- choice

    def choose_project(
        self, keys: KeyChooser, accept: Callable[[ProjectState], bool] | None = None
    ) -> ProjectState | None:
        """The project the distribution picks, or the next acceptable one after it."""
        with self.lock:
            count = len(self.projects)
            if not count:
                return None
            start = keys.project_rank() % count
            for step in range(count):
                project = self.projects[(start + step) % count]
                if accept is None or accept(project):
                    return project
            return None

    def _choose_in(
        self,
        ids: list[str],
        table: dict,
        keys: KeyChooser,
        accept: Callable,
        prefix: str,
        exclusive: bool,
    ):
        count = len(ids)
        if not count:
            return None
        start = keys.item_rank(count)
        for step in range(count):
            item = table[ids[(start + step) % count]]
            if accept(item) and self.hold(f"{prefix}:{item.id}", exclusive):
                return item
        return None

    def choose_volume(
        self,
        keys: KeyChooser,
        accept: Callable[[VolumeState], bool] = lambda v: True,
        exclusive: bool = True,
    ) -> VolumeState | None:
        """An acceptable, unheld volume, held on return (key ``volume:<id>``).

        The project comes from the distribution; when it has no acceptable
        volume the next projects are tried.
        """
        with self.lock:
            for candidate in self._projects_from(keys):
                found = self._choose_in(
                    candidate.volumes, self.volumes, keys, accept, "volume", exclusive
                )
                if found is not None:
                    return found
            return None

    def choose_snapshot(
        self,
        keys: KeyChooser,
        accept: Callable[[SnapshotState], bool] = lambda s: True,
        exclusive: bool = True,
    ) -> SnapshotState | None:
        """An acceptable, unheld snapshot, held on return (key ``snapshot:<id>``)."""
        with self.lock:
            for candidate in self._projects_from(keys):
                found = self._choose_in(
                    candidate.snapshots, self.snapshots, keys, accept, "snapshot", exclusive
                )
                if found is not None:
                    return found
            return None

    def _projects_from(self, keys: KeyChooser) -> list[ProjectState]:
        count = len(self.projects)
        if not count:
            return []
        start = keys.project_rank() % count
        return [self.projects[(start + step) % count] for step in range(count)]

    def choose_among(
        self,
        rng: random.Random,
        items: Iterable,
        prefix: str,
        accept: Callable = lambda item: True,
        exclusive: bool = True,
        key: Callable = lambda item: item.id,
    ):
        """A uniformly chosen acceptable, unheld item of a small collection, held on return
        (as ``<prefix>:<key(item)>``)."""
        with self.lock:
            candidates = sorted((item for item in items if accept(item)), key=key)
            rng.shuffle(candidates)
            for item in candidates:
                if self.hold(f"{prefix}:{key(item)}", exclusive):
                    return item
            return None

    def usable_types(self) -> list[TypeState]:
        """Types every project may create volumes with: public ones of the dataset."""
        with self.lock:
            return [t for t in self.types.values() if not t.scratch and t.is_public]
