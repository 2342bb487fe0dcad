"""Trends across several results directories: per operation, the paired ratio and p50 over runs.

Rally's ``task trends`` and asv's graphs follow one series per benchmark; here
each point is a *paired* ratio measured side by side in one run, so a step in
the line is a change of the design or the harness, not of the machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.measure.results import Results
from reports import charts
from reports import format as fmt
from reports.model import Cell, Table, judge, operation_order, ratio_of, ratio_sides

#: Operations drawn in the trend chart (the most executed in the newest run).
CHARTED = 6


@dataclass
class Trends:
    runs: list[str] = field(default_factory=list)
    runs_table: Table | None = None
    ratio_table: Table | None = None
    p50_table: Table | None = None
    chart: str | None = None


def run_label(index: int, results: Results) -> str:
    started = str(results.meta.get("started_at") or "")[5:16].replace("T", " ")
    revision = str((results.meta.get("git") or {}).get("revision") or "")[:7]
    return f"#{index + 1} {started} {revision}".strip()


def frame(runs: Sequence[Results]):  # type: ignore[no-untyped-def]
    """Long form: one row per run, operation and backend (p50) with the run's ratio."""
    import pandas as pd

    records = []
    for index, results in enumerate(runs):
        for name, per in results.operations.items():
            entry = ratio_of(results, name)
            ci = entry.get("ci95") or [None, None]
            for label, stats in per.items():
                records.append(
                    {
                        "run": index,
                        "operation": name,
                        "backend": label,
                        "p50": (stats.get("service_us") or {}).get("p50"),
                        "median": entry.get("median"),
                        "low": ci[0],
                        "high": ci[1],
                        "n": entry.get("n"),
                        "verdict": judge(entry),
                    }
                )
    return pd.DataFrame.from_records(
        records,
        columns=["run", "operation", "backend", "p50", "median", "low", "high", "n", "verdict"],
    )


def build_trends(runs: Sequence[Results]) -> Trends:
    """``runs`` oldest first; the newest decides which operations and backends are shown."""
    trends = Trends(runs=[run_label(i, r) for i, r in enumerate(runs)])
    if len(runs) < 2:
        return trends
    newest = runs[-1]
    trends.runs_table = Table(
        ["run", "results", "command", "operations", "seconds", "backends", "git"]
    )
    for label, results in zip(trends.runs, runs, strict=True):
        meta = results.meta
        git = meta.get("git") or {}
        trends.runs_table.add(
            label,
            str(results.path),
            str(meta.get("command")),
            fmt.count(meta.get("operations")),
            fmt.number(meta.get("duration_s")),
            ", ".join(results.backends),
            f"{str(git.get('revision') or '?')[:12]}{' dirty' if git.get('dirty') else ''}",
        )
    data = frame(runs)
    operations = operation_order(newest)
    ratios = data.drop_duplicates(["run", "operation"]).pivot(index="operation", columns="run")
    trends.ratio_table = Table(["operation", *trends.runs])
    for name in operations:
        row = [Cell(name)]
        for run in range(len(runs)):
            median = _at(ratios, "median", name, run)
            low, high = _at(ratios, "low", name, run), _at(ratios, "high", name, run)
            ci = [low, high] if low is not None and high is not None else None
            verdict = _at(ratios, "verdict", name, run) or "na"
            text = (
                fmt.DASH
                if median is None
                else f"{fmt.ratio(median)} {fmt.interval(ci) if ci else ''}"
            )
            row.append(Cell(text.strip(), verdict))
        trends.ratio_table.rows.append(row)
    sides = ratio_sides(newest)
    if sides:
        trends.ratio_table.caption = f"{sides[1]} / {sides[0]}: median of paired ratios [95% CI]"
    p50 = data.pivot_table(
        index=["operation", "backend"], columns="run", values="p50", aggfunc="first"
    )
    trends.p50_table = Table(["operation", "backend", *trends.runs])
    for name in operations:
        for label in newest.backends:
            cells = [Cell(fmt.ms(_cell(p50, (name, label), run))) for run in range(len(runs))]
            trends.p50_table.rows.append([Cell(name), Cell(label), *cells])
    charted = operations[:CHARTED]
    chart_ratios = {
        name: [
            (
                _at(ratios, "median", name, run),
                _ci(_at(ratios, "low", name, run), _at(ratios, "high", name, run)),
            )
            for run in range(len(runs))
        ]
        for name in charted
    }
    chart_p50 = {
        name: {
            label: [_cell(p50, (name, label), run) for run in range(len(runs))]
            for label in newest.backends
        }
        for name in charted
    }
    trends.chart = charts.trend_chart(trends.runs, chart_ratios, chart_p50, newest.backends)
    return trends


def _ci(low: float | None, high: float | None) -> list[float] | None:
    return [low, high] if low is not None and high is not None else None


def _at(table, column: str, name: str, run: int):  # type: ignore[no-untyped-def]
    """One value of a pivoted frame, None when missing or NaN."""
    try:
        value = table.loc[name, (column, run)]
    except KeyError:
        return None
    return None if _missing(value) else value


def _cell(table, key: tuple[str, str], run: int):  # type: ignore[no-untyped-def]
    try:
        value = table.loc[key, run]
    except KeyError:
        return None
    return None if _missing(value) else float(value)


def _missing(value: object) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))
