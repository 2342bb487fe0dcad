"""``RunSpec``: everything that decides what a run does, in one frozen value.

``cinderbench run`` and ``compare`` build it from their options, the locust
workloads from locust's; a locust master sends it to its workers
(``to_dict``/``from_dict``), and ``run.json`` records it. Its defaults are the
only defaults of a run: a command that leaves an option unset gets the field's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from bench.drive.faults import FaultOptions
from bench.drive.kills import NodeKill
from bench.workload.datasets import DatasetSpec


@dataclass(frozen=True)
class RunSpec:
    """Which backends, which dataset, which mix, how hard and for how long."""

    #: ``(label, url)`` per backend; the first is the ratios' baseline
    backends: tuple[tuple[str, str], ...] = ()
    dataset: DatasetSpec = field(default_factory=DatasetSpec)
    #: a ``bench.workload.mixes`` name or ``op=weight,...``
    mix: str = "standard"
    #: how keys are drawn: uniform, zipfian, latest, hotspot
    distribution: str = "zipfian"
    #: the workload's seed (plans, ids, key choices); the dataset has its own
    seed: int = 1
    #: seconds of measured phase (None: until ``operations`` are done)
    duration: float | None = 30.0
    operations: int | None = None
    #: concurrent drivers: threads of ``cinderbench run``, users of locust
    threads: int = 2
    #: operations per second per driver on a fixed schedule (None: closed loop);
    #: the intended-start latency is recorded too
    pace: float | None = None
    #: one operation at a time per locust process: on, off, or auto (when a backend
    #: never waits on the network, see ``workloads.harness.serialized``)
    serialize: str = "auto"
    faults: FaultOptions = field(default_factory=FaultOptions)
    #: nodes of clusters killed during the measured phase (``--kill-node SIDE:N@SECONDS``)
    node_kills: tuple[NodeKill, ...] = ()
    #: keep the operation log (the differential replay and attribution need it)
    oplog: bool = True

    def __post_init__(self) -> None:
        if self.threads < 1:
            raise ValueError(f"a run needs at least one driver, not {self.threads}")
        if self.serialize not in ("auto", "on", "off"):
            raise ValueError(f"serialize is auto, on or off, not {self.serialize!r}")

    @property
    def rate(self) -> float | None:
        """The whole run's target rate (operations/s), as run.json reports it."""
        return self.pace * self.threads if self.pace else None

    def parameters(self) -> dict[str, Any]:
        """run.json's ``parameters``: how long, how hard and what ran."""
        return {
            "mix": self.mix,
            "duration": self.duration,
            "operations": self.operations,
            "threads": self.threads,
            "rate": self.rate,
            "distribution": self.distribution,
            "seed": self.seed,
        }

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["backends"] = [list(pair) for pair in self.backends]
        data["dataset"] = self.dataset.to_dict()
        data["faults"] = self.faults.to_dict()
        data["node_kills"] = [str(kill) for kill in self.node_kills]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSpec:
        values = dict(data)
        values["backends"] = tuple(tuple(pair) for pair in values.get("backends", ()))
        values["dataset"] = DatasetSpec.from_dict(values.get("dataset", {}))
        faults = {k: v for k, v in (values.get("faults") or {}).items() if k != "rules"}
        values["faults"] = FaultOptions(**faults)
        values["node_kills"] = tuple(NodeKill.parse(k) for k in values.get("node_kills", ()))
        return cls(**values)
