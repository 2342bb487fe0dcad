"""Charts as base64 PNG data URIs, drawn by matplotlib's Agg canvas (no display, no network).

Figures are built with ``matplotlib.figure.Figure`` rather than pyplot, so no
global state is shared between reports and nothing needs a GUI backend. Each
function takes plain numbers (computed in the report's table modules) and
returns a ``data:image/png;base64,...`` string the template puts in an
``<img>``: the HTML file stays self-contained.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

#: Backend colours by position (colour-blind safe: Okabe-Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
VERDICT_COLOURS = {"win": "#1a7f37", "loss": "#cf222e", "even": "#6e7781", "na": "#afb8c1"}
#: Percentile axis of the latency plots: 1/(1-p) from 0% to 99.99%.
PERCENTILE_TICKS = (
    (1, "0%"),
    (10, "90%"),
    (100, "99%"),
    (1000, "99.9%"),
    (10000, "99.99%"),
    (100000, "99.999%"),
)
DPI = 90


def _figure(width: float, height: float, layout: str | None = "constrained"):  # type: ignore[no-untyped-def]
    """A pyplot-free figure; grids of many panels pass ``layout=None`` (constrained
    layout measures every tick label of every panel, seconds for a large grid)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout=layout)


def _plain_log_axes(axes: Any) -> None:
    """Log axes without minor ticks and with plain numbers (cheap to lay out, easy to read)."""
    from matplotlib.ticker import FuncFormatter, NullLocator

    for axis in (axes.xaxis, axes.yaxis):
        axis.set_minor_locator(NullLocator())
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def to_data_uri(figure: Any) -> str:
    """The figure as an inline PNG."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def colours(labels: Sequence[str]) -> dict[str, str]:
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}


def ratio_forest(rows: Sequence[Mapping[str, Any]], candidate: str, baseline: str) -> str | None:
    """Median paired ratio per operation with its 95% CI, on a log axis around 1."""
    rows = [r for r in rows if r.get("median")]
    if not rows:
        return None
    figure = _figure(9.5, 0.9 + 0.24 * len(rows))
    axes = figure.add_subplot()
    for y, row in enumerate(reversed(rows)):
        colour = VERDICT_COLOURS[row["verdict"]]
        if row.get("ci95"):
            low, high = row["ci95"]
            axes.plot([low, high], [y, y], color=colour, linewidth=2, solid_capstyle="butt")
        axes.plot([row["median"]], [y], "o", color=colour, markersize=5)
    axes.axvline(1.0, color="#57606a", linewidth=1, linestyle="--")
    axes.set_xscale("log")
    _ratio_ticks(axes, [v for r in rows for v in (r.get("ci95") or [r["median"]])])
    axes.set_yticks(range(len(rows)), [row["name"] for row in reversed(rows)], fontsize=8)
    axes.set_ylim(-0.7, len(rows) - 0.3)
    axes.set_xlabel(f"{candidate} / {baseline} service time (median of paired ratios, 95% CI)")
    axes.grid(axis="x", which="both", alpha=0.3)
    axes.set_title(f"left of 1: {candidate} faster · right of 1: {candidate} slower", fontsize=9)
    return to_data_uri(figure)


def _ratio_ticks(axes: Any, values: Sequence[float]) -> None:
    """Ticks 0.1x, 0.2x, 0.5x, 1x, 2x... covering ``values`` (log axes read badly as 10^-1)."""
    from matplotlib.ticker import NullLocator

    low, high = min([*values, 0.9]), max([*values, 1.1])
    ticks = [
        m * 10**e for e in range(-3, 4) for m in (1, 2, 5) if low / 1.3 <= m * 10**e <= high * 1.3
    ]
    axes.set_xlim(low / 1.3, high * 1.3)
    axes.xaxis.set_minor_locator(NullLocator())
    axes.set_xticks(ticks, [f"{t:g}\u00d7" for t in ticks])


def percentile_grid(
    panels: Sequence[tuple[str, Mapping[str, Sequence[tuple[float, float]]]]],
    labels: Sequence[str],
    columns: int = 4,
) -> str | None:
    """HdrHistogram-style latency by percentile, one small panel per operation.

    ``panels`` is ``[(operation, {backend: [(percentile, µs), ...]})]``; the x
    axis is 1/(1-p) on a log scale, so the tail (99%, 99.9%) gets as much room
    as the median.
    """
    panels = [p for p in panels if any(p[1].values())]
    if not panels:
        return None
    palette = colours(labels)
    longest = max(
        len(points) and 1.0 / (1.0 - points[-1][0] / 100.0)
        for _, series in panels
        for points in series.values()
    )
    right = max(100.0, 10 ** math.ceil(math.log10(max(longest, 1.0))))
    ticks = [(t, name) for t, name in PERCENTILE_TICKS if t <= right]
    rows = math.ceil(len(panels) / columns)
    height = 2.35 * rows + 0.5
    figure = _figure(3.3 * columns, height, layout=None)
    figure.subplots_adjust(
        left=0.05, right=0.99, bottom=0.3 / height, top=1 - 0.75 / height, wspace=0.22, hspace=0.45
    )
    grid = figure.subplots(rows, columns, squeeze=False)
    for index, axes in enumerate(grid.flat):
        if index >= len(panels):
            axes.set_visible(False)
            continue
        name, series = panels[index]
        styles = [(b, b, "-") for b in labels] + [(f"{b} intended", b, "--") for b in labels]
        for label, backend, style in styles:
            points = series.get(label) or []
            if not points:
                continue
            xs = [1.0 / (1.0 - p / 100.0) if p < 100 else None for p, _ in points]
            data = [(x, v / 1000.0) for x, (_, v) in zip(xs, points, strict=True) if x]
            axes.step(
                [x for x, _ in data],
                [v for _, v in data],
                where="post",
                color=palette[backend],
                linestyle=style,
                label=label,
            )
        axes.set_xscale("log")
        axes.set_yscale("log")
        _plain_log_axes(axes)
        axes.set_xlim(1, right)
        axes.set_xticks([t for t, _ in ticks], [n for _, n in ticks], fontsize=7)
        axes.tick_params(axis="y", labelsize=7)
        axes.set_title(name, fontsize=9)
        axes.grid(which="major", alpha=0.3)
        if index % columns == 0:
            axes.set_ylabel("ms", fontsize=8)
    handles, names = grid.flat[0].get_legend_handles_labels()
    if handles:
        figure.legend(handles, names, loc="upper center", ncols=len(names), fontsize=9)
    return to_data_uri(figure)


def timeseries_chart(
    rows: Sequence[Mapping[str, Any]],
    labels: Sequence[str],
    events: Sequence[tuple[float, str, str | None]] = (),
) -> str | None:
    """Operations per second, and p50/p99 service time per second, per backend.

    ``events`` are ``(second, text, backend or None)`` marks: a node kill (a red dashed
    line across both panels) and when a backend served again (a dotted line in its
    colour)."""
    if not rows:
        return None
    palette = colours(labels)
    figure = _figure(11, 5.2)
    top, bottom = figure.subplots(2, 1, sharex=True)
    for label in labels:
        mine = {int(r["second"]): r for r in rows if r["backend"] == label}
        if not mine:
            continue
        # a second in which nothing completed is a 0 (the blip of a stall), not a gap
        seconds = list(range(min(mine), max(mine) + 1))
        none: dict[str, Any] = {}
        top.plot(
            seconds,
            [mine.get(s, none).get("operations", 0) for s in seconds],
            color=palette[label],
            label=label,
        )
        errors = [s for s in seconds if mine.get(s, none).get("errors")]
        if errors:
            top.plot(errors, [0] * len(errors), "x", color=palette[label], label=f"{label} errors")
        for key, style in (("p50_us", "-"), ("p99_us", ":")):
            bottom.plot(
                seconds,
                [mine[s][key] / 1000 if s in mine else math.nan for s in seconds],
                color=palette[label],
                linestyle=style,
                label=f"{label} {key[:3]}",
            )
    for second, text, backend in events:
        colour = "#cf222e" if backend is None else palette.get(backend, "#57606a")
        style = "--" if backend is None else ":"
        for axes in (top, bottom):
            axes.axvline(second, color=colour, linestyle=style, linewidth=1.2)
        top.annotate(
            text,
            (second, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -3),
            textcoords="offset points",
            fontsize=7,
            color=colour,
            va="top",
            rotation=90,
        )
    top.set_ylabel("operations / s")
    top.legend(fontsize=8, loc="upper right")
    top.grid(alpha=0.3)
    bottom.set_yscale("log")
    bottom.set_ylabel("service time, ms")
    bottom.set_xlabel("second of the run")
    bottom.legend(fontsize=8, loc="upper right", ncols=2)
    bottom.grid(alpha=0.3, which="both")
    return to_data_uri(figure)


def _barh_panel(
    axes: Any, names: Sequence[str], bars: Sequence[tuple[str, Sequence[float], str]]
) -> None:
    height = 0.8 / max(len(bars), 1)
    for i, (label, values, colour) in enumerate(bars):
        positions = [y + (i - (len(bars) - 1) / 2) * height for y in range(len(names))]
        axes.barh(positions, values, height=height, color=colour, label=label)
    axes.set_yticks(range(len(names)), names, fontsize=8)
    axes.grid(axis="x", alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")


def join_chart(rows: Sequence[Mapping[str, Any]], sql: str, mdb: str) -> str | None:
    """Per operation: SQL statements and JOINs next to MagnetoDB requests and scans; and
    rows the SQL side touched next to items the design read."""
    if not rows:
        return None
    names = [r["name"] for r in rows]
    figure = _figure(11, 1.2 + 0.3 * len(rows))
    left, right = figure.subplots(1, 2, sharey=True)
    _barh_panel(
        left,
        names,
        [
            (f"{sql} statements", [r["statements"] for r in rows], PALETTE[0]),
            (f"{sql} JOINs", [r["joins"] for r in rows], "#56B4E9"),
            (f"{mdb} requests", [r["requests"] for r in rows], PALETTE[1]),
            (f"{mdb} scans", [r["scans"] for r in rows], "#D55E00"),
        ],
    )
    left.set_xlabel("per execution (mean)")
    left.set_title("round trips: statements and JOINs vs requests", fontsize=9)
    _barh_panel(
        right,
        names,
        [
            (f"{sql} rows", [max(r["rows"], 0.1) for r in rows], PALETTE[0]),
            (f"{mdb} items read", [max(r["items_read"], 0.1) for r in rows], PALETTE[1]),
        ],
    )
    left.invert_yaxis()  # shared y axis: once, most executed operation on top
    right.set_xscale("log")
    right.set_xlabel("per execution (mean, log scale)")
    right.set_title("data touched: rows vs items read", fontsize=9)
    return to_data_uri(figure)


def writes_chart(rows: Sequence[Mapping[str, Any]]) -> str | None:
    """Per writing operation: SQL DML statements vs MagnetoDB items written (base + dual)."""
    rows = [r for r in rows if r["sql"] and r["magnetodb"]]
    if not rows:
        return None
    names = [r["operation"] for r in rows]
    figure = _figure(10, 1.2 + 0.3 * len(rows))
    axes = figure.add_subplot()
    y = list(range(len(rows)))
    height = 0.38
    axes.barh(
        [v - height / 2 for v in y],
        [r["sql"]["dml"] for r in rows],
        height,
        color=PALETTE[0],
        label="SQL DML statements",
    )
    base = [r["magnetodb"]["written"] - r["magnetodb"]["dual"] for r in rows]
    axes.barh(
        [v + height / 2 for v in y],
        base,
        height,
        color=PALETTE[1],
        label="MagnetoDB base items written",
    )
    axes.barh(
        [v + height / 2 for v in y],
        [r["magnetodb"]["dual"] for r in rows],
        height,
        left=base,
        color="#D55E00",
        label="MagnetoDB dual writes (second copies)",
    )
    axes.set_yticks(y, names, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("per execution (mean)")
    axes.grid(axis="x", alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    return to_data_uri(figure)


def transport_chart(rows: Sequence[Mapping[str, Any]], mdb: str, sql: str | None) -> str | None:
    """Per operation: the share of mean service time that is round trips x floor, on each side."""
    rows = [r for r in rows if r["share"] is not None]
    if not rows:
        return None
    names = [r["operation"] for r in rows]
    figure = _figure(10, 1.2 + 0.28 * len(rows))
    axes = figure.add_subplot()
    y = list(range(len(rows)))
    shares = [100 * r["share"] for r in rows]
    axes.barh(y, shares, color="#D55E00", label=f"{mdb}: round trips \u00d7 floor")
    axes.barh(
        y,
        [100 - v for v in shares],
        left=shares,
        color=PALETTE[1],
        alpha=0.45,
        label=f"{mdb}: the rest (design + server)",
    )
    sql_shares = [
        (i, 100 * min(r["sql"]["transport"] / r["sql"]["mean"], 1.0))
        for i, r in enumerate(rows)
        if r["sql"] and r["sql"].get("transport") is not None and r["sql"].get("mean")
    ]
    if sql_shares:
        axes.plot(
            [v for _, v in sql_shares],
            [i for i, _ in sql_shares],
            "D",
            color=PALETTE[0],
            label=f"{sql}: round trips \u00d7 floor",
        )
    axes.set_yticks(y, names, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_xlabel("share of the mean service time, %")
    axes.grid(axis="x", alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    return to_data_uri(figure)


def trend_chart(
    runs: Sequence[str],
    ratios: Mapping[str, Sequence[tuple[float | None, Sequence[float] | None]]],
    p50s: Mapping[str, Mapping[str, Sequence[float | None]]],
    labels: Sequence[str],
) -> str | None:
    """Across runs: each operation's median ratio (with CI) and its p50 per backend."""
    if len(runs) < 2 or not ratios:
        return None
    names = list(ratios)
    figure = _figure(11, 2.4 * len(names) + 0.6)
    grid = figure.subplots(len(names), 2, squeeze=False)
    x = list(range(len(runs)))
    palette = colours(labels)
    for row, name in enumerate(names):
        left, right = grid[row]
        points = ratios[name]
        for i, (median, ci) in enumerate(points):
            if median is None:
                continue
            if ci:
                left.plot([i, i], ci, color="#57606a", linewidth=2)
            left.plot([i], [median], "o", color="#24292f")
        left.axhline(1.0, color="#57606a", linestyle="--", linewidth=1)
        left.set_yscale("log")
        _plain_log_axes(left)
        left.set_title(f"{name}: median ratio, 95% CI", fontsize=9)
        for label in labels:
            values = p50s.get(name, {}).get(label) or []
            right.plot(
                x,
                [v / 1000 if v else float("nan") for v in values],
                "o-",
                color=palette[label],
                label=label,
            )
        right.set_yscale("log")
        _plain_log_axes(right)
        right.set_title(f"{name}: p50, ms", fontsize=9)
        for axes in (left, right):
            axes.set_xticks(x, runs, fontsize=7, rotation=20)
            axes.grid(alpha=0.3)
        if row == 0:
            right.legend(fontsize=8)
    return to_data_uri(figure)


def stacked_barh(
    labels: Sequence[str], parts: Sequence[tuple[str, Sequence[float], str]], xlabel: str
) -> str | None:
    """One horizontal bar per label, stacked from ``parts`` (legend label, values, colour)."""
    if not labels:
        return None
    figure = _figure(10, 1.2 + 0.24 * len(labels))
    axes = figure.add_subplot()
    y = list(range(len(labels)))
    left = [0.0] * len(labels)
    for label, values, colour in parts:
        axes.barh(y, values, left=left, color=colour, label=label)
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.set_yticks(y, labels, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel(xlabel)
    axes.grid(axis="x", alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    return to_data_uri(figure)
