"""The verdict at the top of the report: where the candidate wins or loses, by how much,
with confidence intervals, and whether anything found the data diverging.

It only restates figures shown in full further down (comparison.json's paired
ratios, the counters, the findings files); its job is to order them for a
reader who must decide, and to say plainly what the run cannot support.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.measure.results import Results
from reports import format as fmt
from reports import time_split
from reports.findings import Section
from reports.model import (
    Cell,
    Table,
    all_sides,
    engine_name,
    judge,
    on_network,
    ratio_of,
    ratio_sides,
    side_of_label,
)

#: Operations listed as the largest wins and losses.
TOP = 6
#: Below this many pairs an operation's CI is too wide to lean on.
FEW_PAIRS = 20


@dataclass
class Verdict:
    headline: str
    cls: str
    points: list[tuple[str, str]] = field(default_factory=list)  # (css class, sentence)
    wins: Table | None = None
    losses: Table | None = None
    caveats: list[str] = field(default_factory=list)


def _counter_sum(results: Results, label: str, name: str) -> int:
    return sum(
        int(((per.get(label) or {}).get("counters") or {}).get(name, {}).get("sum", 0))
        for per in results.operations.values()
    )


def _time_spent(results: Results, baseline: str, candidate: str) -> tuple[float, float]:
    """Service time summed over the operations both backends ran (µs)."""
    totals = [0.0, 0.0]
    for per in results.operations.values():
        if baseline in per and candidate in per:
            for i, label in enumerate((baseline, candidate)):
                service = per[label].get("service_us") or {}
                totals[i] += (service.get("mean") or 0.0) * (service.get("count") or 0)
    return totals[0], totals[1]


def _impact(results: Results, name: str, baseline: str, candidate: str) -> float:
    """Service time the candidate saved on this operation over the run (µs; < 0: lost)."""
    per = results.operations[name]
    spent = []
    for label in (baseline, candidate):
        service = (per.get(label) or {}).get("service_us") or {}
        spent.append((service.get("mean") or 0.0) * (service.get("count") or 0))
    return spent[0] - spent[1]


def _top_table(results: Results, names: list[str], sides: tuple[str, str], saved: bool) -> Table:
    """The operations that weigh most on the run's total time, with their ratios."""
    total = int(results.meta.get("operations") or 0)
    column = "time saved" if saved else "time lost"
    table = Table(["operation", "median ratio", "95% CI", "pairs", "share of the mix", column])
    for name in names:
        entry = ratio_of(results, name)
        verdict = judge(entry)
        count = max(s["count"] for s in results.operations[name].values())
        impact = _impact(results, name, *sides)
        table.add(
            name,
            Cell(fmt.ratio(entry.get("median")), verdict),
            Cell(fmt.interval(entry.get("ci95")), verdict),
            fmt.count(entry.get("n")),
            fmt.percent(count / total if total else None),
            f"{fmt.number(abs(impact) / 1e6)} s",
        )
    table.caption = f"ordered by the {column} over the run (count \u00d7 mean service time)"
    return table


def build_verdict(
    results: Results,
    validation: Section,
    diff: Section,
    gate: Section,
    transport: list[dict[str, Any]],
) -> Verdict:
    sides = ratio_sides(results)
    if sides is None or not results.comparison:
        verdict = Verdict("one backend ran: there is nothing to compare", "na")
        verdict.caveats = _caveats(results, None)
        _findings_points(verdict, results, validation, diff, gate)
        return verdict
    baseline, candidate = sides
    judged = {name: judge(ratio_of(results, name)) for name in results.operations}
    wins = sorted(
        (n for n, v in judged.items() if v == "win"), key=lambda n: -_impact(results, n, *sides)
    )
    losses = sorted(
        (n for n, v in judged.items() if v == "loss"), key=lambda n: _impact(results, n, *sides)
    )
    unclear = len(judged) - len(wins) - len(losses)
    spent_base, spent_cand = _time_spent(results, baseline, candidate)
    mix_ratio = spent_cand / spent_base if spent_base else None
    headline = (
        f"{candidate} was faster on {len(wins)} and slower on {len(losses)} of {len(judged)} "
        f"operations (95% CI of the paired ratio excluding 1); {unclear} showed no clear "
        f"difference or too few pairs."
    )
    cls = (
        "win" if mix_ratio and mix_ratio < 1 else "loss" if mix_ratio and mix_ratio > 1 else "even"
    )
    verdict = Verdict(headline, cls)
    if mix_ratio:
        verdict.points.append(
            (
                cls,
                f"Over the whole mix {candidate} spent {fmt.number(spent_cand / 1e6)} s of service "
                f"time where {baseline} spent {fmt.number(spent_base / 1e6)} s: "
                f"{fmt.ratio(mix_ratio)} ({fmt.speed(mix_ratio, candidate, baseline)}).",
            )
        )
    if wins:
        verdict.wins = _top_table(results, wins[:TOP], sides, saved=True)
    if losses:
        verdict.losses = _top_table(results, losses[:TOP], sides, saved=False)
    for other_baseline, arm in all_sides(results)[1:]:
        verdict.points.append(_pair_point(results, other_baseline, arm))
    _design_points(verdict, results, baseline, candidate)
    _transport_point(verdict, transport)
    verdict.points += time_split.verdict_points(results)
    _findings_points(verdict, results, validation, diff, gate)
    verdict.caveats = _caveats(results, sides)
    return verdict


