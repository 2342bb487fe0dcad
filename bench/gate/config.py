"""The gate's thresholds, from ``gate.toml`` (defaults here are the documented ones).

One file holds every number the gate decides with, so a reviewer sees the
tolerance next to its reason, and a noisy operation gets an override instead of
a looser gate for everyone (Bencher's per-measure thresholds, conbench's list
of known-unstable benchmarks).
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path("ci/gate.toml")


@dataclass(frozen=True)
class LatencyRule:
    """When a paired ratio (candidate / baseline backend) counts as regressed."""

    #: One-sided Mann-Whitney U p-value below which a shift is significant.
    alpha: float = 0.01
    #: The median ratio may grow by this fraction before it is a regression (1.0 = doubling).
    tolerance: float = 1.0
    #: Pairs needed on each side; with fewer the operation is reported, not gated.
    min_samples: int = 10


@dataclass(frozen=True)
class CpuRule:
    """The opt-in client CPU check: each operation's median client CPU time per backend
    (thread CPU time of the calling thread, ``client_cpu_us`` in operations.json)
    against the baseline's.

    CPU time leaves out waiting (other processes, the network, the store), so
    on a loaded machine it moves far less than wall time: it catches a client
    regression (an extra ORM hydration, a JSON re-encode) that the latency
    ratio's tolerance would hide. It is absolute, so use it only when the
    baseline ran on the same kind of machine.
    """

    enabled: bool = False
    #: The median may grow by this fraction (0.5 = x1.5) before it fails.
    tolerance: float = 0.5
    #: Executions needed in both runs; rarer operations are reported, not gated.
    min_count: int = 20
    #: Operations checked (``fnmatch`` patterns).
    operations: tuple[str, ...] = ("*",)

    def covers(self, operation: str) -> bool:
        return any(fnmatch.fnmatchcase(operation, pattern) for pattern in self.operations)


@dataclass(frozen=True)
class Exemption:
    """Counters of a DB API call that differ between identical runs, with the reason."""

    call: str
    counters: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class GateConfig:
    latency: LatencyRule = LatencyRule()
    #: ``increase`` fails on a ratio that grew; ``change`` also on one that shrank.
    fail_on: str = "increase"
    #: Per operation overrides of the latency rule.
    operations: dict[str, LatencyRule] = field(default_factory=dict)
    #: Counter names gated strictly (``fnmatch`` patterns: ``requests.*``).
    counters: tuple[str, ...] = (
        "statements",
        "joins",
        "tables",
        "requests",
        "requests.*",
        "dual_writes",
    )
    exemptions: tuple[Exemption, ...] = ()
    #: Fail on any validation finding / differential divergence when the files exist.
    findings: bool = True
    #: The opt-in client CPU check (``[cpu]``).
    cpu: CpuRule = CpuRule()
    source: str = "built-in defaults"

    def rule(self, operation: str) -> LatencyRule:
        return self.operations.get(operation, self.latency)

    def gated(self, counter: str) -> bool:
        return any(fnmatch.fnmatchcase(counter, pattern) for pattern in self.counters)

    def exemption(self, call: str, counter: str) -> Exemption | None:
        for exemption in self.exemptions:
            if exemption.call == call and any(
                fnmatch.fnmatchcase(counter, pattern) for pattern in exemption.counters
            ):
                return exemption
        return None


def _rule(data: dict[str, Any], base: LatencyRule) -> LatencyRule:
    unknown = set(data) - {"alpha", "tolerance", "min_samples"}
    if unknown:
        raise ValueError(f"unknown latency settings: {sorted(unknown)}")
    return LatencyRule(
        alpha=float(data.get("alpha", base.alpha)),
        tolerance=float(data.get("tolerance", base.tolerance)),
        min_samples=int(data.get("min_samples", base.min_samples)),
    )


def _cpu_rule(data: dict[str, Any]) -> CpuRule:
    unknown = set(data) - {"enabled", "tolerance", "min_count", "operations"}
    if unknown:
        raise ValueError(f"unknown cpu settings: {sorted(unknown)}")
    base = CpuRule()
    return CpuRule(
        enabled=bool(data.get("enabled", base.enabled)),
        tolerance=float(data.get("tolerance", base.tolerance)),
        min_count=int(data.get("min_count", base.min_count)),
        operations=tuple(data.get("operations") or base.operations),
    )


def parse_config(data: dict[str, Any], source: str = "gate.toml") -> GateConfig:
    """A ``GateConfig`` from the parsed TOML (``ValueError`` on a setting it does not know)."""
    defaults = GateConfig()
    latency = dict(data.get("latency") or {})
    overrides = latency.pop("operations", {}) or {}
    fail_on = latency.pop("fail_on", defaults.fail_on)
    if fail_on not in ("increase", "change"):
        raise ValueError(f"latency.fail_on must be 'increase' or 'change', not {fail_on!r}")
    latency.pop("test", None)  # documentation only: the test is Mann-Whitney U
    rule = _rule(latency, defaults.latency)
    counters = data.get("counters") or {}
    exemptions = tuple(
        Exemption(str(e["call"]), tuple(e.get("counters") or ["*"]), str(e.get("reason", "")))
        for e in counters.get("exempt") or []
    )
    return GateConfig(
        latency=rule,
        fail_on=fail_on,
        operations={name: _rule(values, rule) for name, values in overrides.items()},
        counters=tuple(counters.get("gated") or defaults.counters),
        exemptions=exemptions,
        findings=bool((data.get("findings") or {}).get("fail_on_findings", True)),
        cpu=_cpu_rule(dict(data.get("cpu") or {})),
        source=source,
    )


def load_config(path: str | Path | None = None) -> GateConfig:
    """``path``, else ``./ci/gate.toml`` when present, else the built-in defaults."""
    if path is None:
        if not DEFAULT_PATH.exists():
            return GateConfig()
        path = DEFAULT_PATH
    path = Path(path)
    with open(path, "rb") as stream:
        return parse_config(tomllib.load(stream), str(path))
