"""``RunSpec``: everything that decides what a run does, in one frozen value.

``cinderbench run`` and ``compare`` build it from their options, the locust
workloads from locust's; a locust master sends it to its workers
(``to_dict``/``from_dict``), and ``run.json`` records it. Its defaults are the
only defaults of a run: a command that leaves an option unset gets the field's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.drive.faults import FaultOptions
from bench.drive.kills import NodeKill
from bench.workload.datasets import DatasetSpec


@dataclass(frozen=True)
class RunSpec:
    """Which backends, which dataset, which mix, how hard and for how long."""

    #: ``(label, url)`` per backend (an arm of the comparison); the first is the reference
    #: the live view settles from
    backends: tuple[tuple[str, str], ...] = ()
    #: ``(arm, baseline arm)``: the paired ratios each arm gets (arm / baseline); an arm not
    #: named is paired with the first (the default: every arm against the first)
    baselines: tuple[tuple[str, str], ...] = ()
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
        if self.backends:
            pairings([label for label, _ in self.backends], self.baselines)

    def pairings(self) -> list[tuple[str, str]]:
        """``(arm, baseline)`` of every paired ratio, in the arms' order."""
        return pairings([label for label, _ in self.backends], self.baselines)

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
        data["baselines"] = [list(pair) for pair in self.baselines]
        data["dataset"] = self.dataset.to_dict()
        data["faults"] = self.faults.to_dict()
        data["node_kills"] = [str(kill) for kill in self.node_kills]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSpec:
        values = dict(data)
        values["backends"] = tuple(tuple(pair) for pair in values.get("backends", ()))
        values["baselines"] = tuple(tuple(pair) for pair in values.get("baselines", ()))
        values["dataset"] = DatasetSpec.from_dict(values.get("dataset", {}))
        faults = {k: v for k, v in (values.get("faults") or {}).items() if k != "rules"}
        values["faults"] = FaultOptions(**faults)
        values["node_kills"] = tuple(NodeKill.parse(k) for k in values.get("node_kills", ()))
        return cls(**values)


def pairings(
    labels: Sequence[str], baselines: Sequence[tuple[str, str]] = ()
) -> list[tuple[str, str]]:
    """``(arm, baseline)`` for every arm but the first, in ``labels``' order: the baseline
    ``baselines`` names for it, else the first arm. A ``ValueError`` names an unknown arm,
    an arm paired with itself, or the first arm given a baseline (it is the reference)."""
    chosen = dict(baselines)
    for arm, baseline in chosen.items():
        for label in (arm, baseline):
            if label not in labels:
                raise ValueError(f"no arm labelled {label!r} (arms: {', '.join(labels)})")
        if arm == baseline:
            raise ValueError(f"arm {arm!r} cannot be its own baseline")
        if arm == labels[0]:
            raise ValueError(f"the first arm ({arm!r}) is the reference: it has no baseline")
    return [(arm, chosen.get(arm, labels[0])) for arm in labels[1:]]
