"""A sweep: the paired comparison over a grid of dataset sizes and concurrency levels.

``cinderbench sweep`` drives it; this module holds what does not depend on the
command: the grid and its defaults, the index file ``sweep.json`` (which
points are done, where their results are, what each measured), and the
estimate of the time left. Each point is an ordinary results directory
(``run_job``), so every reader of runs reads a point.

The index is rewritten after every point (atomically), so a sweep stopped at
any moment resumes where it was: a point marked done is kept, the rest run.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.measure.results import Results

SWEEP_FORMAT = "cinderbench-sweep/1"
INDEX_NAME = "sweep.json"
#: The dataset defaults' project size: 5,000 volumes in 20 projects.
REFERENCE_VOLUMES = 5_000
REFERENCE_PROJECTS = 20
#: Sizes below this are loaded again before each concurrency level (seconds each), so every
#: level starts from the dataset; larger ones are loaded once and reused, where what a
#: level changes is a small share of the data.
RELOAD_BELOW = 20_000
#: Projects grow as volumes ** PROJECT_EXPONENT, so a project grows too (as volumes ** 0.5).
PROJECT_EXPONENT = 0.5


def projects_for(volumes: int) -> int:
    """Projects of a sweep's dataset of ``volumes``: the defaults' 20 projects at 5,000
    volumes, scaled by the square root, so both the count and the size of projects grow."""
    scale = (volumes / REFERENCE_VOLUMES) ** PROJECT_EXPONENT
    return max(2, round(REFERENCE_PROJECTS * scale))


@dataclass(frozen=True)
class Grid:
    """Dataset sizes x concurrency levels, and how long each point measures."""

    volumes: tuple[int, ...] = (1_000, 10_000, 100_000)
    threads: tuple[int, ...] = (1, 4, 16, 32)
    #: seconds of measured phase per point
    duration: float = 60.0

    def __post_init__(self) -> None:
        if not self.volumes or not self.threads:
            raise ValueError("a sweep needs at least one dataset size and one concurrency")
        if min(self.volumes) < 1 or min(self.threads) < 1:
            raise ValueError("dataset sizes and concurrency levels are positive")
        if self.duration <= 0:
            raise ValueError(f"a point measures for a positive time, not {self.duration}")

    def points(self) -> Iterator[Point]:
        """Size by size (each size is loaded once), concurrency ascending within a size."""
        levels = sorted(set(self.threads))
        for volumes in sorted(set(self.volumes)):
            for level, threads in enumerate(levels):
                last = level == len(levels) - 1
                yield Point(volumes, projects_for(volumes), threads, level, last)

    def to_dict(self) -> dict[str, Any]:
        return {
            "volumes": list(self.volumes),
            "threads": list(self.threads),
            "duration": self.duration,
        }


#: ``--quick``: three sizes (two would leave a fit no residual), three levels (a saturation
#: point needs a level past it): 4 to 5 minutes on the 2-core machine.
QUICK = Grid(volumes=(500, 2_000, 8_000), threads=(1, 4, 16), duration=20.0)
DEFAULT = Grid()


@dataclass(frozen=True)
class Point:
    """One cell of the grid; ``level`` is the concurrency's rank within its size, ``last``
    whether it is the size's highest."""

    volumes: int
    projects: int
    threads: int
    level: int
    last: bool = True

    @property
    def reloads(self) -> bool:
        """Whether this point loads its dataset afresh even when the size is loaded."""
        return self.volumes < RELOAD_BELOW

    @property
    def checks_quotas(self) -> bool:
        """Whether the quota invariants are checked after this point: before its state is
        thrown away (a reloading size, a size's last level). A reused size's last state
        holds every level's writes, so a lost or double-counted one still shows there,
        while a quota check reads every volume through the DB API (minutes at 100k)."""
        return self.reloads or self.last

    @property
    def name(self) -> str:
        """The point's results directory, inside the sweep's."""
        return f"v{self.volumes}-t{self.threads}"

    def seed(self, base: int) -> int:
        """The workload seed of the point: one per level, so a dataset reused across levels
        never sees the same new ids twice (a repeated create would collide)."""
        return base + self.level


# ------------------------------------------------------------------- a point's figures


def _mean(stats: Mapping[str, Any] | None) -> float | None:
    return stats.get("mean") if stats else None


