"""What the gate compares: a snapshot of one results directory, or the stored JSON of one.

A ``Snapshot`` holds only what is gated: the workload's fingerprint, the
backends, the gated counters per call (by caller context) and per operation,
the per-pair latency ratios of every operation, which calls each operation
made, and the findings. ``cinderbench gate --write-baseline FILE`` stores it
as JSON (``ci/baseline.json``); a results directory gives the same snapshot
directly, so a baseline run from the same CI job needs no file.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.gate.config import GateConfig
from bench.measure.results import Results, load_results

FORMAT = "cinderbench-baseline/1"
#: run.json parameters that decide which operations are planned.
WORKLOAD_PARAMETERS = (
    "mix_weights",
    "seed",
    "operations",
    "duration",
    "threads",
    "rate",
    "distribution",
)


@dataclass
class Snapshot:
    source: str
    workload: dict[str, Any]
    backends: list[dict[str, str]]
    #: "baseline" / "candidate" labels of the paired ratio, or None for one backend
    ratio: dict[str, str] | None
    #: scope ("call" | "op") -> name -> backend -> context ("" for operations) -> counter -> stats
    counters: dict[str, dict[str, dict[str, dict[str, dict[str, dict[str, int]]]]]]
    #: operation -> per-pair ratios candidate / baseline (both ok), in log order
    ratios: dict[str, list[float]]
    #: operation -> the DB API functions its executions called (any backend)
    calls_by_operation: dict[str, list[str]]
    #: "validation" / "diff" -> number of findings (None when the file is absent)
    findings: dict[str, int | None]
    divergent: dict[str, int]
    harness_failures: int
    meta: dict[str, Any] = field(default_factory=dict)
    #: the pairings after the first (runs of more than two arms): ``baseline``,
    #: ``candidate`` and their per-pair ``ratios`` per operation, as ``ratio``/``ratios``
    arms: list[dict[str, Any]] = field(default_factory=list)
    #: operation -> backend -> {"n": executions, "p50": median client CPU µs} (the opt-in
    #: CPU check's figures; {} in baselines written before client CPU was measured)
    cpu: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

    def pairings(self) -> list[tuple[dict[str, str], dict[str, list[float]]]]:
        """``(sides, ratios per operation)`` of every pairing, the first one first."""
        first = [(self.ratio, self.ratios)] if self.ratio else []
        return first + [
            ({"baseline": arm["baseline"], "candidate": arm["candidate"]}, arm["ratios"])
            for arm in self.arms
        ]

    @property
    def deterministic(self) -> bool:
        """Does the same workload plan the same operations in the same order? (One thread,
        a fixed operation count: then every counter's sum is reproducible.)"""
        return self.workload.get("threads") == 1 and bool(self.workload.get("operations"))

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, **asdict(self)}


def workload_of(results: Results) -> dict[str, Any]:
    meta = results.meta
    params = meta.get("parameters") or {}
    return {
        **{key: params.get(key) for key in WORKLOAD_PARAMETERS},
        "dataset": (meta.get("dataset") or {}).get("spec"),
    }


def _stats(counters: dict[str, Any], count: int, config: GateConfig) -> dict[str, dict[str, int]]:
    return {
        name: {"n": count, "sum": int(v["sum"]), "min": int(v["min"]), "max": int(v["max"])}
        for name, v in sorted((counters or {}).items())
        if config.gated(name)
    }


def _counters(results: Results, config: GateConfig) -> dict[str, Any]:
    calls: dict[str, Any] = {}
    for name, per in results.calls.items():
        for label, stats in per.items():
            for context, tally in (stats.get("by_context") or {}).items():
                gated = _stats(tally.get("counters"), int(tally.get("count", 0)), config)
                calls.setdefault(name, {}).setdefault(label, {})[context] = gated
    ops: dict[str, Any] = {}
    for name, per in results.operations.items():
        for label, stats in per.items():
            gated = _stats(stats.get("counters"), int(stats.get("count", 0)), config)
            ops.setdefault(name, {}).setdefault(label, {})[""] = gated
    return {"call": calls, "op": ops}


