"""The load phase: a Cinder deployment's content, deterministic from a seed.

``build_dataset(spec)`` makes a ``cinderdb.bulk.BulkData`` (YCSB's load phase):
projects with users, volume types with extra specs and QoS specs, volumes
with sizes, statuses, user metadata (a configurable number of keys drawn from
a key pool, each with a configurable value cardinality), admin metadata,
attachments (multiattach volumes may have several), image metadata for
bootable volumes, snapshots with metadata, consistency groups with
cgsnapshots, quota limits and classes, and quota usages that equal what
exists. The same spec gives the same ``BulkData``, ids and timestamps
included, so both backends (and a later replay) start from one logical state.

``stream_dataset(spec, chunk)`` gives the same records in parts of about
``chunk`` volumes (or snapshots), never holding them all: what a million volumes
need (``bench.workload.prefetch.stream_in_child`` makes them in a child
process). ``build_dataset`` is that stream gathered, so the two cannot differ.
The second pass over the volumes (their snapshots draw from the random stream
only after every volume is made) reads a compact summary of each volume (about
40 bytes, ``bench.workload.summaries``), not the volumes.

``load_dataset(backend, data)`` writes either with ``Backend.bulk_load`` behind a
rich progress bar.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bench.workload.summaries import UsageTally, VolumeSummaries
from cinderdb.base import Backend
from cinderdb.bulk import BulkData, gc_paused
from cinderdb.records import Record, blank

#: Size choices (GB) and their weights: many small volumes, a long tail.
SIZES = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
SIZE_WEIGHTS = (14, 10, 16, 22, 14, 10, 7, 4, 2, 1)

#: Realistic names first; a larger pool continues as key-NN.
METADATA_KEYS = ("owner", "env", "tier", "app", "team", "cost-center", "backup", "purpose")
TYPE_NAMES = ("lvmdriver-1", "ceph-ssd", "ceph-hdd", "netapp-gold", "nfs-bulk", "pure-iops")
QOS_SPECS = (
    ("back-end", {"total_iops_sec": "5000", "total_bytes_sec": "104857600"}),
    ("front-end", {"read_iops_sec": "2000", "write_iops_sec": "1000"}),
    ("both", {"total_iops_sec": "20000"}),
)
IMAGE_KEYS = ("image_id", "image_name", "checksum", "container_format", "disk_format", "min_disk")
EPOCH = dt.datetime(2015, 10, 15)  # Liberty's release month: timestamps do not depend on today
#: Volumes (or snapshots) per part of a streamed dataset.
STREAM_CHUNK = 20_000


@dataclass(frozen=True)
class DatasetSpec:
    """What to generate; every field has a default so ``DatasetSpec()`` is a small cloud."""

    seed: int = 42
    projects: int = 20
    #: projects with limits and nothing else: quota-delete/update churn lands there
    spare_projects: int = 2
    users_per_project: int = 3
    #: 5k volumes in 20 projects: lists return hundreds of volumes and inverted metadata
    #: items hold thousands of ids, while a 30 s comparison, its validation and its report
    #: fit in about a minute
    volumes: int = 5_000
    volume_types: int = 4
    qos_specs: int = 2
    #: user metadata pairs per volume, keys drawn from a pool of ``metadata_key_pool``
    metadata_keys: int = 3
    metadata_key_pool: int = 12
    #: distinct values per metadata key (the selectivity of a metadata filter)
    metadata_values: int = 20
    snapshot_fraction: float = 0.3
    snapshot_metadata_keys: int = 2
    in_use_fraction: float = 0.25
    error_fraction: float = 0.03
    multiattach_fraction: float = 0.05
    bootable_fraction: float = 0.2
    groups_per_project: int = 2
    group_volume_fraction: float = 0.04
    cgsnapshot_fraction: float = 0.5
    quota_classes: tuple[str, ...] = ("gold", "silver")
    #: limits = usage * headroom + a constant: creates rarely hit OverQuota
    quota_headroom: float = 4.0
    #: projects whose limits leave only a few volumes of room (quota churn)
    tight_quota_fraction: float = 0.0
    #: skew of project sizes: project i gets weight 1 / (i + 1) ** skew
    project_skew: float = 0.5
    hosts: int = 4
    #: names that differ only by case: every other volume type is the upper-case twin of
    #: the one before ('ceph-ssd', 'CEPH-SSD') and volume display names come in pairs
    #: ('vol-7', 'Vol-7'), so MySQL's case-insensitive collation answers differently
    case_twins: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetSpec:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "quota_classes" in values:
            values["quota_classes"] = tuple(values["quota_classes"])
        return cls(**values)


def type_name(index: int, case_twins: bool = False) -> str:
    """The name of the dataset's ``index``-th volume type; with ``case_twins`` each odd one
    is the upper-case twin of the one before."""
    if case_twins:
        base = type_name(index // 2)
        return base.upper() if index % 2 else base
    return TYPE_NAMES[index] if index < len(TYPE_NAMES) else f"type-{index}"


def volume_display_name(index: int, case_twins: bool = False) -> str:
    """The display name of the ``index``-th volume: ``vol-N``; with ``case_twins`` the pairs
    ``vol-N`` and ``Vol-N`` (N = index // 2), which only a case-insensitive match confuses."""
    if case_twins:
        return f"{'Vol' if index % 2 else 'vol'}-{index // 2}"
    return f"vol-{index}"


def metadata_key_names(pool: int) -> list[str]:
    """The metadata key pool: realistic names, then ``key-NN``."""
    return [METADATA_KEYS[i] if i < len(METADATA_KEYS) else f"key-{i:02d}" for i in range(pool)]


def metadata_value(key: str, index: int) -> str:
    return f"{key}-{index}"


#: The bits ``uuid.UUID(..., version=4)`` clears and sets: the variant and the version.
_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET = (0x8000 << 48) | (4 << 76)


class _Ids:
    """uuid4-shaped ids from the dataset's own random stream."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def uuid(self) -> str:
        h = self.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def hex(self) -> str:
        """``uuid.UUID(int=bits, version=4).hex``, without the UUID object (millions)."""
        return "%032x" % (self.rng.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET)


def _stamp(rng: random.Random, max_age_days: int = 365) -> dt.datetime:
    return EPOCH - dt.timedelta(seconds=rng.randrange(max_age_days * 86400))


def _with_times(record: Record, created: dt.datetime, updated: dt.datetime | None) -> Record:
    record["created_at"], record["updated_at"] = created, updated
    return record


@dataclass
class Dataset:
    """The generated content plus the facts the live view needs beyond the records."""

    spec: DatasetSpec
    data: BulkData
    #: project id -> user ids, in project order
    users: dict[str, list[str]]
    spare_projects: list[str]


class DatasetStream:
    """One generation pass, in parts: iterate it for ``BulkData`` parts in load order
    (types, QoS and groups; volumes; snapshots; cgsnapshots with theirs; quotas), each
    section's records in the order ``build_dataset`` lists them. ``users`` and
    ``spare_projects`` are known before the first part."""

    def __init__(self, spec: DatasetSpec, chunk: int = STREAM_CHUNK) -> None:
        self.spec = spec
        self.chunk = max(chunk, 1)
        self.rng = random.Random(spec.seed)
        self.ids = _Ids(self.rng)
        self.data = BulkData()
        self.keys = metadata_key_names(spec.metadata_key_pool)
        self.hosts = [f"cinder-volume-{i}@lvm" for i in range(max(spec.hosts, 1))]
        self._visible: dict[str, list[Record]] = {}
        self.types: list[Record] = []
        self.summaries = VolumeSummaries(EPOCH)
        self.snapshot_count = 0
        self.cgsnapshot_count = 0
        self.group_count = 0
        self.projects = [self.ids.hex() for _ in range(spec.projects + spec.spare_projects)]
        self.active = self.projects[: spec.projects]
        self.spare_projects = self.projects[spec.projects :]
        self.users = {
            p: [self.ids.hex() for _ in range(spec.users_per_project)] for p in self.projects
        }
        self._started = False

    def visible_types(self, project: str) -> list[Record]:
        """The types a project may use: public ones and private ones shared with it."""
        types = self._visible.get(project)
        if types is None:
            types = self._visible[project] = [
                t for t in self.types if t["is_public"] or project in t["projects"]
            ]
        return types

    def _part(self) -> BulkData:
        """The part filled so far; the next one starts empty."""
        part, self.data = self.data, BulkData()
        return part

    def __iter__(self) -> Iterator[BulkData]:
        if self._started:
            raise RuntimeError("a DatasetStream is read once")
        self._started = True
        qos = self._qos_specs()
        types = self._volume_types(qos, self.active)
        self.tally = UsageTally({t["id"]: t["name"] for t in types})
        groups = self._groups(self.active, types, self.users)
        yield self._part()
        yield from self._volumes(self.active, types, groups, self.users)
        yield from self._snapshots_and_cgsnapshots(groups, self.users)
        self._quotas(self.projects, types, tight=set(self._tight(self.active)))
        yield self._part()

    def _full(self, records: list[Record]) -> bool:
        return len(records) >= self.chunk

    # ------------------------------------------------------------ types, qos

    def _qos_specs(self) -> list[Record]:
        for i in range(self.spec.qos_specs):
            consumer, specs = QOS_SPECS[i % len(QOS_SPECS)]
            created = _stamp(self.rng, 720)
            self.data.qos_specs.append(
                {
                    "id": self.ids.uuid(),
                    "name": f"qos-{consumer}-{i}",
                    "consumer": consumer,
                    "specs": dict(specs),
                    "created_at": created,
                    "updated_at": None,
                    "deleted_at": None,
                    "deleted": False,
                }
            )
        return self.data.qos_specs

    def _volume_types(self, qos: list[Record], projects: list[str]) -> list[Record]:
        for i in range(max(self.spec.volume_types, 1)):
            name = type_name(i, self.spec.case_twins)
            record = _with_times(blank("volume_type"), _stamp(self.rng, 720), None)
            public = i % 5 != 4  # every fifth type is private to a few projects
            record.update(
                id=self.ids.uuid(),
                name=name,
                is_public=public,
                description=f"{name} backend",
                qos_specs_id=qos[i % len(qos)]["id"] if qos and i % 2 == 0 else None,
            )
            record["extra_specs"] = {
                "volume_backend_name": name,
                "capabilities:multiattach": "<is> True" if i % 2 else "<is> False",
            }
            chosen = self.rng.sample(projects, min(2, len(projects)))
            record["projects"] = [] if public else sorted(chosen)
            self.data.volume_types.append(record)
            self.types.append(record)
        return self.types

    # ---------------------------------------------------------------- groups

    def _groups(
        self, projects: list[str], types: list[Record], users: dict[str, list[str]]
    ) -> dict[str, list[Record]]:
        groups: dict[str, list[Record]] = defaultdict(list)
        for project in projects:
            for _ in range(self.spec.groups_per_project):
                vtype = self.rng.choice(self.visible_types(project))
                record = _with_times(blank("consistencygroup"), _stamp(self.rng), None)
                record.update(
                    id=self.ids.uuid(),
                    user_id=self.rng.choice(users[project]),
                    project_id=project,
                    host=self.rng.choice(self.hosts),
                    availability_zone="nova",
                    name=f"cg-{self.group_count}",
                    description="consistency group",
                    volume_type_id=vtype["id"],
                    status="available",
                )
                groups[project].append(record)
                self.data.consistencygroups.append(record)
                self.group_count += 1
                self.tally.group(record)
        return groups

    # --------------------------------------------------------------- volumes

    def _project_weights(self, projects: list[str]) -> list[float]:
        return [1.0 / (i + 1) ** self.spec.project_skew for i in range(len(projects))]

    def _volumes(
        self,
        projects: list[str],
        types: list[Record],
        groups: dict[str, list[Record]],
        users: dict[str, list[str]],
    ) -> Iterator[BulkData]:
        spec, rng = self.spec, self.rng
        owners = rng.choices(projects, self._project_weights(projects), k=spec.volumes)
        sizes = rng.choices(SIZES, SIZE_WEIGHTS, k=spec.volumes)
        template = blank("volume")
        template.update(availability_zone="nova", replication_status="disabled")
        for index in range(spec.volumes):
            project = owners[index]
            volume = dict(template)
            created = _stamp(rng)
            volume.update(
                id=self.ids.uuid(),
                user_id=rng.choice(users[project]),
                project_id=project,
                size=sizes[index],
                created_at=created,
                updated_at=created + dt.timedelta(seconds=rng.randrange(1, 600)),
                scheduled_at=created,
                launched_at=created + dt.timedelta(seconds=rng.randrange(1, 60)),
                display_name=volume_display_name(index, spec.case_twins),
                display_description="",
                multiattach=rng.random() < spec.multiattach_fraction,
                bootable=rng.random() < spec.bootable_fraction,
            )
            vtype = rng.choice(self.visible_types(project))
            group = None
            roll = rng.random()
            if groups.get(project) and rng.random() < spec.group_volume_fraction:
                group = rng.choice(groups[project])
                vtype = next(t for t in types if t["id"] == group["volume_type_id"])
            volume["volume_type_id"] = vtype["id"]
            volume["consistencygroup_id"] = group["id"] if group else None
            volume["host"] = f"{rng.choice(self.hosts)}#pool-{rng.randrange(2)}"
            volume["provider_location"] = f"iqn.2010-10.org.openstack:volume-{volume['id']}"
            volume["metadata"] = self._metadata(spec.metadata_keys)
            volume["admin_metadata"] = {}
            volume["attachments"] = []
            if group is None and roll < spec.in_use_fraction:
                self._attach(volume)
            elif group is None and roll < spec.in_use_fraction + spec.error_fraction:
                volume.update(status="error", attach_status="detached", launched_at=None)
                if rng.random() < 0.5:  # scheduling failed: no host (delete's short path)
                    volume["host"] = None
            else:
                volume.update(status="available", attach_status="detached")
                if rng.random() < 0.5:
                    volume["admin_metadata"] = {"readonly": "False"}
            if volume["bootable"]:
                self._image_metadata(volume_id=volume["id"])
            self.data.volumes.append(volume)
            self.summaries.add(volume)
            self.tally.volume(volume)
            if self._full(self.data.volumes):
                yield self._part()
        if self.data.volumes:
            yield self._part()

    def _metadata(self, count: int) -> dict[str, str]:
        keys = self.rng.sample(self.keys, min(count, len(self.keys)))
        cardinality = max(self.spec.metadata_values, 1)
        return {key: metadata_value(key, self.rng.randrange(cardinality)) for key in keys}

    def _attach(self, volume: Record) -> None:
        count = self.rng.randint(1, 3) if volume["multiattach"] else 1
        for _ in range(count):
            attach_time = volume["created_at"] + dt.timedelta(seconds=self.rng.randrange(60, 9000))
            attachment = _with_times(blank("attachment"), attach_time, attach_time)
            attachment.update(
                id=self.ids.uuid(),
                volume_id=volume["id"],
                attached_host=f"compute-{self.rng.randrange(64)}",
                instance_uuid=self.ids.uuid(),
                mountpoint=f"/dev/vd{'bcdefgh'[len(volume['attachments'])]}",
                attach_time=attach_time,
                attach_mode="rw",
                attach_status="attached",
            )
            volume["attachments"].append(attachment)
        volume.update(status="in-use", attach_status="attached")
        volume["admin_metadata"] = {"attached_mode": "rw", "readonly": "False"}

    def _image_metadata(self, volume_id: str | None = None, snapshot_id: str | None = None) -> None:
        image = self.ids.uuid()
        values = {
            "image_id": image,
            "image_name": f"cirros-{image[:8]}",
            "checksum": image.replace("-", ""),
            "container_format": "bare",
            "disk_format": "qcow2",
            "min_disk": "0",
        }
        for key in IMAGE_KEYS:
            self.data.glance_metadata.append(
                {
                    "volume_id": volume_id,
                    "snapshot_id": snapshot_id,
                    "key": key,
                    "value": values[key],
                }
            )

    # ------------------------------------------------------------- snapshots

    def _snapshot(self, volume: Record, cgsnapshot_id: str | None) -> Record:
        created = volume["created_at"] + dt.timedelta(seconds=self.rng.randrange(60, 86400))
        snapshot = _with_times(blank("snapshot"), created, created)
        snapshot.update(
            id=self.ids.uuid(),
            volume_id=volume["id"],
            user_id=volume["user_id"],
            project_id=volume["project_id"],
            status="available" if self.rng.random() < 0.97 else "error",
            progress="100%",
            volume_size=volume["size"],
            display_name=f"snap-{self.snapshot_count}",
            display_description="",
            volume_type_id=volume["volume_type_id"],
            cgsnapshot_id=cgsnapshot_id,
        )
        snapshot["metadata"] = self._metadata(self.spec.snapshot_metadata_keys)
        self.data.snapshots.append(snapshot)
        self.snapshot_count += 1
        return snapshot

    def _snapshots_and_cgsnapshots(
        self, groups: dict[str, list[Record]], users: dict[str, list[str]]
    ) -> Iterator[BulkData]:
        """The volumes' own snapshots (a part per ``chunk`` of them), then the cgsnapshots
        with their members' snapshots (the last part: cgsnapshots load before those)."""
        members: dict[str, list[Record]] = defaultdict(list)
        for volume in self.summaries:
            if volume["consistencygroup_id"]:
                members[volume["consistencygroup_id"]].append(volume)
            elif self.rng.random() < self.spec.snapshot_fraction:
                for _ in range(self.rng.choice((1, 1, 1, 2, 3))):
                    snapshot = self._snapshot(volume, None)
                    self.tally.snapshot(snapshot)
                    if volume["bootable"]:
                        self._image_metadata(snapshot_id=snapshot["id"])
                if self._full(self.data.snapshots):
                    yield self._part()
        if self.data.snapshots or self.data.glance_metadata:
            yield self._part()
        for project_groups in groups.values():
            for group in project_groups:
                volumes = members.get(group["id"])
                if not volumes or self.rng.random() >= self.spec.cgsnapshot_fraction:
                    continue
                created = _stamp(self.rng, 30)
                cgsnapshot = _with_times(blank("cgsnapshot"), created, created)
                cgsnapshot.update(
                    id=self.ids.uuid(),
                    consistencygroup_id=group["id"],
                    user_id=group["user_id"],
                    project_id=group["project_id"],
                    name=f"cgsnap-{self.cgsnapshot_count}",
                    description="",
                    status="available",
                )
                self.data.cgsnapshots.append(cgsnapshot)
                self.cgsnapshot_count += 1
                for volume in volumes:
                    snapshot = self._snapshot(volume, cgsnapshot["id"])
                    snapshot["status"] = "available"
                    self.tally.snapshot(snapshot)

    # ---------------------------------------------------------------- quotas

    def _tight(self, projects: list[str]) -> Iterable[str]:
        count = round(len(projects) * self.spec.tight_quota_fraction)
        return projects[len(projects) - count :] if count else ()

    def _quotas(self, projects: list[str], types: list[Record], tight: set[str]) -> None:
        usage = self.tally.result()
        created = _stamp(self.rng, 720)
        headroom = self.spec.quota_headroom
        for project in projects:
            counts = usage.get(project, {})
            for resource, floor in (
                ("volumes", 100),
                ("snapshots", 100),
                ("gigabytes", 10_000),
                ("consistencygroups", 20),
            ):
                in_use = counts.get(resource, 0)
                if project in tight:
                    limit = in_use + (5 if resource != "gigabytes" else 100)
                else:
                    limit = int(in_use * headroom) + floor
                record = _with_times(blank("quota"), created, None)
                record.update(project_id=project, resource=resource, hard_limit=limit)
                self.data.quotas.append(record)
            for resource in sorted(counts):
                record = _with_times(blank("quota_usage"), created, EPOCH)
                record.update(
                    project_id=project, resource=resource, in_use=counts[resource], reserved=0
                )
                self.data.quota_usages.append(record)
        for class_index, class_name in enumerate(self.spec.quota_classes):
            factor = 2 ** (len(self.spec.quota_classes) - class_index)
            for resource, base in (("volumes", 10), ("snapshots", 10), ("gigabytes", 1000)):
                record = _with_times(blank("quota_class"), created, None)
                record.update(class_name=class_name, resource=resource, hard_limit=base * factor)
                self.data.quota_classes.append(record)


def stream_dataset(spec: DatasetSpec, chunk: int = STREAM_CHUNK) -> DatasetStream:
    """The dataset of ``spec`` in parts of about ``chunk`` volumes or snapshots: the
    records of ``build_dataset(spec)``, never all in memory."""
    return DatasetStream(spec, chunk)


def build_dataset(spec: DatasetSpec) -> Dataset:
    """The dataset of ``spec``: the same spec always gives the same records."""
    stream = DatasetStream(spec, chunk=1 << 62)
    data = BulkData()
    with gc_paused():
        for part in stream:
            for name, records in part.sections():
                getattr(data, name).extend(records)
    return Dataset(spec, data, stream.users, stream.spare_projects)


def load_dataset(
    backend: Backend,
    data: BulkData | Iterable[BulkData],
    label: str | None = None,
    quiet: bool = False,
) -> float:
    """Bulk-load ``data`` (one ``BulkData`` or a stream of parts) into ``backend``, schema
    created first; return the seconds it took (generating a stream's parts included)."""
    name = label or backend.side
    if isinstance(data, BulkData):
        return load_datasets([(name, backend)], data, quiet=quiet)[name]
    from rich.progress import Progress

    backend.create_schema()
    with Progress(*_progress_columns(), disable=quiet, transient=False) as progress:
        task = progress.add_task(f"loading {name}", total=None)
        started = time.perf_counter()
        backend.bulk_load(data, progress=lambda n: progress.advance(task, n))
        elapsed = time.perf_counter() - started
        progress.update(task, total=progress.tasks[0].completed)
    return elapsed


def _progress_columns() -> tuple[Any, ...]:
    from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn

    return (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )


def load_datasets(
    backends: Sequence[tuple[str, Backend]], data: BulkData, *, quiet: bool = False
) -> dict[str, float]:
    """Bulk-load ``data`` into every ``(label, backend)`` at once, one thread each (a
    server-backed store loads in its own process meanwhile), schemas created first;
    return the seconds each took. Each backend is used by its thread alone."""
    from concurrent.futures import ThreadPoolExecutor

    from rich.progress import Progress

    total = data.count()
    with Progress(*_progress_columns(), disable=quiet, transient=False) as progress:

        def load(label: str, backend: Backend) -> float:
            task = progress.add_task(f"loading {label}", total=total)
            backend.create_schema()
            started = time.perf_counter()
            backend.bulk_load(data, progress=lambda n: progress.advance(task, n))
            progress.update(task, completed=total)
            return time.perf_counter() - started

        if len(backends) == 1:
            ((label, backend),) = backends
            return {label: load(label, backend)}
        with ThreadPoolExecutor(len(backends), thread_name_prefix="load") as pool:
            futures = {label: pool.submit(load, label, backend) for label, backend in backends}
            return {label: future.result() for label, future in futures.items()}
