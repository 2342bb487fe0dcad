"""The report's design section: which MagnetoDB design, what each option buys and costs.

A run of several designs (``--design``) has one MagnetoDB arm per design, each paired
with the SQL arm (comparison.json). This section reads what each arm reported of
itself (``engine_info``'s ``design`` and ``design_options``), the declarations of
``cinderdb.magneto.designs`` (which functions an option changes, the tables and pairs
it adds), the counters per operation, and the validators' per-arm figures
(``arms`` of validation.json and diff.json), and recommends the design with the
lowest total service time over the mix among those with no divergence and no
validator finding, with its evidence and its costs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.measure.results import Results
from reports import format as fmt
from reports.model import (
    Cell,
    Table,
    baseline_of,
    counter_mean,
    judge,
    operation_order,
    ratio_of,
)
from validators.pipeline import replay_figures

#: The MagnetoDB counters shown per operation and design: (counter, column).
COUNTERS = (
    ("requests", "requests"),
    ("items_read", "items read"),
    ("items_written", "items written"),
    ("dual_writes", "dual writes"),
    ("requests.scan", "scans"),
)
SEED = "seed"


@dataclass
class Arm:
    """One design arm: its label, design, options, baseline and what it cost and found."""

    label: str
    design: str
    options: list[str]
    baseline: str | None
    spent_us: float = 0.0
    baseline_us: float = 0.0
    wins: int = 0
    losses: int = 0
    written: float | None = None
    dual: float | None = None
    validation: dict[str, Any] | None = None
    replay: dict[str, Any] | None = None
    divergent_outcomes: int = 0
    #: why the arm cannot be recommended (empty: it can)
    problems: list[str] = field(default_factory=list)


@dataclass
class DesignSection:
    arms: list[Arm]
    recommendation: str
    cls: str
    evidence: list[str]
    costs: Table
    operations: Table
    options: Table


def design_arms(results: Results) -> list[Arm]:
    """The arms whose backend reported a design, in run order."""
    arms = []
    for backend in results.meta.get("backends", []):
        engine = backend.get("engine") or {}
        if "design" in engine:
            label = backend["label"]
            arms.append(
                Arm(
                    label,
                    str(engine["design"]),
                    list(engine.get("design_options") or []),
                    baseline_of(results, label),
                )
            )
    return arms


def _spent(results: Results, label: str) -> float:
    """Service time of ``label`` summed over the mix (µs: count x mean per operation)."""
    total = 0.0
    for per in results.operations.values():
        service = (per.get(label) or {}).get("service_us") or {}
        total += (service.get("mean") or 0.0) * (service.get("count") or 0)
    return total


def _oplog_facts(results: Results, arms: list[Arm]) -> dict[str, set[str]]:
    """The DB API functions each operation called (any arm), and each arm's outcome
    divergences from its baseline, in one pass over the operation log."""
    calls: dict[str, set[str]] = {}
    for line in results.oplog():
        runs = line.get("runs") or {}
        made = calls.setdefault(line["op"], set())
        for run in runs.values():
            made.update(call["fn"] for call in run.get("calls") or () if call.get("fn"))
        for arm in arms:
            mine, theirs = runs.get(arm.label), runs.get(arm.baseline or "")
            if mine and theirs and mine.get("outcome") != theirs.get("outcome"):
                arm.divergent_outcomes += 1
    return calls


def _write_operations(results: Results) -> list[str]:
    """Operations that write on some backend (DML on SQL, items on MagnetoDB)."""
    labels = results.backends
    names = []
    for name, per in results.operations.items():
        for label in labels:
            stats = per.get(label)
            sums = [counter_mean(stats, c) or 0.0 for c in ("inserts", "updates", "deletes")]
            if sum(sums) or (counter_mean(stats, "items_written") or 0.0):
                names.append(name)
                break
    return names


def _per_write(results: Results, label: str, names: list[str], counter: str) -> float | None:
    """``counter`` summed over the write operations, per execution of one of them."""
    total, executions = 0.0, 0
    for name in names:
        stats = results.operations[name].get(label) or {}
        entry = (stats.get("counters") or {}).get(counter)
        total += float(entry["sum"]) if entry else 0.0
        executions += int(stats.get("count") or 0)
    return total / executions if executions else None


def _assess(results: Results, arms: list[Arm]) -> None:
    """Time over the mix, wins and losses, and the validators' figures of each arm: from
    the files' ``arms``, or the whole files when the run had one MagnetoDB arm only."""
    validation, diff = results.findings("validation"), results.findings("diff")
    for arm in arms:
        arm.spent_us = _spent(results, arm.label)
        arm.baseline_us = _spent(results, arm.baseline) if arm.baseline else 0.0
        judged = [judge(ratio_of(results, name, arm.label)) for name in results.operations]
        arm.wins, arm.losses = judged.count("win"), judged.count("loss")
        if validation is not None and validation.get("arms"):
            arm.validation = dict(validation["arms"].get(arm.label) or {}) or None
        elif validation is not None and len(arms) == 1:
            pairs = [c for c in validation.get("checks") or () if c.get("kind") != "quota"]
            arm.validation = {
                "findings": len(validation.get("findings") or []),
                "pairs": len(pairs),
                "checked": sum(int(c.get("checked") or 0) for c in pairs),
                "seconds": sum(float(c.get("seconds") or 0.0) for c in pairs),
            }
        if diff is not None and diff.get("arms"):
            arm.replay = dict(diff["arms"].get(arm.label) or {}) or None
        elif diff is not None and len(arms) == 1:
            arm.replay = replay_figures(diff)
        _problems(arm)