def _pair_point(results: Results, baseline: str, arm: str) -> tuple[str, str]:
    """One sentence for a pairing beyond the first: its wins, losses and mix ratio."""
    judged = [judge(ratio_of(results, name, arm)) for name in results.operations]
    spent_base, spent_arm = _time_spent(results, baseline, arm)
    mix = spent_arm / spent_base if spent_base else None
    cls = "win" if mix and mix < 1 else "loss" if mix and mix > 1 else "even"
    over = f"; over the mix {fmt.ratio(mix)} ({fmt.speed(mix, arm, baseline)})" if mix else ""
    return (
        cls,
        f"{arm} against {baseline}: faster on {judged.count('win')} and slower on "
        f"{judged.count('loss')} of {len(judged)} operations{over}.",
    )


def _design_points(verdict: Verdict, results: Results, baseline: str, candidate: str) -> None:
    labels = {side_of_label(results, label): label for label in (baseline, candidate)}
    sql, mdb = labels.get("sql"), labels.get("magnetodb")
    if not (sql and mdb):
        return
    joins = _counter_sum(results, sql, "joins")
    statements = _counter_sum(results, sql, "statements")
    requests = _counter_sum(results, mdb, "requests")
    verdict.points.append(
        (
            "",
            f"Join avoidance: {sql} issued {fmt.count(statements)} statements with "
            f"{fmt.count(joins)} JOINs; {mdb} made {fmt.count(requests)} requests and no joins.",
        )
    )
    scanning = sorted(
        name
        for name, per in results.operations.items()
        if ((per.get(mdb) or {}).get("counters") or {}).get("requests.scan", {}).get("sum")
    )
    if scanning:
        read = _counter_sum(results, mdb, "items_read")
        rows = _counter_sum(results, sql, "rows")
        verdict.points.append(
            (
                "loss",
                f"The design falls back to full table scans in {len(scanning)} operations "
                f"({', '.join(scanning[:8])}{'…' if len(scanning) > 8 else ''}): {mdb} read "
                f"{fmt.count(read)} items where {sql} touched {fmt.count(rows)} rows.",
            )
        )
    written = _counter_sum(results, mdb, "items_written")
    dual = _counter_sum(results, mdb, "dual_writes")
    if written:
        verdict.points.append(
            (
                "",
                f"Write amplification: {fmt.count(dual)} of the {fmt.count(written)} items "
                f"{mdb} wrote ({fmt.percent(dual / written)}) were second copies (dual writes) "
                f"that validation must keep consistent.",
            )
        )


def _transport_point(verdict: Verdict, transport: list[dict[str, Any]]) -> None:
    if not transport:
        verdict.points.append(
            ("", "No round-trip floor was recorded: transport cost is not separated.")
        )
        return
    spent = sum((row["mdb"]["mean"] or 0) * row["count"] for row in transport)
    moved = sum((row["mdb"]["transport"] or 0) * row["count"] for row in transport)
    floor = transport[0]["mdb"]["floor"]
    nets = [row["net_ratio"] for row in transport if row["net_ratio"]]
    net_text = ""
    if nets:
        import statistics

        net_text = (
            "; net of transport on both sides the median per-operation ratio is "
            f"{fmt.ratio(statistics.median(nets))}"
        )
    verdict.points.append(
        (
            "",
            f"Transport: a MagnetoDB round trip costs at least {fmt.us(floor)}; round trips "
            f"\u00d7 that floor are {fmt.percent(moved / spent if spent else None)} of its "
            f"service time over the mix{net_text}.",
        )
    )


def _findings_points(
    verdict: Verdict, results: Results, validation: Section, diff: Section, gate: Section
) -> None:
    divergent = (results.meta.get("totals") or {}).get("divergent") or {}
    if divergent:
        verdict.points.append(
            (
                "loss",
                f"Outcomes diverged between the backends in {sum(divergent.values())} "
                f"operations: {fmt.compact(divergent)}.",
            )
        )
    for name, section in (
        ("Validation", validation),
        ("Differential replay", diff),
        ("Gate", gate),
    ):
        cls = "na" if not section.present else "win" if section.ok else "loss"
        verdict.points.append((cls, f"{name}: {section.status}."))


def _caveats(results: Results, sides: tuple[str, str] | None) -> list[str]:
    meta = results.meta
    caveats = []
    local = [
        f"{label}: {engine_name(results, label)}"
        for label in results.backends
        if side_of_label(results, label) == "sql" and on_network(results, label) is False
    ]
    if local:
        caveats.append(
            f"The SQL side ({', '.join(local)}) ran embedded, not on a MySQL/MariaDB server: its "
            "latencies have no network round trip. Run with --sql mysql+pymysql://… for the "
            "decision."
        )
    ran = {side_of_label(results, label) for label in results.backends}
    if sides and "magnetodb" not in ran:
        caveats.append("No MagnetoDB backend ran: this compares two SQL backends.")
    if sides and results.comparison:
        few = [
            name
            for name, entry in (results.comparison.get("operations") or {}).items()
            if (entry.get("n") or 0) < FEW_PAIRS
        ]
        if few:
            caveats.append(
                f"{len(few)} operations have fewer than {FEW_PAIRS} pairs; their intervals are "
                "wide (run longer for them)."
            )
    for kill in meta.get("node_kills") or ():
        if kill.get("killed"):
            caveats.append(
                f"{kill.get('side')} {kill.get('name')} was killed at second "
                f"{kill.get('second')}: the figures include the failover (Over time, Node kills)."
            )
    failures = (meta.get("totals") or {}).get("harness_failures") or 0
    if failures:
        caveats.append(f"{failures} harness failures (bugs in the harness, not outcomes) happened.")
    if (meta.get("git") or {}).get("dirty"):
        caveats.append(
            "The checkout had uncommitted changes: the git revision does not identify the code."
        )
    if (meta.get("parameters") or {}).get("threads", 1) > (meta.get("machine") or {}).get(
        "cpus", 1
    ):
        caveats.append("More threads than CPUs: latency includes waiting for a CPU.")
    return caveats
