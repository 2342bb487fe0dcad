"""Assemble the report from results directories and render it into one HTML file.

Results flow one way (STYLE.md §14): this module reads results directories
through ``bench.measure.results.load_results`` only, computes tables and charts, and
renders ``report.html.j2`` with Jinja2's autoescape on, so a volume named
``<script>…`` in a finding is text on the page, never markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.measure.results import Results, load_results
from reports import charts, facts, findings, offload, tables
from reports import format as fmt
from reports.acknowledged import acknowledged_table
from reports.contention import contention_section
from reports.designs import design_section
from reports.model import (
    all_sides,
    judge,
    operation_order,
    ratio_of,
    ratio_sides,
    side_of_label,
)
from reports.replication import replication_table
from reports.time_split import time_split_section
from reports.trends import build_trends
from reports.verdict import build_verdict

#: Operations drawn in the first percentile grid; the others go in a folded one.
MAIN_PANELS = 12
#: Operations in the join-avoidance chart.
JOIN_CHART_ROWS = 24
#: Percentiles of the latency-by-percentile curves: 0% .. 99.99% evenly on 1/(1-p).
CURVE_PERCENTILES = tuple(100.0 * (1.0 - 10 ** (-k / 20)) for k in range(81))
TEMPLATE = "report.html.j2"


def load_runs(paths: Sequence[str | Path]) -> list[Results]:
    """The results directories, oldest first (the newest is the one the report is about)."""
    runs = [load_results(path) for path in paths]
    return sorted(runs, key=lambda r: float(r.meta.get("started_epoch") or 0.0))


def percentile_curve(
    results: Results, operation: str, label: str, series: str = "service"
) -> list[tuple[float, float]]:
    """``(percentile, µs)`` points up to the last one the sample count resolves, then the max."""
    histogram = results.histogram("op", operation, label, series)
    if histogram is None or histogram.get_total_count() == 0:
        return []
    total = histogram.get_total_count()
    resolved = [p for p in CURVE_PERCENTILES if (1.0 - p / 100.0) * total >= 1.0]
    values = histogram.get_percentile_to_value_dict(resolved)
    points = [(p, float(values[p])) for p in resolved]
    last = 100.0 * (1.0 - 1.0 / total) if total > 1 else 0.0
    if not points or last > points[-1][0]:
        points.append((last, float(histogram.get_max_value())))
    return points


def _percentile_panels(results: Results, names: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
    panels = []
    for name in names:
        curves = {label: percentile_curve(results, name, label) for label in results.backends}
        for label in results.backends:  # paced runs: the coordinated-omission corrected curve
            intended = percentile_curve(results, name, label, "intended")
            if intended:
                curves[f"{label} intended"] = intended
        panels.append((name, curves))
    return panels


def _join_rows(results: Results) -> tuple[list[dict[str, float]], str | None, str | None]:
    sql = next((b for b in results.backends if side_of_label(results, b) == "sql"), None)
    mdb = next((b for b in results.backends if side_of_label(results, b) == "magnetodb"), None)
    if not (sql and mdb):
        return [], sql, mdb
    rows = []
    for name in operation_order(results)[:JOIN_CHART_ROWS]:
        per = results.operations[name]
        if sql not in per or mdb not in per:
            continue
        s, m = per[sql].get("counters") or {}, per[mdb].get("counters") or {}

        def mean(counters: dict[str, Any], key: str) -> float:
            return float((counters.get(key) or {}).get("mean", 0.0))

        rows.append(
            {
                "name": name,
                "statements": mean(s, "statements"),
                "joins": mean(s, "joins"),
                "rows": mean(s, "rows"),
                "requests": mean(m, "requests"),
                "scans": mean(m, "requests.scan"),
                "items_read": mean(m, "items_read"),
            }
        )
    return rows, sql, mdb


def kill_events(results: Results) -> list[tuple[float, str, str | None]]:
    """The over-time chart's marks: each node kill, and when each backend it served
    served writes again."""
    events: list[tuple[float, str, str | None]] = []
    for kill in results.meta.get("node_kills") or ():
        if not kill.get("killed"):
            continue
        second = float(kill["second"])
        events.append((second, f"kill {kill.get('side')} {kill.get('name')}", None))
        for label, effect in (kill.get("effects") or {}).items():
            again = effect.get("writes_served_again_s") or effect.get("served_again_s")
            if again is not None:
                events.append((second + again, f"{label} writes again +{again:.1f} s", label))
    return events


def context(runs: Sequence[Results], processes: int = 1) -> dict[str, Any]:
    """Everything the template shows, for the newest of ``runs`` (the percentile grids
    drawn by a second process while the rest is built, with ``processes=2``:
    ``reports.offload``)."""
    with offload.drawer(processes) as drawer:
        grids = [
            drawer.submit(charts.percentile_grid, panels, runs[-1].backends)
            for panels in _grid_panels(runs[-1])
        ]
        shown = _context(runs)
        shown["percentiles_main"], shown["percentiles_rest"] = (g.result() for g in grids)
    return shown


def _grid_panels(results: Results) -> list[list[tuple[str, dict[str, Any]]]]:
    """The panels of the two percentile grids: the first ``MAIN_PANELS`` operations
    shown, and the rest."""
    order = operation_order(results)
    return [
        _percentile_panels(results, order[:MAIN_PANELS]),
        _percentile_panels(results, order[MAIN_PANELS:]),
    ]


def _context(runs: Sequence[Results]) -> dict[str, Any]:
    """Everything the template shows but the percentile grids."""
    results = runs[-1]
    sides = ratio_sides(results)
    validation = findings.validation_section(results)
    diff = findings.diff_section(results)
    gate = findings.gate_section(results)
    transport = tables.transport_rows(results)
    mdb = next((b for b in results.backends if side_of_label(results, b) == "magnetodb"), None)
    sql = next((b for b in results.backends if side_of_label(results, b) == "sql"), None)
    order = operation_order(results)
    forest_rows = [
        {"name": name, "verdict": judge(ratio_of(results, name)), **ratio_of(results, name)}
        for name in order
    ]
    join_rows, join_sql, join_mdb = _join_rows(results)
    write_rows = tables.write_rows(results)
    floor = results.floor
    return {
        "title": facts.run_title(results),
        "sides_text": "; ".join(f"{arm} vs {base}" for base, arm in all_sides(results))
        or " · ".join(results.backends),
        "candidate": sides[1] if sides else "",
        "results_path": str(results.path),
        "generated": facts.generated_at(),
        "verdict": build_verdict(results, validation, diff, gate, transport),
        "designs": design_section(results),
        "forest": charts.ratio_forest(forest_rows, *(sides[::-1] if sides else ("", ""))),
        "run_facts": facts.summary_facts(results),
        "engines": facts.engines_table(results),
        "dataset": facts.dataset_table(results),
        "versions": facts.versions_text(results),
        "operations": tables.operations_table(results),
        "intended": tables.intended_table(results),
        "rest_count": max(len(order) - MAIN_PANELS, 0),
        "timeseries": charts.timeseries_chart(
            results.timeseries(), results.backends, kill_events(results)
        ),
        "kills": tables.kills_table(results),
        "acknowledged": acknowledged_table(results),
        "replication": replication_table(results),
        "topology": facts.topology_table(results),
        "members": facts.members_table(results),
        "join_chart": charts.join_chart(join_rows, join_sql or "", join_mdb or ""),
        "joins": tables.join_table(results),
        "call_joins": tables.call_join_table(results),
        "contention": contention_section(results),
        "writes_chart": charts.writes_chart(write_rows),
        "writes": tables.writes_table(write_rows) if write_rows else None,
        "split": time_split_section(results),
        "transport_chart": charts.transport_chart(transport, mdb or "", sql),
        "transport": tables.transport_table(transport, mdb or "", sql) if transport else None,
        "floor_text": "; ".join(
            f"{label} {fmt.us(entry.get('p50_us'))} median of {entry.get('n')} "
            f"\u00d7 {entry.get('probe')}"
            for label, entry in floor.items()
        ),
        "validation": validation,
        "diff": diff,
        "gate": gate,
        "trends": build_trends(runs),
    }


def render(runs: Sequence[Results], processes: int = 1) -> str:
    """The report's HTML (autoescape on; the CSS is the template's own static text)."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
    )
    return environment.get_template(TEMPLATE).render(**context(runs, processes))


def write_report(paths: Sequence[str | Path], output: str | Path, processes: int = 1) -> Path:
    """Render the report of ``paths`` (oldest to newest, any order) into ``output``
    (``processes``: as ``context``'s)."""
    runs = load_runs(paths)
    if not runs:
        raise ValueError("no results directory given")
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(runs, processes), encoding="utf-8")
    return target
