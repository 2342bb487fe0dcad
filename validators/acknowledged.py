"""Was anything acknowledged lost? The run's own stores against a replay of their own log.

A node killed mid-run (``--kill-node``) may leave a store short of writes it
acknowledged (a replica that lost its log, a failover that dropped a commit),
or holding the effects of calls whose answer was lost. The validators and the
quota invariants look at one store at a time, and the differential replay
compares two *fresh* stores with each other: none of them sees what the run's
store should hold. This check does, per backend of the run:

1. **replay** that backend's own logged writes (not the reference's: a kill
   fails different operations on each side; a read only when a later call of
   its operation takes its answer), in start order on the logical clock, on
   a fresh embedded store of its side loaded with the run's dataset; a call
   whose outcome the run could not know (``outcome_unknown``: a lost
   connection or answer) is *skipped*, and every id it names, with the project
   of its operation, is marked **uncertain**;
2. **read** the final logical state of the run's store and of the replay
   (``validators.state``, timestamps compared by presence: the run's are its
   wall clock) and compare them entry by entry, generated ids through their
   tokens;
3. **classify** every difference, and every finding of the dual-write
   validation and the quota invariants of that backend: **(a) unacknowledged**
   when it concerns an uncertain id or project, or a finding's attributed
   operation failed (Liberty swallows a failed ``reservation_commit`` and the
   usage drifts: its own behaviour), else **(b) acknowledged lost**, which
   must be 0.

The replay is serial: a run with several threads may have interleaved two
operations on one record in an order the start order does not repeat; the
standard mix rarely does, and such a difference counts as (b) — a conservative
answer, never a hidden loss.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bench.measure.oplog import decode_call
from bench.measure.outcomes import outcome_unknown
from bench.measure.results import Results, load_results
from bench.workload.datasets import DatasetSpec, build_dataset
from cinderdb import EMBEDDED_URLS, open_backend, side_of
from cinderdb.api import READ_FUNCTIONS
from cinderdb.context import RequestContext
from validators.canonical import (
    CLOCK_FIELDS,
    CREATING_CALLS,
    Canonicalizer,
    IdMap,
    TimestampMode,
    difference,
    focus,
    same,
)
from validators.clock import logical_clock
from validators.findings import VALIDATION_FILE, Finding, read_findings
from validators.replay import SECTION_FUNCTIONS
from validators.replicas import (
    Replica,
    in_seq_order,
    logged_tokens,
    note_own,
    open_replica,
    strings_in,
)
from validators.state import Scope, read_state

#: run.json's key for this check's outcome
RUN_KEY = "acknowledged"
UNACKNOWLEDGED, LOST = "unacknowledged", "lost"
#: differences kept as examples per backend and class
KEPT = 10
#: columns a store sets from its clock: the run's wall clock is not the replay's logical
#: one, so these compare by presence (the attachment's times too, set by the API's "now")
WALL_CLOCK_FIELDS = CLOCK_FIELDS | {"attach_time", "detach_time"}


class Uncertain:
    """Ids and projects a call with an unknown outcome, or a failed operation, may have
    changed: what a difference or a finding about them is explained by."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.projects: set[str] = set()
        self.failed_seqs: set[int] = set()
        self.calls: Counter = Counter()

    def note(self, seq: int, plan: dict[str, Any], call: dict[str, Any] | None) -> None:
        self.failed_seqs.add(seq)
        project = plan.get("project_id")
        if isinstance(project, str):
            self.projects.add(project)
        strings_in(plan.get("args") or {}, self.ids)
        if call is not None:
            self.calls[call["fn"]] += 1
            _, args, kwargs = decode_call(call)
            context = args[0] if args else None
            if isinstance(context, RequestContext) and context.project_id:
                self.projects.add(context.project_id)
            strings_in([args[1:], kwargs], self.ids)
            project = kwargs.get("project_id")
            if isinstance(project, str):
                self.projects.add(project)

    def covers(self, section: str, key: str) -> bool:
        """Does a state entry ``section``/``key`` concern an uncertain id or project?"""
        if section in ("quota", "quota_usage"):
            owner = key.split(":", 1)[-1].split("/", 1)[0]
            return owner in self.projects
        parts = key.replace("#", "/").split("/")
        return any(part in self.ids for part in parts)


