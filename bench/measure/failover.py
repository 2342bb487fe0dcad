"""What a node kill did to each backend it served, read from the operation log.

For every kill (``bench.drive.kills``) and every backend label the killed
cluster served:

- ``served_again_s``: seconds from the kill to the end of the first operation
  that started after it and succeeded on that backend (the side answers again);
- ``writes_served_again_s``: the same for the first such operation that writes
  (a call outside ``cinderdb.api.READ_FUNCTIONS``): a replicated store may go
  on reading from the survivors while its writes wait for the group to drop
  the dead node;
- ``errors``: per operation and exception class, the error outcomes of the
  operations in flight at the kill or started before the side served writes
  again (the failover window), and ``errors_after_kill``, every error from the
  kill to the end of the run;
- ``call_errors``: per DB API function and exception class, the calls that
  failed with an error (not a Cinder refusal such as ``GlanceMetadataNotFound``,
  which Cinder's own code expects) in the failover window, whether or not their
  operation failed (Cinder swallows a failed ``QUOTAS.commit``: the operation
  succeeds, the usage misses its change).

Times are wall-clock: an operation of a backend started when the step did plus
the service times of the backends that ran before it in the step's order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from bench.measure.outcomes import error_name
from cinderdb.api import READ_FUNCTIONS


def _timed_runs(line: dict[str, Any]) -> Iterable[tuple[str, float, float, dict[str, Any]]]:
    """``(label, start epoch, end epoch, run)`` of each backend's execution of a step."""
    clock = float(line["t"])
    runs = line.get("runs") or {}
    for label in line.get("order") or list(runs):
        run = runs.get(label)
        if run is None:
            continue
        end = clock + run.get("us", 0) / 1e6
        yield label, clock, end, run
        clock = end


def _writes(run: dict[str, Any]) -> bool:
    return any(call.get("fn") not in READ_FUNCTIONS for call in run.get("calls") or ())


def failover_facts(lines: Iterable[dict[str, Any]], kills: list[dict[str, Any]]) -> None:
    """Add to each kill record that happened, per label it served, what the log shows
    (in place: the records go to run.json as they are)."""
    done = [kill for kill in kills if kill.get("killed")]
    if not done:
        return
    runs_by_label: dict[str, list[tuple[str, float, float, dict[str, Any]]]] = {}
    wanted = {label for kill in done for label in kill.get("labels", ())}
    for line in lines:
        for label, start, end, run in _timed_runs(line):
            if label in wanted:
                runs_by_label.setdefault(label, []).append((line["op"], start, end, run))
    for kill in done:
        kill["effects"] = {
            label: _effects(runs_by_label.get(label, []), float(kill["epoch"]))
            for label in kill.get("labels", ())
        }


def _effects(runs: list[tuple[str, float, float, dict[str, Any]]], killed: float) -> dict[str, Any]:
    after = sorted((r for r in runs if r[1] >= killed), key=lambda r: r[2])
    first_ok = next((r for r in after if r[3].get("outcome") == "ok"), None)
    first_write = next((r for r in after if r[3].get("outcome") == "ok" and _writes(r[3])), None)
    recovered = (first_write or first_ok or (None, None, float("inf")))[2]
    window: dict[str, Counter] = {}
    late: dict[str, Counter] = {}
    calls: dict[str, Counter] = {}
    for op, start, end, run in runs:
        if end < killed:
            continue
        if start <= recovered:
            for call in run.get("calls") or ():
                outcome = call.get("outcome") or {}
                if outcome.get("ok") is False and error_name(outcome.get("error")):
                    calls.setdefault(call["fn"], Counter())[outcome.get("error") or "error"] += 1
        if run.get("outcome") != "error":
            continue
        name = run.get("error") or "error"
        late.setdefault(op, Counter())[name] += 1
        if start <= recovered:
            window.setdefault(op, Counter())[name] += 1
    return {
        "served_again_s": None if first_ok is None else round(first_ok[2] - killed, 3),
        "first_ok_operation": None if first_ok is None else first_ok[0],
        "writes_served_again_s": None if first_write is None else round(first_write[2] - killed, 3),
        "first_ok_write": None if first_write is None else first_write[0],
        "errors": {op: dict(counts) for op, counts in sorted(window.items())},
        "errors_after_kill": {op: dict(counts) for op, counts in sorted(late.items())},
        "call_errors": {fn: dict(counts) for fn, counts in sorted(calls.items())},
        "operations_after_kill": len(after),
    }
