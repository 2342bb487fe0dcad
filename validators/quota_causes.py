"""Why a quota usage drifted: the logged operations that explain a quota finding.

A usage changes only through Cinder's reserve → write → commit (or rollback)
sequence, so a usage that no longer matches what exists was left by one of:

1. an operation of the project that **failed half way**: a quota call failed
   between its writes (an injected fault names the request), or a write of
   something quota counts (a create or destroy, a new size) failed after the
   reserve — before the commit, which then never came, or after it — so the
   store may hold a change the usage does not, or the reverse; or it created a
   record outside quota (a migration's destination) and failed before
   destroying it;
2. two operations of the project whose quota writes **overlapped** in time: on
   a store without conditional updates one overwrote the other (a lost update);
3. otherwise the last operation that changed the usage (the log shows no cause).

``explain_quota(finding, operations)`` picks the first that applies, Elle
style: the minimal witnesses and one sentence. Operations are read once per
backend with ``project_operations``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from validators.findings import Attribution, Finding

#: The calls that change a usage or its reservations.
QUOTA_WRITES = frozenset(
    {
        "quota_reserve",
        "reservation_commit",
        "reservation_rollback",
        "reservation_expire",
        "quota_destroy_all_by_project",
    }
)
SETTLES = frozenset({"reservation_commit", "reservation_rollback"})
_FAULT = re.compile(r"injected fault #(\d+)")


@dataclass
class Operation:
    """One logged operation of a project, on one backend, with its time window."""

    seq: int
    op: str
    label: str
    start: float
    end: float
    calls: list[dict[str, Any]] = field(default_factory=list)

    def ok(self, function: str) -> bool:
        return any(c["fn"] == function and _ok(c) for c in self.calls)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [c for c in self.calls if not _ok(c)]

    @property
    def writes_quota(self) -> bool:
        return any(c["fn"] in QUOTA_WRITES and _ok(c) for c in self.calls)

    def names(self) -> list[str]:
        return sorted({c["fn"] for c in self.calls if c["fn"] in QUOTA_WRITES or not _ok(c)})


def _ok(call: Mapping[str, Any]) -> bool:
    return bool((call.get("outcome") or {}).get("ok", True))


def _projects(line: Mapping[str, Any], calls: Iterable[Mapping[str, Any]]) -> set[str]:
    found = {(line.get("plan") or {}).get("project_id")}
    for call in calls:
        project = (call.get("kwargs") or {}).get("project_id")
        if isinstance(project, str):
            found.add(project)
    found.discard(None)
    return found  # type: ignore[return-value]


def project_operations(
    lines: Iterable[Mapping[str, Any]], label: str, projects: set[str]
) -> dict[str, list[Operation]]:
    """``project -> its operations on backend label``, in log order."""
    found: dict[str, list[Operation]] = defaultdict(list)
    for line in lines:
        run = (line.get("runs") or {}).get(label)
        if run is None:
            continue
        calls = run.get("calls") or []
        mine = _projects(line, calls) & projects
        if not mine:
            continue
        start = float(line.get("t") or 0.0)
        for other in line.get("order") or ():  # the backends ran back to back, in this order
            if other == label:
                break
            start += (line["runs"].get(other) or {}).get("us", 0) / 1e6
        operation = Operation(
            int(line["seq"]), line["op"], label, start, start + run.get("us", 0) / 1e6, calls
        )
        for project in mine:
            found[project].append(operation)
    return found


#: Writes that change what the sync functions count (a create or destroy of a counted
#: record); an update counts when its values name a counted column.
COUNTED_WRITES = frozenset(
    {
        "volume_create",
        "volume_destroy",
        "snapshot_create",
        "snapshot_destroy",
        "consistencygroup_create",
        "consistencygroup_destroy",
        "finish_volume_migration",
    }
)
COUNTED_COLUMNS = frozenset({"size", "volume_size", "project_id", "volume_type_id", "deleted"})


def _changes_counts(call: Mapping[str, Any]) -> bool:
    if call["fn"] in COUNTED_WRITES:
        return True
    values = (call.get("args") or [None, None, None])[2:3]
    return call["fn"].endswith("_update") and bool(
        values and isinstance(values[0], dict) and COUNTED_COLUMNS & set(values[0])
    )


def _why(call: Mapping[str, Any]) -> str:
    outcome = call.get("outcome") or {}
    fault = _FAULT.search(outcome.get("message") or "")
    return f"injected fault #{fault.group(1)}" if fault else outcome.get("error") or "an error"


def _half_done(operation: Operation) -> str | None:
    """How a failed operation left its project's usage out of step with what exists, or
    None: a failed quota call, or a failed write of what quota counts (after a reserve
    never settled, or after the commit)."""
    for call in operation.failed:
        where = f"{call['fn']} failed ({_why(call)})"
        if call["fn"] in QUOTA_WRITES:
            return f"{where}: the usage may hold part of its change"
        if not _changes_counts(call):
            continue
        if operation.ok("quota_reserve") and not any(operation.ok(s) for s in SETTLES):
            return f"it reserved, then {where}; the reservation was never settled"
        if operation.ok("reservation_commit"):
            return f"it committed its quota, then {where}"
    failed = operation.failed
    unquoted = [c for c in operation.calls if _ok(c) and c["fn"] in COUNTED_WRITES]
    if failed and unquoted and not operation.ok("quota_reserve"):
        return (
            f"it ran {unquoted[0]['fn']} outside quota (as Cinder's migration does) and "
            f"{failed[0]['fn']} failed ({_why(failed[0])}) before it was undone"
        )
    return None


def explain_quota(
    finding: Finding, operations: list[Operation], unsafe: bool = False
) -> tuple[list[Attribution], str]:
    """The minimal witnesses of one quota finding among its project's operations."""
    project = finding.key.get("project_id")
    touching = [o for o in operations if o.writes_quota or _half_done(o)]
    if not touching:
        return [], f"no logged operation changed the quota of {project}: the state predates the run"
    broken = [(o, _half_done(o)) for o in touching if _half_done(o)]
    if broken:
        shown = broken[-3:]
        witnesses = [Attribution(o.seq, o.op, o.label, o.names(), note or "") for o, note in shown]
        text = "; ".join(f"{o.op} #{o.seq}: {note}" for o, note in shown)
        return witnesses, text
    writers = [o for o in touching if o.writes_quota]
    pairs = [
        (a, b)
        for i, a in enumerate(writers)
        for b in writers[i + 1 :]
        if a.start < b.end and b.start < a.end
    ]
    if pairs:
        a, b = pairs[-1]
        why = " with conditional updates off" if unsafe else ""
        text = (
            f"{a.op} #{a.seq} and {b.op} #{b.seq} changed the quota of {project} at overlapping "
            f"times{why}: one overwrote the other's change, a lost update "
            f"({len(pairs)} overlapping pairs in all)"
        )
        note = "concurrent quota write"
        return [Attribution(o.seq, o.op, o.label, o.names(), note) for o in (a, b)], text
    last = writers[-1]
    text = (
        f"{last.op} #{last.seq} was the last to change the quota of {project}: "
        "the log shows no cause"
    )
    return [Attribution(last.seq, last.op, last.label, last.names(), "succeeded")], text


def attribute_quota(
    findings: list[Finding], lines: Iterable[Mapping[str, Any]], label: str, unsafe: bool = False
) -> int:
    """Fill ``attributed_to`` and ``explanation`` of quota findings; returns how many got a
    logged cause."""
    projects = {f.key["project_id"] for f in findings}
    if not projects:
        return 0
    by_project = project_operations(lines, label, projects)
    explained = 0
    for finding in findings:
        witnesses, text = explain_quota(
            finding, by_project.get(finding.key["project_id"], []), unsafe
        )
        finding.attributed_to, finding.explanation = witnesses, text
        explained += bool(witnesses)
    return explained