def _cpu(results: Results) -> dict[str, dict[str, dict[str, float]]]:
    """Per operation and backend, executions and median client CPU time (µs)."""
    cpu: dict[str, dict[str, dict[str, float]]] = {}
    for name, per in sorted(results.operations.items()):
        for label, stats in sorted(per.items()):
            summary = stats.get("client_cpu_us") or {}
            if summary.get("count"):
                cpu.setdefault(name, {})[label] = {"n": summary["count"], "p50": summary["p50"]}
    return cpu


def _from_oplog(
    results: Results, sides: list[dict[str, str]]
) -> tuple[list[dict[str, list[float]]], dict[str, list[str]]]:
    """Per pairing of ``sides``, the per-pair ratios (as ``Run._pair`` pairs them: both
    executions ok), and the calls each operation made, in one pass over the operation log."""
    ratios: list[dict[str, list[float]]] = [{} for _ in sides]
    calls: dict[str, set[str]] = {}
    for line in results.oplog():
        runs = line.get("runs") or {}
        made = calls.setdefault(line["op"], set())
        for run in runs.values():
            made.update(call.get("fn") for call in run.get("calls") or [] if call.get("fn"))
        for ratio, per_op in zip(sides, ratios, strict=True):
            first, second = runs.get(ratio["baseline"]), runs.get(ratio["candidate"])
            if (
                not first
                or not second
                or first.get("outcome") != "ok"
                or second.get("outcome") != "ok"
            ):
                continue
            if first.get("us", 0) > 0 and second.get("us", 0) > 0:
                per_op.setdefault(line["op"], []).append(round(second["us"] / first["us"], 5))
    return ratios, {op: sorted(names) for op, names in sorted(calls.items())}


def _finding_count(results: Results, name: str) -> int | None:
    data = results.findings(name)
    if data is None:
        return None
    if name == "validation":
        return len(data.get("findings") or []) or (0 if data.get("ok") else 1)
    if data.get("arms"):  # a run of several designs: every design arm's replay
        arms = data["arms"].values()
        found = sum(int(a["divergence_count"]) + int(a["final_differences"]) for a in arms)
        return found or (0 if all(a["ok"] for a in arms) else 1)
    final = (data.get("final_state") or {}).get("differences") or 0
    return len(data.get("divergences") or []) + int(final) or (0 if data.get("ok") else 1)


def snapshot(results: Results, config: GateConfig) -> Snapshot:
    """The gated figures of one results directory."""
    sides = [
        {"baseline": str(p["baseline"]), "candidate": str(p["candidate"])}
        for p in results.pairings
        if p.get("baseline") and p.get("candidate")
    ]
    ratios, calls = _from_oplog(results, sides)
    totals = results.meta.get("totals") or {}
    return Snapshot(
        source=str(results.path),
        workload=workload_of(results),
        backends=[
            {
                "label": b["label"],
                "backend": str((b.get("engine") or {}).get("backend")),
                "engine": str((b.get("engine") or {}).get("engine")),
            }
            for b in results.meta.get("backends", [])
        ],
        ratio=sides[0] if sides else None,
        counters=_counters(results, config),
        ratios=ratios[0] if sides else {},
        calls_by_operation=calls,
        findings={name: _finding_count(results, name) for name in ("validation", "diff")},
        divergent=dict(totals.get("divergent") or {}),
        harness_failures=int(totals.get("harness_failures") or 0),
        meta={
            "started_at": results.meta.get("started_at"),
            "git": results.meta.get("git"),
            "machine": results.meta.get("machine"),
            "argv": results.meta.get("argv"),
        },
        arms=[
            {**side, "ratios": per_op} for side, per_op in zip(sides[1:], ratios[1:], strict=True)
        ],
        cpu=_cpu(results),
    )


def write_baseline(results: Results, config: GateConfig, path: str | Path) -> Path:
    data = snapshot(results, config).to_json()
    data["written_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return target


def load_baseline(path: str | Path, config: GateConfig) -> Snapshot:
    """A stored baseline file, or a results directory (snapshotted now with ``config``)."""
    path = Path(path)
    if path.is_dir():
        return snapshot(load_results(path), config)
    data = json.loads(path.read_text())
    if data.get("format") != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} file")
    data.pop("format")
    data.pop("written_at", None)
    return Snapshot(**data)
