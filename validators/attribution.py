"""Attribution: which logged operations explain a finding (Elle's minimal witness).

Each finding names its *subjects* (the ids, or a name, of the items involved:
``PairCheck.subjects``). One pass over the run's operation log
(``results.oplog()``) collects, for the validated backend, every call whose
arguments or result mention a subject, with the call's outcome and its time
window. Then each finding gets the smallest explanation the log supports, in
this order:

1. a call that wrote a subject and was stopped by an injected fault (the fault
   log, ``faults.jsonl``, says which request of the call failed);
2. a call that wrote a subject and failed otherwise (its error);
3. two operations that wrote a subject at overlapping times (a lost update);
4. the last operation that wrote a subject (it succeeded: the log does not
   show the cause);
5. no logged operation at all (the state predates the run).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from cinderdb.api import READ_FUNCTIONS
from cinderdb.magneto.designs import ALL_PAIRS as DUAL_WRITE_BY_NAME
from validators.findings import Attribution, Finding
from validators.pairs import CHECKS, PairCheck

FAULTS_FILE = "faults.jsonl"
_FAULT = re.compile(r"injected fault #(\d+)")
_FAULT_REQUEST = re.compile(r"injected fault #\d+: \w+ ([\w,]+) \(")


@dataclass
class Touch:
    """One logged call that mentioned a subject."""

    seq: int
    op: str
    label: str
    fn: str
    ok: bool
    error: str | None
    message: str | None
    start: float
    end: float
    #: the subjects this call mentioned
    mentioned: frozenset[str] = frozenset()

    @property
    def writes(self) -> bool:
        return self.fn not in READ_FUNCTIONS

    @property
    def fault(self) -> int | None:
        match = _FAULT.search(self.message or "")
        return int(match.group(1)) if match else None

    def fault_tables(self, faults: Mapping[int, Mapping[str, Any]]) -> set[str]:
        """The tables of the request the fault failed (fault log, else the message)."""
        fault = faults.get(self.fault or 0)
        if fault:
            return set((fault.get("table") or "").split(","))
        match = _FAULT_REQUEST.search(self.message or "")
        return set(match.group(1).split(",")) if match else set()


def _strings(value: Any, found: set[str], wanted: set[str]) -> None:
    """The subject strings inside an encoded value (contexts skipped)."""
    if isinstance(value, str):
        if value in wanted:
            found.add(value)
    elif isinstance(value, dict):
        if value.get("$t") == "ctx":
            return
        for item in value.values():
            _strings(item, found, wanted)
    elif isinstance(value, list):
        for item in value:
            _strings(item, found, wanted)


def collect(
    lines: Iterable[Mapping[str, Any]], label: str, subjects: set[str]
) -> dict[str, list[Touch]]:
    """``subject -> calls that mentioned it`` on backend ``label``, in log order."""
    touches: dict[str, list[Touch]] = {}
    for line in lines:
        run = line.get("runs", {}).get(label)
        if run is None:
            continue
        start = float(line.get("t") or 0.0)
        for other in line.get("order", []):  # the backends ran back to back, in this order
            if other == label:
                break
            start += line["runs"].get(other, {}).get("us", 0) / 1e6
        for call in run.get("calls", []):
            end = start + call.get("us", 0) / 1e6
            found: set[str] = set()
            _strings(call.get("args"), found, subjects)
            _strings(call.get("kwargs"), found, subjects)
            outcome = call.get("outcome") or {}
            _strings([outcome.get("id"), outcome.get("value")], found, subjects)
            if found:
                touch = Touch(
                    line["seq"],
                    line["op"],
                    label,
                    call["fn"],
                    bool(outcome.get("ok", True)),
                    outcome.get("error"),
                    outcome.get("message"),
                    start,
                    end,
                    frozenset(found),
                )
                for subject in found:
                    touches.setdefault(subject, []).append(touch)
            start = end
    return touches


def read_faults(directory: str | Path | None) -> dict[int, dict[str, Any]]:
    """``faults.jsonl`` of a results directory: fault id -> the injected fault."""
    if directory is None or not (Path(directory) / FAULTS_FILE).exists():
        return {}
    with open(Path(directory) / FAULTS_FILE, "rb") as stream:
        faults = (orjson.loads(line) for line in stream if line.strip())
        return {fault["id"]: fault for fault in faults}


def checks_by_name(names: Iterable[str]) -> dict[str, PairCheck]:
    """A check per declared pair named (for its ``subjects``)."""
    pairs = [DUAL_WRITE_BY_NAME[name] for name in names if name in DUAL_WRITE_BY_NAME]
    return {pair.name: CHECKS[pair.kind](pair) for pair in pairs}


def attribute(
    findings: list[Finding],
    lines: Iterable[Mapping[str, Any]],
    label: str,
    *,
    faults: Mapping[int, Mapping[str, Any]] | None = None,
    unsafe: bool = False,
) -> int:
    """Fill ``attributed_to`` and ``explanation`` of each finding; returns how many got a
    logged cause."""
    checks = checks_by_name({finding.check for finding in findings})
    subjects_of = {
        id(f): checks[f.check].subjects(f) if f.check in checks else [] for f in findings
    }
    wanted = {s for subjects in subjects_of.values() for s in subjects}
    touches = collect(lines, label, wanted) if wanted else {}
    explained = 0
    for finding in findings:
        subjects = subjects_of[id(finding)]
        seen = list({id(t): t for s in subjects for t in touches.get(s, [])}.values())
        check = checks.get(finding.check)
        tables = {check.source.name, check.target.name} if check else set()
        witnesses, text = explain(seen, faults or {}, unsafe, subjects, tables)
        finding.attributed_to = [
            Attribution(t.seq, t.op, t.label, sorted({c.fn for c in seen if c.seq == t.seq}), note)
            for t, note in witnesses
        ]
        finding.explanation = text
        explained += bool(witnesses)
    return explained


def explain(
    seen: list[Touch],
    faults: Mapping[int, Mapping[str, Any]],
    unsafe: bool,
    subjects: list[str],
    tables: set[str] | None = None,
) -> tuple[list[tuple[Touch, str]], str]:
    """The minimal witnesses among the calls that touched a finding's subjects, and the
    sentence that explains it. Among several candidates, a call that named the first
    (most specific) subject is preferred, then (faults) one that failed a write to one of
    the pair's ``tables``, then one that named more subjects, then the latest."""
    primary = subjects[0] if subjects else None
    wanted = set(subjects)

    def closeness(touch: Touch) -> tuple[bool, int, float]:
        return (primary in touch.mentioned, len(touch.mentioned & wanted), touch.end)

    if not subjects:
        return [], "nothing in the log can name this item (it carries no id to follow)"
    writes = [touch for touch in seen if touch.writes]
    if not writes:
        what = ", ".join(subjects)
        return [], (
            f"no logged operation named {what} in a write: the state predates the run, or a "
            "call that does not take these ids as arguments wrote it"
        )
    failed = [touch for touch in writes if not touch.ok]
    faulted = [touch for touch in failed if touch.fault is not None]
    if faulted:
        # a crash stops every later write of its call, so a fault in another table may
        # still explain the finding; one in the pair's own tables explains it better
        def fault_rank(touch: Touch) -> tuple[bool, bool, int, float]:
            in_pair = bool(touch.fault_tables(faults) & (tables or set()))
            return (primary in touch.mentioned, in_pair, *closeness(touch)[1:])

        touch = max(faulted, key=fault_rank)
        fault = faults.get(touch.fault or 0, {})
        where = _fault_place(fault)
        note = f"{touch.fn} failed at {where} (injected fault #{touch.fault})"
        text = f"{touch.op} #{touch.seq}: {note}, after its earlier writes were applied"
        return [(touch, note)], text
    failed = [touch for touch in failed if touch.fault is None]
    if failed:
        touch = max(failed, key=closeness)
        note = f"{touch.fn} failed: {touch.error}: {(touch.message or '')[:120]}"
        return [(touch, note)], f"{touch.op} #{touch.seq}: {note}"
    close = [touch for touch in writes if primary in touch.mentioned] or writes
    last = max(close, key=lambda t: t.end)
    rivals = [t for t in writes if t.seq != last.seq and t.start < last.end and last.start < t.end]
    if rivals:
        rival = max(rivals, key=lambda t: t.end)
        why = " (conditional updates were off)" if unsafe else ""
        text = (
            f"{rival.op} #{rival.seq} ({rival.fn}) and {last.op} #{last.seq} ({last.fn}) wrote "
            f"the same item at overlapping times: one overwrote the other's change, a lost "
            f"update{why}"
        )
        return [(rival, "concurrent write"), (last, "concurrent write, finished last")], text
    note = f"{last.fn} succeeded"
    text = f"{last.op} #{last.seq} was the last to write it ({last.fn}, ok): the log shows no cause"
    return [(last, note)], text


def _fault_place(fault: Mapping[str, Any]) -> str:
    if not fault:
        return "a request"
    position = f"write {fault['write']}" if fault.get("write") else f"request {fault['request']}"
    table = f" {fault['table']}" if fault.get("table") else ""
    return f"its {position} ({fault['op']}{table})"


def oplog_lines(directory: str | Path) -> Iterator[dict[str, Any]]:
    """The operation log of a results directory (empty when there is none)."""
    from bench.measure.results import load_results

    try:
        return load_results(directory).oplog()
    except (FileNotFoundError, ValueError):
        from bench.measure.oplog import read_oplog

        path = Path(directory) / "oplog.jsonl"
        return read_oplog(path) if path.exists() else iter(())
