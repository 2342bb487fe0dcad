"""The gate's checks: workload, counters (strict), latency ratios (statistical), findings.

Two signals, as the anchors recommend (research/anchors.md §8, c.8):

- **Counters** (statements, JOINs, tables, requests by type, dual writes per
  call and caller context, and per operation) do not depend on the machine, so
  any change fails, with the exact figures before and after. Under a
  deterministic workload (one thread, a fixed operation count, same seeds) the
  runs plan the same operations, so even data-dependent counts must match;
  otherwise only the per-event shape (a counter whose minimum equals its
  maximum) is compared. Calls whose counts depend on the wall clock are
  exempt in gate.toml, with the reason, and operations inherit that from the
  calls they make.
- **Latency** is gated on the paired ratio candidate/baseline backend
  measured side by side in one run (both backends suffer the machine's noise
  alike), against the baseline's ratios, with a one-sided **Mann-Whitney U**
  test on the two samples of per-pair ratios. Why that and not the bootstrap
  CI of the median: the gate compares two independent samples (this run's
  pairs and the baseline's), and Mann-Whitney uses both whole samples, where
  comparing this run's CI with the baseline's point estimate ignores the
  baseline's own noise; it is rank-based, so the heavy tails of a shared
  machine (a GC pause, an fsync) do not drive it; it is asv's choice. A shift
  fails only when it is significant (p < alpha) *and* larger than the
  tolerance on the median ratio, so a large sample cannot fail on a
  negligible change, nor a tiny one on noise.

An opt-in third signal, **client CPU** (``[cpu]`` in gate.toml), compares each
operation's median thread CPU time per backend with the baseline's: CPU time
leaves out waiting, so on a loaded machine it is the sharper test of a
client-side regression. It is absolute: baseline and run must share a machine type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.gate.baseline import Snapshot
from bench.gate.config import GateConfig


@dataclass
class Check:
    """One gated figure. ``ok`` is None when it was not gated (and ``detail`` says why)."""

    name: str
    kind: str  # workload | counter | latency | cpu | finding
    baseline: Any
    value: Any
    ok: bool | None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "baseline": self.baseline,
            "value": self.value,
            "ok": self.ok,
            "detail": self.detail,
        }


def workload_checks(base: Snapshot, current: Snapshot) -> list[Check]:
    """Same workload and same backends, or the counters cannot be compared."""
    checks = []
    differing = sorted(
        key
        for key in set(base.workload) | set(current.workload)
        if base.workload.get(key) != current.workload.get(key)
    )
    checks.append(
        Check(
            "workload",
            "workload",
            {k: base.workload.get(k) for k in differing} or "same",
            {k: current.workload.get(k) for k in differing} or "same",
            not differing,
            f"differs in {', '.join(differing)}: rerun with the baseline's options "
            "or write a new baseline"
            if differing
            else (
                "deterministic (1 thread, fixed operation count)"
                if current.deterministic
                else "same parameters"
            ),
        )
    )
    checks.append(
        Check(
            "backends",
            "workload",
            base.backends,
            current.backends,
            base.backends == current.backends,
            "" if base.backends == current.backends else "other backends ran: nothing to compare",
        )
    )
    return checks


def _is_zero(stats: dict[str, int] | None) -> bool:
    """Absent and zero are the same count: a counter kind nobody incremented."""
    return not stats or (stats["sum"] == 0 and stats["max"] == 0)


def _text(stats: dict[str, int] | None) -> str:
    if not stats:
        return "absent"
    mean = stats["sum"] / stats["n"] if stats["n"] else 0.0
    shape = f"{stats['min']}" if stats["min"] == stats["max"] else f"{stats['min']}..{stats['max']}"
    return f"{mean:g} per event ({shape}), {stats['sum']} over {stats['n']}"


def _exempt(
    config: GateConfig, scope: str, name: str, counter: str, calls: dict[str, list[str]]
) -> str | None:
    if scope == "call":
        exemption = config.exemption(name, counter)
        return f"exempt: {exemption.reason}" if exemption else None
    for call in calls.get(name, []):
        exemption = config.exemption(call, counter)
        if exemption:
            return f"exempt: calls {call} ({exemption.reason})"
    return None


def _counter_name(scope: str, name: str, context: str, counter: str, backend: str) -> str:
    subject = f"op:{name}" if scope == "op" else f"{name}[{context}]"
    return f"counter {subject}.{counter} ({backend})"


def counter_checks(base: Snapshot, current: Snapshot, config: GateConfig) -> list[Check]:
    strict = base.deterministic and current.deterministic and base.workload == current.workload
    calls = {
        op: sorted(
            set(base.calls_by_operation.get(op, [])) | set(current.calls_by_operation.get(op, []))
        )
        for op in set(base.calls_by_operation) | set(current.calls_by_operation)
    }
    checks = []
    for scope in ("call", "op"):
        before_all, after_all = base.counters.get(scope, {}), current.counters.get(scope, {})
        keys = set()
        for source in (before_all, after_all):
            for name, per in source.items():
                for backend, contexts in per.items():
                    for context, counters in contexts.items():
                        keys.update(
                            (name, backend, context, counter)
                            for counter in counters
                            if config.gated(counter)
                        )
        for name, backend, context, counter in sorted(keys):
            before = before_all.get(name, {}).get(backend, {}).get(context, {}).get(counter)
            after = after_all.get(name, {}).get(backend, {}).get(context, {}).get(counter)
            check_name = _counter_name(scope, name, context, counter, backend)
            exempt = _exempt(config, scope, name, counter, calls)
            if exempt:
                checks.append(Check(check_name, "counter", before, after, None, exempt))
            elif strict:
                same = before == after or (_is_zero(before) and _is_zero(after))
                detail = "" if same else f"{_text(before)} -> {_text(after)}"
                checks.append(Check(check_name, "counter", before, after, same, detail))
            elif before and after and before["min"] == before["max"]:
                same = (after["min"], after["max"]) == (before["min"], before["max"])
                detail = "" if same else f"per event {_text(before)} -> {_text(after)}"
                checks.append(Check(check_name, "counter", before, after, same, detail))
            else:
                reason = (
                    "data-dependent counts under a non-deterministic workload"
                    if before and after
                    else "not exercised by both runs"
                )
                checks.append(Check(check_name, "counter", before, after, None, reason))
    return checks


def _median(values: list[float]) -> float:
    import statistics

    return float(statistics.median(values))


def latency_checks(base: Snapshot, current: Snapshot, config: GateConfig) -> list[Check]:

    if not base.ratio or not current.ratio:
        return [
            Check("latency", "latency", base.ratio, current.ratio, None, "not a two-backend run")
        ]
    before_all = {(s["baseline"], s["candidate"]): r for s, r in base.pairings()}
    checks = []
    for ratio, ratios in current.pairings():
        before = before_all.get((ratio["baseline"], ratio["candidate"]))
        sides = f"{ratio['candidate']}/{ratio['baseline']}"
        if before is None:
            checks.append(
                Check(f"latency ({sides})", "latency", None, None, None, "not in the baseline")
            )
            continue
        checks += _pairing_checks(before, ratios, sides, config)
    return checks


def _pairing_checks(
    base: dict[str, list[float]],
    current: dict[str, list[float]],
    sides: str,
    config: GateConfig,
) -> list[Check]:
    """The latency checks of one pairing: its per-pair ratios now against the baseline's."""
    from scipy.stats import mannwhitneyu

    checks = []
    for op in sorted(set(base) | set(current)):
        before, after = base.get(op, []), current.get(op, [])
        rule = config.rule(op)
        name = f"latency {op} ({sides})"
        if min(len(before), len(after)) < rule.min_samples:
            checks.append(
                Check(
                    name,
                    "latency",
                    _median(before) if before else None,
                    _median(after) if after else None,
                    None,
                    f"{len(before)}/{len(after)} pairs, fewer than {rule.min_samples}: not gated",
                )
            )
            continue
        m_before, m_after = _median(before), _median(after)
        fold = m_after / m_before
        slower = mannwhitneyu(after, before, alternative="greater").pvalue
        faster = mannwhitneyu(after, before, alternative="less").pvalue
        limit = 1.0 + rule.tolerance
        regressed = slower < rule.alpha and fold > limit
        changed = config.fail_on == "change" and faster < rule.alpha and fold < 1.0 / limit
        verdict = "regressed" if regressed else "changed" if changed else "within tolerance"
        checks.append(
            Check(
                name,
                "latency",
                round(m_before, 4),
                round(m_after, 4),
                not (regressed or changed),
                f"median ratio {m_before:.3f} -> {m_after:.3f} (x{fold:.2f}); Mann-Whitney U "
                f"one-sided p={min(slower, faster):.2g} "
                f"({'slower' if slower <= faster else 'faster'}), n={len(before)}/{len(after)}; "
                f"fails beyond x{limit:.2f} at p<{rule.alpha:g}: {verdict}",
            )
        )
    return checks


