"""Differential replay: a run's operation log on two backends from the same seeded state.

``differential_replay(results_dir)`` regenerates the run's dataset from
``run.json`` (``bench.workload.datasets``), bulk-loads it into two fresh backends,
replays every logged DB API call in log order with its decoded arguments on
both, and compares every answer — value or exception — through
``validators.canonical``; then it reads both final logical states through the
API (``validators.state``) and compares them too. The first diverging call is
reported with both canonical answers and a readable difference (Diffy's
candidate vs primary). ``--aa`` replays each design against itself
first: what differs there is the noise floor (Diffy's primary vs secondary),
and an A/B divergence in a function that is noisy in A/A is marked so.

**Determinism.** The replay is single-threaded, in ``seq`` order (the order the
operations started in the run), on a logical clock (``validators.clock``: each
operation reads the time it started in the run). The calls replayed are those
of the run's *first* backend: a run with ``--threads`` > 1 logged calls that
observed other operations in flight; replayed one operation at a time they
may answer differently than in the run (both replay backends see the same
serial history, so the comparison stays exact, but the run's own
interleaving is not reproduced: ``log_agreement`` counts how many answers
differ from the log's).

**Generated ids.** An id a backend chose itself (QoS spec ids, reservation
uuids, any id a create call returns that its arguments did not name) gets a
token naming the logged call that made it; each backend's id is mapped to the
token, arguments naming the run's id are rewritten to each backend's own,
and ``refs`` of the log (an argument that *is* an earlier result) pass each
backend its own result.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.measure.oplog import decode_call
from bench.measure.outcomes import outcome_unknown
from bench.measure.results import Results, load_results
from bench.workload.datasets import DatasetSpec, build_dataset
from cinderdb import EMBEDDED_URLS, backend_class, side_of
from cinderdb.api import READ_FUNCTIONS
from validators.canonical import (
    CREATING_CALLS,
    IGNORE_RULES,
    difference,
    focus,
    json_key,
    same,
    same_raw,
)
from validators.clock import logical_clock
from validators.design import CASE_INSENSITIVE_COLLATION, CaseTwins, design_differences
from validators.remote import RemoteReplica, start_remote_replica
from validators.replicas import (
    Replica,
    in_seq_order,
    logged_run,
    logged_tokens,
    note_own,
    open_replica,
)
from validators.state import Scope

__all__ = [
    "Replayer",
    "Replica",
    "differential_replay",
    "in_seq_order",
    "open_replica",
    "run_diff",
    "start_replicas",
]

#: Run each replica of a replay in a child process of its own (``validators.remote``),
#: this process only comparing; tests that patch ``open_replica`` here turn it off.
REPLICAS_IN_CHILDREN = True
#: A replay's two replicas, started early (``start_replicas``).
Started = tuple[RemoteReplica, RemoteReplica]
#: Divergences kept with their answers in diff.json (all are counted).
KEPT_DIVERGENCES = 50
#: Final-state differences kept as examples.
KEPT_EXAMPLES = 20
#: Examples kept per semantic divergence of the design (all are counted).
KEPT_DESIGN_EXAMPLES = 10
#: The state section -> the function whose answer shape it holds (for canonical order).
SECTION_FUNCTIONS = {
    "volume": "volume_get_all",
    "attachment": "volume_attachment_get",
    "snapshot": "snapshot_get_all",
    "volume_type": "volume_type_get",
    "qos_specs": "qos_specs_get_all",
    "qos_associations": "qos_specs_associations_get",
    "group": "consistencygroup_get_all",
    "cgsnapshot": "cgsnapshot_get_all",
    "quota": "quota_get_all_by_project",
    "quota_usage": "quota_usage_get",
    "glance": "volume_glance_metadata_get_all",
}


# -------------------------------------------------------------- the report


@dataclass
class ReplayReport:
    """What one replay found; ``to_json`` is the body of diff.json."""

    mode: str
    first: Replica
    second: Replica
    operations: int = 0
    calls: int = 0
    compared: int = 0
    #: answers of read-only functions (``cinderdb.api.READ_FUNCTIONS``) among ``compared``
    reads: int = 0
    divergence_count: int = 0
    divergences: list[dict[str, Any]] = field(default_factory=list)
    diverging_functions: Counter = field(default_factory=Counter)
    #: semantic divergences of the design (``validators.design``), by name: not bugs, not
    #: noise; counted apart from ``divergence_count``
    design_divergences: dict[str, dict[str, Any]] = field(default_factory=dict)
    final_state: dict[str, Any] = field(default_factory=dict)
    log_agreement: dict[str, Any] = field(default_factory=dict)
    #: logged calls whose outcome the run could not know (``outcome_unknown``), by
    #: function: skipped, neither replayed nor compared
    unknown_outcomes: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    threads: int | None = None

    @property
    def ok(self) -> bool:
        return self.divergence_count == 0 and not self.final_state.get("differences")

    def ignored(self) -> dict[str, int]:
        total = self.first.canon.ignored + self.second.canon.ignored
        return dict(sorted(total.items()))

    def summary(self) -> dict[str, Any]:
        """The short form, as the noise floor lists it."""
        return {
            "first": self.first.label,
            "second": self.second.label,
            "operations_replayed": self.operations,
            "reads_compared": self.compared,
            "divergences": self.divergence_count,
            "final_differences": self.final_state.get("differences", 0),
            "diverging_functions": dict(self.diverging_functions),
            "design_divergences": {
                name: entry["count"] for name, entry in self.design_divergences.items()
            },
            "ignored": self.ignored(),
        }

    def to_json(self) -> dict[str, Any]:
        first = self.divergences[0] if self.divergences else None
        return {
            "ok": self.ok,
            "mode": self.mode,
            "first": self.first.label,
            "second": self.second.label,
            "first_url": public_url(self.first.url),
            "second_url": public_url(self.second.url),
            "operations_replayed": self.operations,
            "calls_replayed": self.calls,
            "reads_compared": self.compared,
            "answers_compared": {"read": self.reads, "write": self.compared - self.reads},
            "divergence_count": self.divergence_count,
            "divergences": self.divergences,
            "first_divergence": first,
            "diverging_functions": dict(self.diverging_functions.most_common()),
            "design_divergences": self.design_divergences,
            "final_state": self.final_state,
            "ignored": self.ignored(),
            "ignore_rules": [{"name": r.name, "reason": r.reason} for r in IGNORE_RULES],
            "log_agreement": self.log_agreement,
            "unknown_outcomes": {
                "calls": sum(self.unknown_outcomes.values()),
                "functions": dict(self.unknown_outcomes.most_common()),
                "handling": "not replayed and not compared: the run lost the answer (a"
                " connection or an API server lost mid-call), so the store may or may not"
                " hold the call's writes; what they may have left is unacknowledged",
            },
            "replay": {
                "seconds": round(self.seconds, 3),
                "calls_per_s": round(self.calls / self.seconds, 1) if self.seconds else None,
                "load_seconds": {
                    self.first.label: round(self.first.load_seconds, 3),
                    self.second.label: round(self.second.load_seconds, 3),
                },
                "backend_seconds": {
                    self.first.label: round(self.first.busy_seconds, 3),
                    self.second.label: round(self.second.busy_seconds, 3),
                },
                "clock": "logical",
                "order": "seq (operation start order), single-threaded",
                "run_threads": self.threads,
            },
        }


# -------------------------------------------------------------- the replay


class Replayer:
    """Replays one results directory on two replicas and compares them call by call."""

    def __init__(self, results: Results, first: Replica, second: Replica, mode: str) -> None:
        self.results = results
        self.report = ReplayReport(mode, first, second)
        self.report.threads = (results.meta.get("parameters") or {}).get("threads")
        self.reference = results.backends[0] if results.backends else None
        spec = DatasetSpec.from_dict(results.meta["dataset"]["spec"])
        self.dataset = build_dataset(spec)
        self.scope = Scope.from_dataset(self.dataset.data, self.dataset.spare_projects)
        #: the replica of the design the log's reference backend has (for log_agreement)
        self.twin = self._twin(first, second)
        self.disagreements = 0
        self.first_disagreement: dict[str, Any] | None = None
        #: the design differences these two backends can show, and what they need
        self.design = design_differences(first.features, second.features)
        self.case_twins: CaseTwins | None = None
        if CASE_INSENSITIVE_COLLATION in self.design:
            self.case_twins = CaseTwins()
            for _, records in self.dataset.data.sections():
                self.case_twins.add(records)
        for difference_ in self.design:
            self.report.design_divergences[difference_.name] = {
                "reason": difference_.reason,
                "count": 0,
                "functions": {},
                "examples": [],
            }

    def _twin(self, first: Replica, second: Replica) -> Replica | None:
        urls = {b["label"]: b["url"] for b in self.results.meta.get("backends", [])}
        reference_url = urls.get(self.reference or "")
        if reference_url is None:
            return None
        side = side_of(reference_url)
        return next((r for r in (first, second) if side_of(r.url) == side), None)

    def run(self) -> ReplayReport:
        report = self.report
        started = time.perf_counter()
        with logical_clock() as clock:
            for line in in_seq_order(self.results.oplog()):
                run = logged_run(line, self.reference)
                if run is None:
                    continue
                clock.set(float(line["t"]))
                self._operation(line, run["calls"])
                report.operations += 1
            self._final_state()
        report.seconds = time.perf_counter() - started
        report.log_agreement = {
            "reference": self.reference,
            "replayed_on": self.twin.label if self.twin else None,
            "calls_differing_from_log": self.disagreements,
            "first": self.first_disagreement,
        }
        return report

    def _operation(self, line: dict[str, Any], calls: list[dict[str, Any]]) -> None:
        report, first, second = self.report, self.report.first, self.report.second
        seq = int(line["seq"])
        answers_first: list[Any] = []
        answers_second: list[Any] = []
        for index, call in enumerate(calls):
            if outcome_unknown(call.get("outcome")):
                # the run cannot say whether it took effect: not replayed, not compared
                # (``validators.acknowledged`` counts what it may have left as unacknowledged)
                report.unknown_outcomes[call["fn"]] += 1
                self.scope.note_call(*decode_call(call))
                answers_first.append(None)
                answers_second.append(None)
                continue
            function, args, kwargs, value_a, error_a = first.call(call, answers_first)
            _, args_b, kwargs_b, value_b, error_b = second.call(call, answers_second)
            answers_first.append(value_a)
            answers_second.append(value_b)
            self.scope.note_call(function, args, kwargs)
            if self.case_twins is not None:
                self.case_twins.add((call["args"], call["kwargs"]))
            if function in CREATING_CALLS:
                tokens = logged_tokens(seq, index, call)
                where = (seq, index)
                note_own(first, where, function, (args, kwargs), value_a, error_a, tokens)
                note_own(second, where, function, (args_b, kwargs_b), value_b, error_b, tokens)
            self._check_log(line, index, call, error_a, error_b)
            report.calls += 1
            report.compared += 1
            report.reads += function in READ_FUNCTIONS
            if error_a is None and error_b is None and same_raw(value_a, value_b):
                continue  # equal as returned: equal canonically too (no canonicalizer needed)
            canonical_a = first.answer(function, value_a, error_a)
            canonical_b = second.answer(function, value_b, error_b)
            if not same(canonical_a, canonical_b):
                self._diverged(line, index, call, canonical_a, canonical_b)

    def _check_log(
        self,
        line: dict[str, Any],
        index: int,
        call: dict[str, Any],
        error_a: BaseException | None,
        error_b: BaseException | None,
    ) -> None:
        """Count answers of the reference backend's design that differ in outcome from the log."""
        if self.twin is None:
            return
        error = error_a if self.twin is self.report.first else error_b
        logged = call.get("outcome") or {}
        replayed = "ok" if error is None else type(error).__name__
        expected = "ok" if logged.get("ok", True) else logged.get("error")
        if replayed != expected:
            self.disagreements += 1
            if self.first_disagreement is None:
                self.first_disagreement = {
                    "seq": line["seq"],
                    "operation": line["op"],
                    "call": call["fn"],
                    "index": index,
                    "logged": expected,
                    "replayed": replayed,
                }

    def _diverged(
        self,
        line: dict[str, Any],
        index: int,
        call: dict[str, Any],
        canonical_a: Any,
        canonical_b: Any,
    ) -> None:
        report = self.report
        design = self._design_difference((call["args"][1:], call["kwargs"]))
        if design is None and self._reordered_case_twins(canonical_a, canonical_b):
            design = CASE_INSENSITIVE_COLLATION.name
        if design is not None:
            self._design_diverged(design, line, index, call, canonical_a, canonical_b)
            return
        report.divergence_count += 1
        report.diverging_functions[call["fn"]] += 1
        if len(report.divergences) >= KEPT_DIVERGENCES:
            return
        shown_a, shown_b = (
            (canonical_a, canonical_b)
            if not report.divergences
            else focus(canonical_a, canonical_b)
        )
        report.divergences.append(
            {
                "seq": line["seq"],
                "operation": line["op"],
                "call": call["fn"],
                "index": index,
                "arguments": {"args": call["args"][1:], "kwargs": call["kwargs"]},
                "first": shown_a,
                "second": shown_b,
                "difference": difference(canonical_a, canonical_b),
            }
        )

    def _design_difference(self, arguments: Any) -> str | None:
        """The name of the design difference that explains a diverging answer to a call with
        ``arguments`` (or a final-state entry with those key parts), if one does."""
        if self.case_twins is not None and self.case_twins.involved(arguments):
            return CASE_INSENSITIVE_COLLATION.name
        return None

    def _reordered_case_twins(self, first: Any, second: Any) -> bool:
        """The same items in another order, among them names that differ only by case: a
        sort on a text column under a case-insensitive collation."""
        if self.case_twins is None or not (isinstance(first, list) and isinstance(second, list)):
            return False
        return same(sorted(first, key=json_key), sorted(second, key=json_key)) and (
            self.case_twins.involved(first)
        )

    def _design_diverged(
        self,
        name: str,
        line: dict[str, Any],
        index: int,
        call: dict[str, Any],
        canonical_a: Any,
        canonical_b: Any,
    ) -> None:
        entry = self.report.design_divergences[name]
        entry["count"] += 1
        entry["functions"][call["fn"]] = entry["functions"].get(call["fn"], 0) + 1
        if len(entry["examples"]) < KEPT_DESIGN_EXAMPLES:
            shown_a, shown_b = focus(canonical_a, canonical_b)
            entry["examples"].append(
                {
                    "seq": line["seq"],
                    "operation": line["op"],
                    "call": call["fn"],
                    "index": index,
                    "arguments": {"args": call["args"][1:], "kwargs": call["kwargs"]},
                    "first": shown_a,
                    "second": shown_b,
                    "difference": difference(canonical_a, canonical_b),
                }
            )

    def _final_state(self) -> None:
        first, second = self.report.first, self.report.second
        later_b = second.state(self.scope)  # first: a child replica reads meanwhile
        state_a = first.state(self.scope)()
        state_b = later_b()
        compared = differences = 0
        examples: list[dict[str, Any]] = []
        by_section: Counter = Counter()
        for section in sorted(set(state_a) | set(state_b)):
            function = SECTION_FUNCTIONS.get(section, section)
            rows_a = _canonical_rows(first, function, state_a.get(section, {}))
            rows_b = _canonical_rows(second, function, state_b.get(section, {}))
            for key in sorted(set(rows_a) | set(rows_b)):
                compared += 1
                a, b = rows_a.get(key, "<absent>"), rows_b.get(key, "<absent>")
                if same(a, b):
                    continue
                design = self._design_difference(key.replace("#", "/").split("/"))
                if design is not None:
                    line = {"seq": None, "op": f"final state: {section}"}
                    self._design_diverged(
                        design, line, 0, {"fn": function, "args": [None, key], "kwargs": {}}, a, b
                    )
                    continue
                differences += 1
                by_section[section] += 1
                if len(examples) < KEPT_EXAMPLES:
                    shown_a, shown_b = focus(a, b)
                    examples.append(
                        {
                            "section": section,
                            "key": key,
                            "first": shown_a,
                            "second": shown_b,
                            "difference": difference(a, b),
                        }
                    )
        self.report.final_state = {
            "compared": compared,
            "differences": differences,
            "by_section": dict(by_section),
            "examples": examples,
        }


