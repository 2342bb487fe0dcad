"""Validator, differential and gate findings (docs/findings-format.md), when the run has them.

The files are optional: a run that was not validated says so instead of
implying it was clean. Findings carry records (volume names, metadata), so
every value is shown as text and escaped by the template.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.measure.results import Results
from reports import format as fmt
from reports.model import Cell, Table

#: Findings and divergences listed in full; the rest are counted.
SHOWN = 50


@dataclass
class Section:
    """One findings file as the report shows it: a status line, facts and tables."""

    present: bool
    ok: bool | None = None
    status: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)
    tables: list[tuple[str, Table]] = field(default_factory=list)


def _attribution(entries: list[dict[str, Any]] | None) -> str:
    return "; ".join(
        f"#{e.get('seq')} {e.get('operation')} on {e.get('backend')} "
        f"({', '.join(e.get('calls') or [])})"
        for e in entries or []
    )


def validation_section(results: Results) -> Section:
    data = results.findings("validation")
    if data is None:
        return Section(False, None, "not validated: this results directory has no validation.json")
    findings = data.get("findings") or []
    ok = bool(data.get("ok")) and not findings
    classes = Counter(str(f.get("class")) for f in findings)
    status = (
        "no findings: every declared dual-written pair is consistent"
        if ok
        else f"{len(findings)} findings ({fmt.compact(dict(classes))})"
    )
    section = Section(True, ok, status)
    section.facts = [
        ("mode", str(data.get("mode"))),
        ("backend", str(data.get("backend"))),
        ("started", str(data.get("started_at"))),
        ("seconds", fmt.number(data.get("seconds"))),
    ]
    checks = Table(["pair / invariant", "kind", "checked", "missing", "orphan", "stale", "seconds"])
    for check in data.get("checks") or []:
        checks.add(
            str(check.get("name")),
            str(check.get("kind")),
            fmt.count(check.get("checked")),
            *(
                Cell(str(check.get(k, 0)), "loss" if check.get(k) else "")
                for k in ("missing", "orphan", "stale")
            ),
            fmt.number(check.get("seconds")),
        )
    section.tables.append(("checks", checks))
    if findings:
        table = Table(
            [
                "check",
                "class",
                "table",
                "key",
                "field",
                "expected",
                "actual",
                "transient",
                "caused by",
            ]
        )
        for finding in findings[:SHOWN]:
            table.add(
                str(finding.get("check")),
                Cell(str(finding.get("class")), "loss"),
                str(finding.get("table")),
                fmt.compact(finding.get("key")),
                str(finding.get("field") or fmt.DASH),
                fmt.compact(finding.get("expected")),
                fmt.compact(finding.get("actual")),
                "yes" if finding.get("transient") else "no",
                _attribution(finding.get("attributed_to")) or fmt.DASH,
            )
        if len(findings) > SHOWN:
            table.caption = f"first {SHOWN} of {len(findings)} findings"
        section.tables.append(("findings", table))
    repair = data.get("repair")
    if repair:
        section.facts.append(
            (
                "repair",
                f"{repair.get('planned', 0)} actions planned, {repair.get('applied', 0)} applied",
            )
        )
    return section


def diff_section(results: Results) -> Section:
    data = results.findings("diff")
    if data is None:
        return Section(
            False, None, "no differential replay: this results directory has no diff.json"
        )
    divergences = data.get("divergences") or []
    final = data.get("final_state") or {}
    ok = bool(data.get("ok")) and not divergences and not final.get("differences")
    status = (
        f"{data.get('first')} and {data.get('second')} answered the same"
        if ok
        else f"{len(divergences)} diverging reads, "
        f"{final.get('differences', 0)} final-state differences"
    )
    section = Section(True, ok, status)
    section.facts = [
        ("mode", str(data.get("mode"))),
        ("compared", f"{data.get('first')} vs {data.get('second')}"),
        ("operations replayed", fmt.count(data.get("operations_replayed"))),
        ("reads compared", fmt.count(data.get("reads_compared"))),
        (
            "final state",
            f"{final.get('compared', 0)} compared, {final.get('differences', 0)} differ",
        ),
        ("ignored by canonicalizers", fmt.compact(data.get("ignored") or {})),
    ]
    if divergences:
        table = Table(["seq", "operation", "call", "difference", "arguments", "first", "second"])
        for divergence in divergences[:SHOWN]:
            table.add(
                str(divergence.get("seq")),
                str(divergence.get("operation")),
                str(divergence.get("call")),
                Cell(str(divergence.get("difference")), "loss"),
                fmt.compact(divergence.get("arguments")),
                fmt.compact(divergence.get("first")),
                fmt.compact(divergence.get("second")),
            )
        if len(divergences) > SHOWN:
            table.caption = f"first {SHOWN} of {len(divergences)} divergences"
        section.tables.append(("divergences", table))
    for example in (final.get("examples") or [])[:SHOWN]:
        section.facts.append(("final-state example", fmt.compact(example)))
    return section


def gate_section(results: Results) -> Section:
    data = results.findings("gate")
    if data is None:
        return Section(False, None, "not gated: run `cinderbench gate` for a verdict")
    checks = data.get("checks") or []
    failed = [c for c in checks if c.get("ok") is False]
    skipped = [c for c in checks if c.get("ok") is None]
    ok = bool(data.get("ok")) and not failed
    status = (
        f"PASS against {data.get('baseline')}: {len(checks) - len(skipped)} checks passed"
        if ok
        else f"FAIL against {data.get('baseline')}: {len(failed)} of {len(checks)} checks failed"
    )
    section = Section(True, ok, status)
    kinds = Counter(str(c.get("kind")) for c in checks)
    section.facts = [
        ("checks", fmt.compact(dict(kinds))),
        ("not gated", f"{len(skipped)} (too few samples, exempt, or not exercised)"),
    ]
    if failed:
        table = Table(["check", "kind", "baseline", "now", "detail"])
        for check in failed[:SHOWN]:
            table.add(
                str(check.get("name")),
                str(check.get("kind")),
                fmt.compact(check.get("baseline")),
                Cell(fmt.compact(check.get("value")), "loss"),
                str(check.get("detail") or ""),
            )
        section.tables.append(("failed checks", table))
    return section