def cpu_checks(base: Snapshot, current: Snapshot, config: GateConfig) -> list[Check]:
    """The opt-in client CPU check: each operation's median client CPU time per backend
    against the baseline's; fails when it grew beyond the tolerance (``[cpu]``)."""
    rule = config.cpu
    if not base.cpu:
        return [Check("cpu", "cpu", None, None, None, "the baseline has no client CPU times")]
    checks = []
    for op in sorted(set(base.cpu) | set(current.cpu)):
        if not rule.covers(op):
            continue
        for backend in sorted(set(base.cpu.get(op, {})) | set(current.cpu.get(op, {}))):
            before = base.cpu.get(op, {}).get(backend)
            after = current.cpu.get(op, {}).get(backend)
            name = f"cpu {op} ({backend})"
            p50_before = before["p50"] if before else None
            p50_after = after["p50"] if after else None
            counts = (int(before["n"]) if before else 0, int(after["n"]) if after else 0)
            if min(counts) < rule.min_count or not p50_before:
                detail = f"{counts[0]}/{counts[1]} executions, fewer than {rule.min_count}"
                checks.append(
                    Check(name, "cpu", p50_before, p50_after, None, detail + ": not gated")
                )
                continue
            fold = float(p50_after) / float(p50_before)  # type: ignore[arg-type]
            limit = 1.0 + rule.tolerance
            checks.append(
                Check(
                    name,
                    "cpu",
                    p50_before,
                    p50_after,
                    fold <= limit,
                    f"median client CPU {p50_before} -> {p50_after} µs (x{fold:.2f}), "
                    f"n={counts[0]}/{counts[1]}; fails beyond x{limit:.2f}: "
                    + ("regressed" if fold > limit else "within tolerance"),
                )
            )
    return checks