def _problems(arm: Arm) -> None:
    if arm.divergent_outcomes:
        arm.problems.append(f"{arm.divergent_outcomes} outcomes differed from {arm.baseline}")
    if arm.validation is None:
        arm.problems.append("not validated (no validation.json)")
    else:
        found = int(arm.validation.get("findings") or 0)
        found += int(arm.validation.get("quota_findings") or 0)
        if found:
            arm.problems.append(f"{found} validator findings")
    if arm.replay is None:
        arm.problems.append("not replayed against SQL (no diff.json)")
    else:
        diverged = int(arm.replay.get("divergence_count") or 0)
        diverged += int(arm.replay.get("final_differences") or 0)
        semantic = sum((arm.replay.get("design_divergences") or {}).values())
        if diverged:
            arm.problems.append(f"{diverged} divergences from SQL in the replay")
        if semantic:
            arm.problems.append(f"{semantic} semantic divergences of the design")


def _changed_by(arm: Arm, calls: set[str]) -> list[str]:
    """The options of ``arm`` declared to change a function the operation calls."""
    from cinderdb.magneto.designs import OPTIONS

    return [o for o in arm.options if o in OPTIONS and set(OPTIONS[o].functions) & calls]


def operations_table(results: Results, arms: list[Arm], calls: dict[str, set[str]]) -> Table:
    """Per operation and design: its ratio to SQL with the interval, the counters that
    explain it (coloured against the seed arm's) and the options that changed it."""
    seed = next((arm for arm in arms if arm.design == SEED), None)
    per_arm = ["ratio", "95% CI", *(column for _, column in COUNTERS), "changed by"]
    table = Table(
        ["operation", *per_arm * len(arms)],
        groups=[("", 1), *((f"{a.label} / {a.baseline}", len(per_arm)) for a in arms)],
    )
    for name in operation_order(results):
        per = results.operations[name]
        row = [Cell(name)]
        for arm in arms:
            entry = ratio_of(results, name, arm.label)
            verdict = judge(entry)
            title = f"n = {entry.get('n', 0)} pairs"
            row += [
                Cell(fmt.ratio(entry.get("median")), verdict, title),
                Cell(fmt.interval(entry.get("ci95")), verdict, title),
            ]
            for counter, _ in COUNTERS:
                mine = counter_mean(per.get(arm.label), counter)
                cls = ""
                if seed is not None and arm is not seed and mine is not None:
                    theirs = counter_mean(per.get(seed.label), counter) or 0.0
                    cls = "win" if mine < theirs else "loss" if mine > theirs else ""
                row.append(Cell(fmt.mean(mine), cls))
            changed = _changed_by(arm, calls.get(name, set()))
            row.append(Cell(", ".join(changed) or fmt.DASH, "text"))
        table.rows.append(row)
    table.caption = (
        "counters are means per execution; green/red: fewer/more than the seed's arm; "
        "changed by: the design's options declared to change a function the operation calls"
    )
    return table


def costs_table(arms: list[Arm]) -> Table:
    """Per design: time over the mix, and what it pays for it in writes and validation."""
    table = Table(
        [
            "design",
            "options",
            "service time",
            "vs SQL",
            "faster / slower",
            "items written",
            "dual writes",
            "pairs",
            "items checked",
            "validation",
            "findings",
            "replay divergences",
            "outcome divergences",
        ],
        groups=[("", 2), ("over the mix", 3), ("per write operation", 2), ("validation", 6)],
    )
    for arm in arms:
        validation, replay = arm.validation or {}, arm.replay or {}
        findings = int(validation.get("findings") or 0) + int(validation.get("quota_findings") or 0)
        diverged = int(replay.get("divergence_count") or 0) + int(
            replay.get("final_differences") or 0
        )
        diverged += sum((replay.get("design_divergences") or {}).values())
        ratio = arm.spent_us / arm.baseline_us if arm.baseline_us else None
        table.add(
            Cell(f"{arm.label} ({arm.design})"),
            Cell(", ".join(arm.options) or "none", "text"),
            f"{fmt.number(arm.spent_us / 1e6)} s",
            Cell(
                fmt.ratio(ratio), "win" if (ratio or 1) < 1 else "loss" if (ratio or 1) > 1 else ""
            ),
            f"{arm.wins} / {arm.losses}",
            fmt.mean(arm.written),
            fmt.mean(arm.dual),
            fmt.count(validation.get("pairs")),
            fmt.count(validation.get("checked")),
            f"{fmt.number(validation.get('seconds'))} s" if validation.get("seconds") else fmt.DASH,
            Cell(fmt.count(findings) if arm.validation else "not run", "loss" if findings else ""),
            Cell(fmt.count(diverged) if arm.replay else "not run", "loss" if diverged else ""),
            Cell(fmt.count(arm.divergent_outcomes), "loss" if arm.divergent_outcomes else ""),
        )
    table.caption = (
        "vs SQL: service time over the mix against the arm's SQL baseline; faster/slower: "
        "operations whose 95% CI excludes 1; per write operation: per execution of an "
        "operation that writes; pairs and items checked: the dual-written pairs the "
        "validators check and the items they read"
    )
    return table