def _own_calls(results: Results, label: str) -> Iterable[tuple[dict, dict]]:
    """``(log line, this backend's run of it)`` in start order."""
    for line in in_seq_order(results.oplog()):
        run = (line.get("runs") or {}).get(label)
        if run is not None:
            yield line, run


def _replay(
    results: Results, label: str, replica: Replica, scope: Scope
) -> tuple[Uncertain, IdMap, int]:
    """Replay ``label``'s own calls on ``replica``; returns what is uncertain, the run's
    generated ids (their tokens), and how many calls were replayed."""
    uncertain = Uncertain()
    run_ids = IdMap()
    replayed = 0
    with logical_clock() as clock:
        for line, run in _own_calls(results, label):
            clock.set(float(line["t"]))
            seq, plan = int(line["seq"]), line.get("plan") or {}
            if run.get("outcome") == "error":
                uncertain.note(seq, plan, None)
            answers: list[Any] = []
            calls = run.get("calls") or ()
            needed = {i for call in calls for i in (call.get("refs") or {}).values()}
            for index, call in enumerate(calls):
                if call["fn"] in READ_FUNCTIONS and index not in needed:
                    answers.append(None)  # changes nothing, and no later call takes its answer
                    continue
                if outcome_unknown(call.get("outcome")):
                    uncertain.note(seq, plan, call)
                    scope.note_call(*decode_call(call))
                    answers.append(None)
                    continue
                function, args, kwargs, value, error = replica.call(call, answers)
                answers.append(value)
                scope.note_call(function, args, kwargs)
                replayed += 1
                if function in CREATING_CALLS:
                    tokens = logged_tokens(seq, index, call)
                    for name, run_id in tokens.items():
                        run_ids.add(run_id, name)
                    note_own(replica, (seq, index), function, (args, kwargs), value, error, tokens)
    return uncertain, run_ids, replayed


def _rows(canon: Canonicalizer, ids: IdMap, function: str, rows: dict[str, Any]) -> dict[str, Any]:
    found = {}
    for key, answer in rows.items():
        name = ids.token_of.get(key, key)
        found[name] = (
            canon.error(answer)
            if isinstance(answer, BaseException)
            else canon.result(function, answer)
        )
    return found