def finding_checks(base: Snapshot, current: Snapshot, config: GateConfig) -> list[Check]:
    checks = []
    for name, label in (("validation", "dual-write validation"), ("diff", "differential replay")):
        found = current.findings.get(name)
        if found is None:
            checks.append(
                Check(
                    f"finding {name}",
                    "finding",
                    base.findings.get(name),
                    None,
                    None,
                    f"no {name}.json: {label} did not run",
                )
            )
            continue
        ok = found == 0 or not config.findings
        detail = "" if found == 0 else f"{found} findings in {name}.json ({label})"
        checks.append(
            Check(f"finding {name}", "finding", base.findings.get(name), found, ok, detail)
        )
    strict = base.deterministic and current.deterministic and base.workload == current.workload
    divergent_now, divergent_before = sum(current.divergent.values()), sum(base.divergent.values())
    ok = current.divergent == base.divergent if strict else divergent_now <= divergent_before
    checks.append(
        Check(
            "finding outcome divergences",
            "finding",
            base.divergent,
            current.divergent,
            ok,
            ""
            if ok
            else f"operations whose outcome differed between the backends: {base.divergent} "
            f"-> {current.divergent}",
        )
    )
    checks.append(
        Check(
            "finding harness failures",
            "finding",
            base.harness_failures,
            current.harness_failures,
            current.harness_failures == 0,
            ""
            if current.harness_failures == 0
            else f"{current.harness_failures} harness failures (see run.json)",
        )
    )
    return checks


def run_checks(base: Snapshot, current: Snapshot, config: GateConfig) -> list[Check]:
    return [
        *workload_checks(base, current),
        *counter_checks(base, current, config),
        *latency_checks(base, current, config),
        *(cpu_checks(base, current, config) if config.cpu.enabled else []),
        *finding_checks(base, current, config),
    ]
