"""Online validation: sweeps while the load runs, each finding re-checked until it settles.

While writes go on, a sweep sees many momentary disagreements: a call between
its two writes (by design the second copy is written first), or an item that
changed between the scan of one table and the scan of the other. So every
finding of a sweep is *re-checked*: the items that decide it are read again
(``dualwrite.recheck``), at growing intervals, until the invariant holds
(the finding was lag: *transient*, and the time it took is its convergence
time) or the settle window has passed (a *divergence*, reported like an
offline finding). Sweeps repeat until the duration is spent. Each pair's
convergence times are summarised (n, p50, p99, max) and ``convergence_ms`` is
the longest: how long that pair's copies may disagree under this load.

Convergence is measured from the end of the sweep that saw the finding, so it
is a lower bound: the copies may have disagreed for up to a sweep before.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cinderdb.magneto.tables import DualWrite
from validators.dualwrite import Validation, describe_examples, recheck, validate
from validators.findings import CheckSummary, Finding
from validators.pairs import identity
from validators.reader import Reader, store_design

#: First re-check interval (s); each round waits 1.5x longer, at most MAX_POLL.
POLL = 0.02
MAX_POLL = 0.25
#: Seconds between two progress lines.
REPORT_EVERY = 5.0


@dataclass
class _Pending:
    finding: Finding
    first_seen: float


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def convergence_summary(values: Sequence[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "n": len(values),
        "p50": round(percentile(values, 50), 1),
        "p99": round(percentile(values, 99), 1),
        "max": round(max(values), 1),
    }


def validate_online(
    reader: Reader,
    duration: float,
    settle: float,
    pairs: Sequence[DualWrite] | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> Validation:
    """Sweep and re-check for ``duration`` seconds (at least one sweep); findings that still
    hold ``settle`` seconds after they were seen are divergences."""
    started = time.perf_counter()
    if pairs is None:
        pairs = store_design(reader.client).pairs
    deadline = time.monotonic() + duration
    divergent: dict[tuple, Finding] = {}
    transient: list[Finding] = []
    converged: dict[str, list[float]] = defaultdict(list)
    last: Validation | None = None
    sweeps = 0
    next_report = 0.0
    while last is None or time.monotonic() < deadline:
        last = validate(reader, pairs, describe=False)
        sweeps += 1
        seen_at = time.monotonic()
        pending = {
            identity(f): _Pending(f, seen_at) for f in last.findings if identity(f) not in divergent
        }
        poll = POLL
        while pending:
            keys = list(pending)
            holds = recheck(reader, last.checks, [pending[k].finding for k in keys])
            now = time.monotonic()
            for key, still in zip(keys, holds, strict=True):
                entry = pending[key]
                if not still:
                    entry.finding.transient = True
                    transient.append(entry.finding)
                    converged[entry.finding.check].append((now - entry.first_seen) * 1000)
                    del pending[key]
                elif now - entry.first_seen >= settle:
                    divergent[key] = entry.finding
                    del pending[key]
            if pending:
                time.sleep(poll)
                poll = min(poll * 1.5, MAX_POLL)
        last_sweep = time.monotonic() >= deadline
        if progress is not None and (time.monotonic() >= next_report or last_sweep):
            next_report = time.monotonic() + REPORT_EVERY
            progress(
                f"sweep {sweeps}: {len(last.findings)} seen, {len(divergent)} divergent, "
                f"{len(transient)} transient so far"
            )
    assert last is not None
    summaries = []
    for summary in last.summaries:
        online = CheckSummary(summary.name, summary.kind, checked=summary.checked)
        online.seconds = summary.seconds
        for finding in divergent.values():
            if finding.check == summary.name:
                online.count(finding.cls)
        times = converged.get(summary.name, [])
        online.transient = len(times)
        online.convergence = convergence_summary(times)
        online.convergence_ms = online.convergence["max"] if online.convergence else None
        summaries.append(online)
    findings = list(divergent.values()) + transient
    validation = Validation(
        "online",
        last.checks,
        summaries,
        findings,
        time.perf_counter() - started,
        {"sweeps": sweeps, "settle_s": settle, "duration_s": duration},
    )
    describe_examples(reader, validation)
    return validation
