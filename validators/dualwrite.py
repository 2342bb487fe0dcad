"""Dual-write validation: every pair of ``DUAL_WRITES`` checked in one sweep of the tables.

``validate(reader)`` reads each table the checks need once (``Reader.sweep``:
projected pages, several tables at once), feeds every page to the checks that
compare it, then lets each check diff its two sides. A pair with a digest form
folds each page into per-bucket digests instead of keeping it (memory bounded
whatever the store's size), and only its diverging buckets are read again, in a
second sweep, and compared whole (``PairCheck.fold``, ``restrict``). The result holds every
finding (a repair needs them all) and one ``CheckSummary`` per pair: entries
compared, missing / orphan / stale counts, and the seconds spent comparing.
``recheck`` re-reads the items of a few findings and says which still hold
(the online mode's settle loop, and the re-validation after a repair).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cinderdb.bulk import gc_paused
from cinderdb.magneto.tables import DualWrite
from validators.findings import CheckSummary, Finding
from validators.pairs import PairCheck, checks_for, identity
from validators.pairs.base import Buckets, DigestedCheck
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
    digests: bool = True,
) -> Validation:
    """One offline sweep of every pair (of the store's design unless ``pairs`` are given).

    With ``digests`` a pair that has a digest form keeps per-bucket digests of both
    sides, not the sides themselves (memory bounded whatever the store's size), and
    only its diverging buckets are read again, in a second sweep, to name the findings:
    the same findings and counts as the whole comparison (``digests=False``)."""
    started = time.perf_counter()
    if pairs is None:
        pairs = store_design(reader.client).pairs
    checks = checks_for(pairs)
    digested = [check for check in checks if digests and isinstance(check, DigestedCheck)]
    buckets = {check.name: Buckets() for check in digested}
    spent: dict[str, float] = defaultdict(float)
    requests_before = reader.requests
    with gc_paused():
        _sweep(reader, checks, spent, buckets)
    read_seconds = time.perf_counter() - started
    clock = time.perf_counter
    outcomes: dict[str, list[Finding]] = {}
    suspects: dict[str, Any] = {}
    for check in checks:
        begun = clock()
        with gc_paused():
            if check.name not in buckets:
                outcomes[check.name] = check.finish()
            else:
                suspects[check.name] = check.suspects(buckets[check.name])
                if not suspects[check.name]:
                    outcomes[check.name] = check.direct_findings()
                    check.checked = check.digest_checked(buckets[check.name], None, 0)
        spent[check.name] += clock() - begun
    if len(outcomes) < len(checks):  # the diverging buckets, read again exactly
        _reread(
            reader,
            [c for c in checks if c.name not in outcomes],
            suspects,
            spent,
            buckets,
            outcomes,
        )
    summaries, findings = [], []
    for check in checks:
        found = outcomes[check.name]
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


def _sweep(
    reader: Reader,
    checks: Sequence[PairCheck],
    spent: dict[str, float],
    buckets: Mapping[str, Buckets],
    suspects: Mapping[str, Any] | None = None,
) -> None:
    """One sweep of the tables ``checks`` read, each page fed to the checks of its table
    (folded into a check's ``buckets`` when it has some; cut to its ``suspects`` first
    when given)."""
    consumers: dict[str, list[PairCheck]] = defaultdict(list)
    for check in checks:
        for table in check.reads():
            consumers[table].append(check)
    clock = time.perf_counter

    def sink(table: str, items: list[dict[str, Any]], read_at: float) -> None:
        for check in consumers[table]:
            begun = clock()
            if suspects is not None:
                check.consume(table, check.restrict(table, items, suspects[check.name]))
            else:
                check.consume(table, items)
                if check.name in buckets:
                    check.fold(buckets[check.name])
            spent[check.name] += clock() - begun

    reader.sweep(table_wants(checks), sink)


def _reread(
    reader: Reader,
    checks: Sequence[PairCheck],
    suspects: Mapping[str, Any],
    spent: dict[str, float],
    buckets: Mapping[str, Buckets],
    outcomes: dict[str, list[Finding]],
) -> None:
    """The exact comparison of the suspect buckets of ``checks``, by fresh checks fed the
    items cut to them; each check's findings: its direct ones, then the fresh check's."""
    fresh = [type(check)(check.pair) for check in checks]
    with gc_paused():
        _sweep(reader, fresh, spent, {}, suspects)
        for check, exact in zip(checks, fresh, strict=True):
            begun = time.perf_counter()
            found = exact.finish()[len(exact.direct_findings()) :]
            outcomes[check.name] = check.direct_findings() + found
            check.checked = check.digest_checked(
                buckets[check.name], suspects[check.name], exact.checked
            )
            spent[check.name] += time.perf_counter() - begun


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
