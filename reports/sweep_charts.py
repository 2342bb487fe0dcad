"""The sweep report's charts: small multiples of curves, drawn with ``reports.charts``' canvas.

One function draws every curve grid of the page (latency vs size on log-log
with the fitted lines, throughput and p99 vs concurrency, item bytes vs size
against the limit), so each looks alike: one panel per operation, one colour
per arm (the run report's palette).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from reports.charts import _figure, _plain_log_axes, colours, to_data_uri
from reports.growth import Fit

COLUMNS = 4


@dataclass
class Panel:
    """One small chart: ``series`` label -> ``(x, y)`` points; a dashed fitted line per
    label in ``fits``; a horizontal ``limit`` line."""

    title: str
    series: Mapping[str, Sequence[tuple[float, float]]]
    fits: Mapping[str, Fit] = field(default_factory=dict)
    limit: float | None = None


def curve_grid(
    panels: Sequence[Panel],
    labels: Sequence[str],
    x_label: str,
    y_label: str,
    log_x: bool = True,
    log_y: bool = True,
) -> str | None:
    """Panels in rows of ``COLUMNS``, those with a curve (two points at least); None when
    no panel has one."""
    from matplotlib.ticker import NullLocator

    panels = [p for p in panels if any(len(points) >= 2 for points in p.series.values())]
    if not panels:
        return None
    columns = min(COLUMNS, len(panels))
    rows = -(-len(panels) // columns)
    figure = _figure(3.0 * columns, 2.3 * rows + 0.4, layout=None)
    figure.subplots_adjust(
        left=0.06, right=0.98, top=1 - 0.35 / rows, bottom=0.12 / rows, hspace=0.55, wspace=0.3
    )
    grid = figure.subplots(rows, columns, squeeze=False)
    palette = colours(labels)
    for position, axes in enumerate(grid.flat):
        if position >= len(panels):
            axes.set_visible(False)
            continue
        panel = panels[position]
        for label, points in panel.series.items():
            if not points:
                continue
            xs, ys = zip(*sorted(points), strict=True)
            axes.plot(
                xs,
                ys,
                "o-",
                color=palette.get(label, "#24292f"),
                label=label,
                markersize=4,
                linewidth=1.2,
            )
            fit = panel.fits.get(label)
            if fit is not None:
                axes.plot(
                    [xs[0], xs[-1]],
                    [fit.at(xs[0]), fit.at(xs[-1])],
                    "--",
                    color=palette.get(label, "#24292f"),
                    linewidth=0.8,
                )
        if panel.limit is not None:
            axes.axhline(panel.limit, color="#cf222e", linestyle=":", linewidth=1)
        if log_x:
            axes.set_xscale("log")
        measured = sorted({x for points in panel.series.values() for x, _ in points})
        axes.xaxis.set_minor_locator(NullLocator())
        axes.set_xticks(measured, [f"{x:,.0f}" for x in measured])
        if log_y:
            axes.set_yscale("log")
            _plain_log_axes(axes)
        axes.set_title(panel.title, fontsize=8)
        axes.tick_params(labelsize=7)
        axes.grid(alpha=0.3)
        if position == 0:
            axes.legend(fontsize=7)
            axes.set_xlabel(x_label, fontsize=7)
            axes.set_ylabel(y_label, fontsize=7)
    return to_data_uri(figure)