def point_summary(results: Results) -> dict[str, Any]:
    """Per operation and arm: p50/p99 (µs), throughput, the arm's Little's-law throughput
    (``threads / mean latency``: what that arm alone sustains with this many drivers) and the
    mean of each counter; plus the run's totals."""
    threads = int(results.meta["parameters"]["threads"])
    seconds = float(results.meta.get("duration_s") or 0.0)
    operations: dict[str, dict[str, Any]] = {}
    for name, arms in sorted(results.operations.items()):
        for arm, stats in arms.items():
            service = stats.get("service_us") or {}
            mean_us = service.get("mean")
            operations.setdefault(name, {})[arm] = {
                "count": stats["count"],
                "rejected": stats.get("rejected", 0),
                "errors": stats.get("errors", 0),
                "p50_us": service.get("p50"),
                "p99_us": service.get("p99"),
                "mean_us": mean_us,
                "throughput_per_s": stats.get("throughput_per_s"),
                "arm_throughput_per_s": round(threads * 1e6 / mean_us, 3) if mean_us else None,
                "counters": {
                    counter: _mean(values) for counter, values in stats["counters"].items()
                },
            }
    totals = results.meta.get("totals") or {}
    return {
        "arms": results.backends,
        "duration_s": seconds,
        "operations_total": totals.get("operations"),
        "throughput_per_s": round(totals.get("operations", 0) / seconds, 3) if seconds else None,
        "operations": operations,
    }


# -------------------------------------------------------------------------- the index


@dataclass
class SweepIndex:
    """``sweep.json``: the grid, the arms, each size's load and item sizes, each point."""

    path: Path
    grid: dict[str, Any]
    arms: list[str] = field(default_factory=list)
    #: str(volumes) -> {"projects", "load_seconds", "item_sizes"}
    sizes: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: point name -> {"volumes", "projects", "threads", "directory", "wall_s", "summary",
    #: "invariants"}
    points: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, directory: Path, grid: Grid) -> SweepIndex:
        """The index of ``directory``, or a new one; refuses a sweep of another duration
        (its points would not compare)."""
        path = directory / INDEX_NAME
        if not path.exists():
            return cls(path, grid.to_dict())
        data = read_index(path)
        if data["grid"].get("duration") != grid.duration:
            raise ValueError(
                f"{path} is a sweep of {data['grid'].get('duration')} s points, not "
                f"{grid.duration} s: use another output directory or the same --duration"
            )
        merged = grid.to_dict()
        for key in ("volumes", "threads"):
            merged[key] = sorted(set(data["grid"][key]) | set(merged[key]))
        return cls(path, merged, data["arms"], data["sizes"], data["points"], data["notes"])

    def done(self, point: Point) -> bool:
        return point.name in self.points

    def record_point(self, point: Point, entry: dict[str, Any]) -> None:
        self.points[point.name] = {
            "volumes": point.volumes,
            "projects": point.projects,
            "threads": point.threads,
            **entry,
        }
        self.save()

    def record_size(self, volumes: int, entry: dict[str, Any]) -> None:
        self.sizes.setdefault(str(volumes), {}).update(entry)
        self.save()

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": SWEEP_FORMAT,
            "grid": self.grid,
            "arms": self.arms,
            "sizes": self.sizes,
            "points": self.points,
            "notes": self.notes,
        }

    def save(self) -> None:
        """Write through a temporary file and a rename: a sweep killed mid-write keeps the
        last complete index."""
        temporary = self.path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(self.to_dict(), indent=1, sort_keys=True))
        os.replace(temporary, self.path)


def read_index(path: str | Path) -> dict[str, Any]:
    """A ``sweep.json``; ``ValueError`` naming the file when it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except ValueError as error:
        raise ValueError(f"{path} is not readable JSON: {error}") from error
    if not isinstance(data, dict) or data.get("format") != SWEEP_FORMAT:
        raise ValueError(f"{path} is not a {SWEEP_FORMAT} index")
    return data


# ---------------------------------------------------------------- time left


@dataclass
class Eta:
    """The time left: each point costs its measured phase plus the overhead seen so far
    (dataset build, floor, validation), and each load still to do (a size not loaded yet,
    a point that reloads) a load scaled linearly from the largest load seen."""

    duration: float
    overheads: list[float] = field(default_factory=list)
    loads: dict[int, float] = field(default_factory=dict)

    def point_done(self, wall: float) -> None:
        self.overheads.append(max(0.0, wall - self.duration))

    def load_done(self, volumes: int, seconds: float) -> None:
        self.loads[volumes] = seconds

    def left(self, pending: Sequence[Point], loaded: set[int]) -> float | None:
        """Seconds left for ``pending``; None before anything has been timed."""
        if not self.overheads:
            return None
        overhead = sum(self.overheads) / len(self.overheads)
        seconds = len(pending) * (self.duration + overhead)
        if self.loads:
            largest = max(self.loads)
            per_volume = self.loads[largest] / largest
            first = {p.volumes for p in pending} - loaded
            for point in pending:
                if point.reloads or point.volumes in first:
                    seconds += per_volume * point.volumes
                    first.discard(point.volumes)
        return seconds


def clock(seconds: float | None) -> str:
    """``4 min 10 s``, ``52 s``; ``?`` when unknown."""
    if seconds is None or math.isnan(seconds):
        return "?"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min {seconds % 60:02d} s"