def options_table(arms: list[Arm]) -> Table:
    """Each option of the designs that ran: what it declares and which arms have it."""
    from cinderdb.magneto.designs import OPTIONS

    table = Table(["option", "what it does", "tables added", "pairs added", "functions", "in"])
    for name, option in OPTIONS.items():
        having = [arm.label for arm in arms if name in arm.options]
        if not having:
            continue
        table.add(
            name,
            Cell(option.summary, "text"),
            Cell(", ".join(t.name for t in option.tables) or fmt.DASH, "text"),
            Cell(", ".join(p.name for p in option.pairs) or fmt.DASH, "text"),
            Cell(", ".join(option.functions), "text"),
            Cell(", ".join(having), "text"),
        )
    return table


def recommend(arms: list[Arm]) -> tuple[str, str, list[tuple[str, str]]]:
    """The recommendation, its class and the evidence and costs behind it."""
    seed = next((arm for arm in arms if arm.design == SEED), None)
    eligible = [arm for arm in arms if not arm.problems]
    evidence = [
        ("loss", f"{arm.label} is not eligible: {'; '.join(arm.problems)}.")
        for arm in arms
        if arm.problems
    ]
    if not eligible:
        return (
            "No design can be recommended: every design arm diverged, has validator "
            "findings, or was not validated.",
            "loss",
            evidence,
        )
    best = min(eligible, key=lambda arm: arm.spent_us)
    ratio = best.spent_us / best.baseline_us if best.baseline_us else None
    text = (
        f"Recommended: {best.design} ({best.label}), the lowest total service time over the "
        f"mix among the designs with no divergence and no validator finding: "
        f"{fmt.number(best.spent_us / 1e6)} s"
    )
    if ratio:
        speed = fmt.speed(ratio, best.label, str(best.baseline))
        text += f", {fmt.ratio(ratio)} of {best.baseline}'s ({speed})"
    evidence.insert(
        0,
        (
            "win",
            f"Evidence: faster than {best.baseline} on {best.wins} operations and slower on "
            f"{best.losses} (95% CI excluding 1); no outcome divergence, the replay against "
            "SQL agreed, and the validators found nothing.",
        ),
    )
    for arm in sorted(eligible, key=lambda a: a.spent_us):
        if arm is not best:
            evidence.append(
                (
                    "",
                    f"{arm.label} is eligible too: {fmt.number(arm.spent_us / 1e6)} s over the "
                    f"mix ({fmt.ratio(arm.spent_us / best.spent_us if best.spent_us else None)} "
                    f"of {best.label}'s).",
                )
            )
    evidence.insert(1, ("", _costs_sentence(best, seed)))
    return text + ".", "win", evidence


def _costs_sentence(best: Arm, seed: Arm | None) -> str:
    validation = best.validation or {}
    text = (
        f"Costs: {fmt.mean(best.written)} items written and {fmt.mean(best.dual)} dual writes "
        f"per write operation, {fmt.count(validation.get('pairs'))} dual-written pairs to "
        f"validate ({fmt.count(validation.get('checked'))} items checked in "
        f"{fmt.number(validation.get('seconds'))} s)"
    )
    if seed is not None and seed is not best:
        theirs = seed.validation or {}
        text += (
            f"; the seed's arm wrote {fmt.mean(seed.written)} items and "
            f"{fmt.mean(seed.dual)} dual writes per write operation and validates "
            f"{fmt.count(theirs.get('pairs'))} pairs "
            f"({fmt.count(theirs.get('checked'))} items in {fmt.number(theirs.get('seconds'))} s)"
        )
    options = ", ".join(best.options) or "none"
    return f"{text}. Options bought: {options}."


def design_section(results: Results) -> DesignSection | None:
    """The section, for a run with a design arm other than the seed alone (else None)."""
    arms = design_arms(results)
    if not arms or (len(arms) == 1 and arms[0].design == SEED):
        return None
    calls = _oplog_facts(results, arms)
    _assess(results, arms)
    writes = _write_operations(results)
    for arm in arms:
        arm.written = _per_write(results, arm.label, writes, "items_written")
        arm.dual = _per_write(results, arm.label, writes, "dual_writes")
    text, cls, evidence = recommend(arms)
    return DesignSection(
        arms=arms,
        recommendation=text,
        cls=cls,
        evidence=evidence,
        costs=costs_table(arms),
        operations=operations_table(results, arms, calls),
        options=options_table(arms),
    )
