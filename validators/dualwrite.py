"""Dual-write validation: every pair of ``DUAL_WRITES`` checked in one sweep of the tables.

``validate(reader)`` reads each table the checks need once (``Reader.sweep``:
projected pages, several tables at once), feeds every page to the checks that
compare it, then lets each check diff its two sides. The result holds every
finding (a repair needs them all) and one ``CheckSummary`` per pair: entries
compared, missing / orphan / stale counts, and the seconds spent comparing.
``recheck`` re-reads the items of a few findings and says which still hold
(the online mode's settle loop, and the re-validation after a repair).
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from cinderdb.magneto.tables import DualWrite
from validators.findings import CheckSummary, Finding
from validators.pairs import PairCheck, checks_for, identity
from validators.reader import Reader, store_design

#: Examples per pair and class kept in validation.json (counts are always exact).
MAX_EXAMPLES = 50


@dataclass
class Validation:
    """The outcome of one sweep (or of an online session)."""

    mode: str
    checks: list[PairCheck]
    summaries: list[CheckSummary]
    findings: list[Finding]
    seconds: float
    reads: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(not finding.transient for finding in self.findings)

    def divergences(self) -> list[Finding]:
        return [finding for finding in self.findings if not finding.transient]

    def check(self, name: str) -> PairCheck:
        return next(check for check in self.checks if check.name == name)

    def examples(self, limit: int = MAX_EXAMPLES) -> list[Finding]:
        """At most ``limit`` findings per (pair, class, transient), in order."""
        taken: dict[tuple[str, str, bool], int] = defaultdict(int)
        kept = []
        for finding in self.findings:
            slot = (finding.check, finding.cls, finding.transient)
            if taken[slot] < limit:
                taken[slot] += 1
                kept.append(finding)
        return kept


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection meanwhile: a sweep allocates millions of acyclic dicts
    and tuples, and each full collection would walk them all (it halves the client's CPU)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def table_wants(checks: Iterable[PairCheck]) -> dict[str, list[str] | None]:
    """The union of what the checks read, per table (None: every attribute)."""
    wants: dict[str, set[str] | None] = {}
    for check in checks:
        for table, attributes in check.reads().items():
            if table in wants and wants[table] is None:
                continue
            if attributes is None:
                wants[table] = None
            else:
                wants[table] = (wants.get(table) or set()) | attributes
    return {table: None if names is None else sorted(names) for table, names in wants.items()}


def validate(
    reader: Reader,
    pairs: Sequence[DualWrite] | None = None,
    *,
    describe: bool = True,
) -> Validation:
    """One offline sweep of every pair (of the store's design unless ``pairs`` are given)."""
    started = time.perf_counter()
    if pairs is None:
        pairs = store_design(reader.client).pairs
    checks = checks_for(pairs)
    consumers: dict[str, list[PairCheck]] = defaultdict(list)
    for check in checks:
        for table in check.reads():
            consumers[table].append(check)
    spent: dict[str, float] = defaultdict(float)
    clock = time.perf_counter

    def sink(table: str, items: list[dict[str, Any]], read_at: float) -> None:
        for check in consumers[table]:
            begun = clock()
            check.consume(table, items)
            spent[check.name] += clock() - begun

    requests_before = reader.requests
    with paused_gc():
        reader.sweep(table_wants(checks), sink)
    read_seconds = time.perf_counter() - started
    summaries, findings = [], []
    for check in checks:
        begun = clock()
        with paused_gc():
            found = check.finish()
        spent[check.name] += clock() - begun
        summary = CheckSummary(check.name, check.kind.value, checked=check.checked)
        for finding in found:
            summary.count(finding.cls)
        summary.seconds = round(spent[check.name], 4)
        summaries.append(summary)
        findings.extend(found)
    validation = Validation(
        "offline",
        checks,
        summaries,
        findings,
        time.perf_counter() - started,
        {"requests": reader.requests - requests_before, "sweep_seconds": round(read_seconds, 3)},
    )
    if describe:
        describe_examples(reader, validation)
    return validation


def describe_examples(reader: Reader, validation: Validation, limit: int = MAX_EXAMPLES) -> None:
    """Let each check fill in current values of the examples it will show."""
    examples = validation.examples(limit)
    for check in validation.checks:
        mine = [finding for finding in examples if finding.check == check.name]
        if mine:
            check.describe(reader, mine)


def recheck(reader: Reader, checks: Sequence[PairCheck], findings: Sequence[Finding]) -> list[bool]:
    """For each finding, whether it still holds now: its pair's check runs again on just
    the items that decide it (read in two rounds: the items, then what they point at)."""
    by_name = {check.name: check for check in checks}
    groups: dict[str, list[int]] = defaultdict(list)
    for index, finding in enumerate(findings):
        groups[finding.check].append(index)
    holds = [False] * len(findings)
    for name, indexes in groups.items():
        template = by_name[name]
        keys: dict[str, set[tuple[Any, ...]]] = defaultdict(set)
        for index in indexes:
            for table, table_keys in template.related(findings[index]).items():
                keys[table].update(table_keys)
        items = reader.get_many(keys)
        more = template.follow(items)
        extra = {t: set(k) - keys.get(t, set()) for t, k in more.items()}
        for table, found in reader.get_many({t: k for t, k in extra.items() if k}).items():
            items.setdefault(table, []).extend(found)
        fresh = type(template)(template.pair)
        for table in fresh.reads():
            fresh.consume(table, items.get(table, []))
        still = {identity(finding) for finding in fresh.finish()}
        for index in indexes:
            holds[index] = identity(findings[index]) in still
    return holds
