"""The terminal summary of a results directory: latency per operation, counters per call.

What ``cinderbench run`` and ``compare`` and the locust workloads print at the
end; the results directory is the record, this is its human view.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bench.measure.results import Results


def _ms(value: float) -> str:
    """µs as ms to three significant digits (0.79, 15.1, 472): narrow enough for 80 columns."""
    ms = value / 1000
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


def print_summary(results: Results, limit: int | None = None) -> None:
    """Per operation: count, p50/p99 service time (ms) per backend, the paired ratio with
    its 95% CI, and rejected/errors per backend; laid out to fit 80 columns. Past two
    arms, one table per pairing (an arm and its baseline): more columns would not fit."""
    from rich.console import Console

    console = Console()
    pairings = results.pairings
    if len(results.backends) <= 2 or not pairings:
        groups = [(list(results.backends), pairings)]
    else:
        groups = [([p["baseline"], p["candidate"]], [p]) for p in pairings]
    for labels, chosen in groups:
        console.print(_fitted(console, *_summary_table(results, labels, chosen, limit)))
    meta = results.meta
    console.print(
        f"{meta['operations']} operations in {meta['duration_s']:.1f} s; "
        f"divergent outcomes: {sum(meta['totals']['divergent'].values())}; "
        f"harness failures: {meta['totals']['harness_failures']}"
    )


def _summary_table(
    results: Results,
    backends: list[str],
    pairings: list[dict[str, Any]],
    limit: int | None,
) -> tuple[Callable[[], Any], list[list[str]]]:
    """``print_summary``'s table of ``backends`` and the ratios of ``pairings``: its maker
    and its rows."""
    letters = [chr(ord("A") + i) for i in range(len(backends))]  # short headers, a legend
    letter_of = dict(zip(backends, letters, strict=True))
    legend = ", ".join(
        f"{letter} = {label}" for letter, label in zip(letters, backends, strict=True)
    )
    #: (header, operations of comparison.json) per pairing: "B/A" arm over its baseline
    ratios = [
        (
            f"{letter_of.get(p['candidate'], '?')}/{letter_of.get(p['baseline'], '?')}",
            p.get("operations") or {},
        )
        for p in pairings
    ]
    headers = ", ".join(header for header, _ in ratios)

    def make_table() -> Any:
        table = _narrow_table(
            f"service time per operation, ms ({results.path})",
            legend + (f"; {headers}: median of paired ratios" if ratios else ""),
            "operation",
        )
        table.add_column("n", justify="right", no_wrap=True)
        for letter in letters:
            table.add_column(f"{letter} p50/p99", justify="right", no_wrap=True)
        for header, _ in ratios:
            table.add_column(header, justify="right", no_wrap=True)
            table.add_column("95% CI", justify="right", no_wrap=True)
        table.add_column("rej/err", justify="right", no_wrap=True)
        return table

    per_op = results.operations
    names = sorted(per_op, key=lambda n: -max(s["count"] for s in per_op[n].values()))
    rows = []
    for name in names[:limit] if limit else names:
        per = per_op[name]
        row = [name, str(max(per[label]["count"] for label in backends if label in per))]
        for label in backends:
            service = (per.get(label) or {}).get("service_us")
            row.append(f"{_ms(service['p50'])}/{_ms(service['p99'])}" if service else "-")
        for _, operations in ratios:
            ratio = operations.get(name, {})
            ci = ratio.get("ci95")
            row.append(f"{ratio['median']:.2f}" if ratio.get("median") else "-")
            row.append(f"{ci[0]:.2f}-{ci[1]:.2f}" if ci else "")
        row.append(
            " ".join(
                f"{per[label]['rejected']}/{per[label]['errors']}" if label in per else "-"
                for label in backends
            )
        )
        rows.append(row)
    return make_table, rows


def _narrow_table(title: str, caption: str, first_column: str) -> Any:
    """A table with one space between columns and none at the edges (80 columns are few);
    its first column holds names (``_fitted`` breaks them when they do not fit)."""
    from rich import box
    from rich.table import Table

    table = Table(
        title=title,
        caption=caption,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1, 0, 0),
        pad_edge=False,
    )
    table.add_column(first_column, no_wrap=True)
    return table


def _fitted(
    console: Any, make_table: Callable[[], Any], rows: list[list[str]], section_after: int = 0
) -> Any:
    """The table of ``rows`` (a rule after the first ``section_after``); where it is wider
    than the console, the first column's names are broken after an underscore so the
    figures keep their width (nothing is cut)."""
    from rich.measure import Measurement

    def filled(room: int | None) -> Any:
        table = make_table()
        for number, (name, *cells) in enumerate(rows, 1):
            first = name if room is None else _break_name(name, room)
            table.add_row(first, *cells, end_section=number == section_after)
        return table

    table = filled(None)
    natural = Measurement.get(console, console.options.update_width(10**4), table).maximum
    if natural <= console.width or not rows:
        return table
    return filled(max(len(row[0]) for row in rows) - (natural - console.width))


def _break_name(name: str, room: int) -> str:
    """``name`` on lines of at most ``room`` characters, broken after an underscore or at a
    space (a name is never cut to an ellipsis; a part longer than ``room`` stays whole)."""
    lines = [""]
    for part in re.findall(r"[^_ ]+[_ ]?", name):
        if lines[-1] and len(lines[-1]) + len(part.rstrip()) > room:
            lines[-1] = lines[-1].rstrip()
            lines.append("")
        lines[-1] += part
    return "\n".join(line.rstrip() for line in lines)


#: The counters shown per backend kind (the first one present decides the kind).
COUNTER_VIEWS = (
    ("statements", ("statements", "joins", "tables", "rows"), "stmts/joins/tables/rows"),
    ("requests", ("requests", "items_read", "items_written", "dual_writes"), "req/read/write/dual"),
)


KEY_CALLS = ("volume_get", "volume_get_all_by_project", "snapshot_get", "quota_reserve")


def _counter_text(stats: dict[str, Any] | None) -> str:
    counters = (stats or {}).get("counters") or {}
    for marker, names, _ in COUNTER_VIEWS:
        if marker in counters:
            cells = []
            for name in names:
                stats = counters.get(name, {"mean": 0.0, "min": 0, "max": 0})
                exact = stats["min"] == stats["max"]
                cells.append(f"{stats['mean']:.3g}" if exact else f"~{stats['mean']:.3g}")
            return "/".join(cells)
    return "-"


def print_counters(results: Results, limit: int = 12) -> None:
    """Join avoidance: mean counters per call and per operation, backend by backend.

    A ``~`` marks a mean over calls whose counts differ (data-dependent); a plain
    number is the same for every call. Laid out to fit 80 columns.
    """
    from rich.console import Console

    backends = results.backends
    legend = f"SQL {COUNTER_VIEWS[0][2]}; MagnetoDB {COUNTER_VIEWS[1][2]}"

    def make_table() -> Any:
        table = _narrow_table(
            "counters per call / operation (mean)", legend, "call context / operation"
        )
        for label in backends:
            table.add_column(label, justify="right", no_wrap=True)
        return table

    rows = []
    for name in KEY_CALLS:
        per = results.calls.get(name, {})
        for context in ("admin", "user"):
            cells = [
                _counter_text((per.get(b) or {}).get("by_context", {}).get(context))
                for b in backends
            ]
            if any(cell != "-" for cell in cells):
                rows.append([f"{name} {context}", *cells])
    calls = len(rows)
    ops = sorted(
        results.operations, key=lambda n: -sum(s["count"] for s in results.operations[n].values())
    )
    for name in ops[:limit]:
        per = results.operations[name]
        rows.append([name, *(_counter_text(per.get(b)) for b in backends)])
    console = Console()
    console.print(_fitted(console, make_table, rows, section_after=calls))