def _canonical_rows(replica: Replica, function: str, rows: dict[str, Any]) -> dict[str, Any]:
    canonical = {}
    for key, answer in rows.items():
        token = replica.ids.token_of.get(key, key)
        if isinstance(answer, BaseException):
            canonical[token] = replica.canon.error(answer)
        else:
            canonical[token] = replica.canon.result(function, answer)
    return canonical


# -------------------------------------------------------------------- entry


def arm_of(url: str) -> str:
    """What a replay compares: the backend side, and the design of a MagnetoDB URL
    (``magnetodb:improved``; the seed's is plain ``magnetodb``)."""
    side = side_of(url)
    if side != "magnetodb":
        return side
    from cinderdb.magneto.core import parse_url

    design = parse_url(url).design.name
    return side if design == "seed" else f"{side}:{design}"


def public_url(url: str) -> str:
    """``url`` with any password masked (diff.json is shared with reports and CI logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _labels(first_url: str, second_url: str) -> tuple[str, str]:
    from bench.drive.job import backend_labels

    (first, _), (second, _) = backend_labels([first_url, second_url])
    return first, second


def default_urls(results: Results) -> tuple[str, str]:
    """The embedded URL of each backend side the run compared (SQL then MagnetoDB when
    the run had one side only)."""
    sides = []
    for backend in results.meta.get("backends", []):
        side = side_of(backend["url"])
        if side not in sides:
            sides.append(side)
    for side in EMBEDDED_URLS:
        if len(sides) < 2 and side not in sides:
            sides.append(side)
    return EMBEDDED_URLS[sides[0]], EMBEDDED_URLS[sides[1]]


def replay_pair(
    results: Results,
    first_url: str,
    second_url: str,
    *,
    child: bool | None = None,
    started: Started | None = None,
) -> ReplayReport:
    """Replay ``results`` on fresh backends at the two URLs and compare them (the same URL
    twice, for A/A, gets a second store next to the first: ``Backend.sibling_store``).

    With ``child`` (default ``REPLICAS_IN_CHILDREN``) each replica loads and replays in a
    child process of its own (``validators.remote``) and this one only compares: the
    same comparison, on two cores. ``started`` is that pair of children, started earlier
    (``start_replicas``) for these URLs."""
    spec = DatasetSpec.from_dict(results.meta["dataset"]["spec"])
    label_a, label_b = _labels(first_url, second_url)
    mode = "aa" if arm_of(first_url) == arm_of(second_url) else "differential"
    with contextlib.ExitStack() as stack:
        if second_url == first_url:
            second_url = stack.enter_context(backend_class(first_url).sibling_store(first_url))
        in_child = REPLICAS_IN_CHILDREN if child is None else child
        if started is not None:
            first, second = started
        elif in_child:  # both replicas in children: this process only compares
            first = start_remote_replica(label_a, first_url, results.path)
            second = start_remote_replica(label_b, second_url, results.path)
        else:
            data = build_dataset(spec).data
            first = open_replica(label_a, first_url, data)
            second = open_replica(label_b, second_url, data)
        stack.callback(first.close)
        stack.callback(second.close)
        return Replayer(results, first, second, mode).run()


def differential_replay(
    results_dir: str | Path,
    first_url: str | None = None,
    second_url: str | None = None,
    *,
    aa: bool = False,
    started: Started | None = None,
) -> dict[str, Any]:
    """The body of diff.json: the A/B replay, and with ``aa`` the noise floor of each design.

    URLs default to embedded backends of the sides the run compared (SQLite in
    memory, in-process MagnetoDB in memory). A given URL is emptied first.
    ``started``: the A/B replay's two replicas, already loading (``start_replicas``).
    """
    results = load_results(results_dir)
    defaults = default_urls(results)
    first_url, second_url = first_url or defaults[0], second_url or defaults[1]
    noise: dict[str, Any] = {}
    noisy: set[str] = set()
    if aa:
        for url in dict.fromkeys((first_url, second_url)):
            floor = replay_pair(results, url, url)
            noise[arm_of(url)] = floor.summary()
            noisy.update(floor.diverging_functions)
    report = replay_pair(results, first_url, second_url, started=started)
    data = report.to_json()
    if aa:
        data["noise_floor"] = noise
        for divergence in data["divergences"]:
            divergence["in_noise_floor"] = divergence["call"] in noisy
    return data


def start_replicas(
    results_dir: str | Path, first_url: str | None = None, second_url: str | None = None
) -> Started:
    """The two replicas of the A/B replay of ``results_dir`` (URLs as ``run_diff``'s),
    started now in child processes of their own, so they load while the caller does other
    work (``validators.pipeline`` starts them before the dual-write and quota checks); give
    them to ``run_diff`` with the same URLs."""
    results = load_results(results_dir)
    defaults = default_urls(results)
    first_url, second_url = first_url or defaults[0], second_url or defaults[1]
    label_a, label_b = _labels(first_url, second_url)
    first = start_remote_replica(label_a, first_url, results.path)
    try:
        return first, start_remote_replica(label_b, second_url, results.path)
    except BaseException:
        first.close()
        raise


def run_diff(
    results_dir: str | Path,
    first: str | None = None,
    second: str | None = None,
    *,
    aa: bool = False,
    started: Started | None = None,
) -> dict[str, Any]:
    """Replay, write ``diff.json`` into ``results_dir``, and return its content."""
    from validators.findings import write_diff

    data = differential_replay(results_dir, first, second, aa=aa, started=started)
    write_diff(results_dir, data)
    return data
