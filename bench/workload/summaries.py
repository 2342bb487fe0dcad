"""Compact running state of a streamed dataset: what the later parts need of the earlier.

A streamed dataset (``bench.workload.datasets.stream_dataset``) hands its volumes
on and forgets them, but its snapshot pass and its quota usages still need a few
facts of each. ``VolumeSummaries`` keeps those facts in flat arrays (about 40
bytes a volume, 40 MB at a million, against about 2 KB for a volume record) and
gives each volume back as a small dict; ``UsageTally`` counts the usages Cinder's
quota sync would find, as records go by.
"""

from __future__ import annotations

import datetime as dt
import uuid
from array import array
from collections import defaultdict
from collections.abc import Iterator

from cinderdb.records import Record

_SECOND = dt.timedelta(seconds=1)


class _Interned:
    """Distinct values (ids of projects, users, types, groups) and their small indexes."""

    def __init__(self) -> None:
        self.values: list[str | None] = []
        self.index: dict[str | None, int] = {}

    def add(self, value: str | None) -> int:
        found = self.index.get(value)
        if found is None:
            found = self.index[value] = len(self.values)
            self.values.append(value)
        return found


class VolumeSummaries:
    """Per volume, in creation order: the fields its snapshots copy (id, owner, size,
    type, creation time, bootable, group), stored as arrays."""

    def __init__(self, epoch: dt.datetime) -> None:
        self.epoch = epoch
        self._ids = bytearray()
        self._age = array("q")  # seconds before the epoch
        self._size = array("l")
        self._strings = _Interned()
        self._refs = array("l")  # 4 per volume: user, project, type, group
        self._bootable = bytearray()

    def __len__(self) -> int:
        return len(self._bootable)

    def add(self, volume: Record) -> None:
        self._ids += uuid.UUID(volume["id"]).bytes
        self._age.append((self.epoch - volume["created_at"]) // _SECOND)
        self._size.append(volume["size"])
        add = self._strings.add
        self._refs.extend(
            (
                add(volume["user_id"]),
                add(volume["project_id"]),
                add(volume["volume_type_id"]),
                add(volume["consistencygroup_id"]),
            )
        )
        self._bootable.append(1 if volume["bootable"] else 0)

    def __iter__(self) -> Iterator[Record]:
        """Each volume as a dict of the summarized fields (equal to the record's)."""
        values, refs, epoch = self._strings.values, self._refs, self.epoch
        for index in range(len(self)):
            user, project, vtype, group = refs[4 * index : 4 * index + 4]
            yield {
                "id": str(uuid.UUID(bytes=bytes(self._ids[16 * index : 16 * index + 16]))),
                "created_at": epoch - dt.timedelta(seconds=self._age[index]),
                "user_id": values[user],
                "project_id": values[project],
                "size": self._size[index],
                "volume_type_id": values[vtype],
                "consistencygroup_id": values[group],
                "bootable": bool(self._bootable[index]),
            }


class UsageTally:
    """Per project, the usage Cinder's sync functions would count (live rows only)."""

    def __init__(self, type_names: dict[str, str]) -> None:
        self.type_names = type_names
        self._usage: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def volume(self, volume: Record) -> None:
        counts = self._usage[volume["project_id"]]
        counts["volumes"] += 1
        counts["gigabytes"] += volume["size"]
        name = self.type_names.get(volume["volume_type_id"])
        if name:
            counts[f"volumes_{name}"] += 1
            counts[f"gigabytes_{name}"] += volume["size"]

    def snapshot(self, snapshot: Record) -> None:
        """A snapshot counts under its volume's type (``volume_type_id`` is copied from it)."""
        counts = self._usage[snapshot["project_id"]]
        counts["snapshots"] += 1
        counts["gigabytes"] += snapshot["volume_size"]
        name = self.type_names.get(snapshot["volume_type_id"])
        if name:
            counts[f"snapshots_{name}"] += 1
            counts[f"gigabytes_{name}"] += snapshot["volume_size"]

    def group(self, group: Record) -> None:
        self._usage[group["project_id"]]["consistencygroups"] += 1

    def result(self) -> dict[str, dict[str, int]]:
        """Every project's counts, a row per type and base resource (an established cloud
        has one) even at zero."""
        for project_counts in self._usage.values():
            for name in self.type_names.values():
                for base in ("volumes", "gigabytes", "snapshots"):
                    project_counts.setdefault(f"{base}_{name}", 0)
            for base in ("volumes", "gigabytes", "snapshots", "consistencygroups"):
                project_counts.setdefault(base, 0)
        return {project: dict(counts) for project, counts in self._usage.items()}