def _state_differences(
    run_state: dict[str, dict[str, Any]],
    run_ids: IdMap,
    replica: Replica,
    replayed_state: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """Every entry that differs, as ``{section, key, run, replay, difference}``."""
    run_canon = Canonicalizer(run_ids, TimestampMode.PRESENCE, clock_fields=WALL_CLOCK_FIELDS)
    replay_canon = Canonicalizer(
        replica.ids, TimestampMode.PRESENCE, clock_fields=WALL_CLOCK_FIELDS
    )
    found = []
    for section in sorted(set(run_state) | set(replayed_state)):
        function = SECTION_FUNCTIONS.get(section, section)
        ours = _rows(run_canon, run_ids, function, run_state.get(section, {}))
        theirs = _rows(replay_canon, replica.ids, function, replayed_state.get(section, {}))
        for key in sorted(set(ours) | set(theirs)):
            a, b = ours.get(key, "<absent>"), theirs.get(key, "<absent>")
            if same(a, b):
                continue
            shown_a, shown_b = focus(a, b)
            real_key = run_ids.id_of.get(key, key)
            found.append(
                {
                    "section": section,
                    "key": key,
                    "id": real_key,
                    "run": shown_a,
                    "replay": shown_b,
                    "difference": difference(a, b),
                }
            )
    return found


def _findings(results_dir: Path, label: str) -> list[Finding]:
    """The dual-write and quota findings of ``label`` in validation.json (quota checks are
    named ``quota:LABEL``, a second MagnetoDB arm's ``LABEL:pair``; the other dual-write
    ones belong to the file's ``backend``)."""
    data = read_findings(results_dir, VALIDATION_FILE)
    if data is None:
        return []
    found = []
    for entry in data.get("findings") or ():
        check = str(entry.get("check") or "")
        prefix, _, rest = check.partition(":")
        if prefix == "quota":
            owner = rest.split(":")[0]
        elif rest and prefix in (data.get("backends") or ()):
            owner = prefix  # a second MagnetoDB arm's dual-write finding
        else:
            owner = data.get("backend")
        if owner == label:
            found.append(Finding.from_json(entry))
    return found


def classify_finding(finding: Finding, uncertain: Uncertain) -> str:
    """(a) when an attributed operation failed or the finding concerns an uncertain id or
    project; (b) otherwise (an unexplained finding included)."""
    if any(a.seq in uncertain.failed_seqs for a in finding.attributed_to):
        return UNACKNOWLEDGED
    key = finding.key or {}
    project = key.get("project_id")
    if isinstance(project, str) and project in uncertain.projects:
        return UNACKNOWLEDGED
    if any(isinstance(v, str) and v in uncertain.ids for v in key.values()):
        return UNACKNOWLEDGED
    return LOST


def check_backend(results: Results, label: str, url: str, data: Any) -> dict[str, Any]:
    """The check of one backend of the run (module docstring)."""
    started = time.perf_counter()
    spec = DatasetSpec.from_dict(results.meta["dataset"]["spec"])
    dataset = build_dataset(spec)
    scope = Scope.from_dataset(dataset.data, dataset.spare_projects)
    side = side_of(url)
    with contextlib.ExitStack() as stack:
        replica_url = EMBEDDED_URLS[side]
        replica = open_replica(f"{label}-replay", replica_url, data)
        stack.callback(replica.backend.close)
        uncertain, run_ids, replayed = _replay(results, label, replica, scope)
        replayed_state = read_state(replica.backend, scope)
        live = stack.enter_context(open_backend(url))
        run_state = read_state(live, scope)
    differences = _state_differences(run_state, run_ids, replica, replayed_state)
    counts: dict[str, Counter] = {"replay": Counter(), "validators": Counter()}
    examples: dict[str, list[dict[str, Any]]] = {UNACKNOWLEDGED: [], LOST: []}
    for entry in differences:
        kind = UNACKNOWLEDGED if uncertain.covers(entry["section"], entry["id"]) else LOST
        entry["class"] = kind
        counts["replay"][kind] += 1
        if len(examples[kind]) < KEPT:
            examples[kind].append(entry)
    for finding in _findings(Path(results.path), label):
        kind = classify_finding(finding, uncertain)
        counts["validators"][kind] += 1
        if len(examples[kind]) < KEPT:
            examples[kind].append(
                {
                    "check": finding.check,
                    "class": kind,
                    "finding": finding.cls,
                    "key": finding.key,
                    "explanation": finding.explanation,
                }
            )
    return {
        "side": side,
        "replayed_on": replica_url,
        "calls_replayed": replayed,
        "unknown_outcome_calls": dict(uncertain.calls),
        "failed_operations": len(uncertain.failed_seqs),
        "entries_compared": sum(len(rows) for rows in run_state.values()),
        UNACKNOWLEDGED: sum(c[UNACKNOWLEDGED] for c in counts.values()),
        LOST: sum(c[LOST] for c in counts.values()),
        "by_source": {source: dict(c) for source, c in counts.items()},
        "examples": examples,
        "seconds": round(time.perf_counter() - started, 3),
    }


def check_acknowledged(
    results_dir: str | Path, backends: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    """Check every ``(label, url)`` of the run, record the outcome in run.json under
    ``acknowledged`` and return it."""
    from bench.measure.results import annotate_run

    results = load_results(results_dir)
    data = build_dataset(DatasetSpec.from_dict(results.meta["dataset"]["spec"])).data
    per_backend = {label: check_backend(results, label, url, data) for label, url in backends}
    outcome = {
        UNACKNOWLEDGED: sum(b[UNACKNOWLEDGED] for b in per_backend.values()),
        LOST: sum(b[LOST] for b in per_backend.values()),
        "backends": per_backend,
        "method": __doc__.split("\n\n")[1].replace("\n", " "),
    }
    annotate_run(results_dir, **{RUN_KEY: outcome})
    return outcome
