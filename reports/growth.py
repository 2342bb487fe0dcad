"""How a cost grows: the exponent of a power law, the saturation point, a limit's crossing.

Pure arithmetic on lists of numbers, so the sweep report and its tests share it.

- **Growth exponent**: the slope of the least-squares line through
  ``(log x, log y)``. A cost proportional to the data has exponent 1.0; a cost
  bounded by a page size (O(limit)) about 0.
- **Saturation point**: along ascending concurrency levels, the last level
  whose next one raises throughput by less than ``SATURATION_GAIN`` (10%): past
  it, more drivers only queue. None when throughput still grows at the grid's
  last level.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: More drivers raising throughput by less than this fraction: saturated.
SATURATION_GAIN = 0.10


@dataclass(frozen=True)
class Fit:
    """``y = scale * x ** exponent``, fitted on log-log; ``r2`` of that line."""

    exponent: float
    scale: float
    r2: float | None
    points: int

    def at(self, x: float) -> float:
        return self.scale * x**self.exponent

    def solve(self, y: float) -> float | None:
        """The ``x`` where the fitted line reaches ``y`` (None for a flat or falling line)."""
        if self.exponent <= 0:
            return None
        return (y / self.scale) ** (1.0 / self.exponent)


def fit_power(xs: Sequence[float], ys: Sequence[float]) -> Fit | None:
    """Least squares on ``(log x, log y)``; None with fewer than two distinct positive xs."""
    pairs = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len({x for x, _ in pairs}) < 2:
        return None
    n = len(pairs)
    mean_x = sum(x for x, _ in pairs) / n
    mean_y = sum(y for _, y in pairs) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in pairs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in pairs)
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    syy = sum((y - mean_y) ** 2 for _, y in pairs)
    residual = sum((y - intercept - slope * x) ** 2 for x, y in pairs)
    r2 = 1.0 - residual / syy if syy > 0 and n > 2 else None
    return Fit(slope, math.exp(intercept), r2, n)


def fit_power_within(groups: Mapping[object, Sequence[tuple[float, float]]]) -> Fit | None:
    """One exponent for several groups of ``(x, y)`` points, each with its own scale (least
    squares on log-log with an intercept per group: the slope within groups, pooled). A
    sweep fits latency on size across all concurrency levels at once, so each level adds
    its samples to the exponent while its queueing only moves its own intercept. The
    scale returned is the first group's; None when no group has two distinct xs."""
    sxx = sxy = syy = 0.0
    points = 0
    first_scale: tuple[float, float] | None = None
    logs_by_group = []
    for values in groups.values():
        logs = [(math.log(x), math.log(y)) for x, y in values if x > 0 and y > 0]
        if len({x for x, _ in logs}) < 2:
            continue
        logs_by_group.append(logs)
        mean_x = sum(x for x, _ in logs) / len(logs)
        mean_y = sum(y for _, y in logs) / len(logs)
        sxx += sum((x - mean_x) ** 2 for x, _ in logs)
        sxy += sum((x - mean_x) * (y - mean_y) for x, y in logs)
        syy += sum((y - mean_y) ** 2 for _, y in logs)
        points += len(logs)
        if first_scale is None:
            first_scale = (mean_x, mean_y)
    if not logs_by_group or first_scale is None:
        return None
    slope = sxy / sxx
    residual_base = syy - slope * sxy
    r2 = 1.0 - residual_base / syy if syy > 0 and points > len(logs_by_group) + 1 else None
    mean_x, mean_y = first_scale
    return Fit(slope, math.exp(mean_y - slope * mean_x), r2, points)


def saturation_point(
    levels: Sequence[int], throughputs: Sequence[float | None], gain: float = SATURATION_GAIN
) -> int | None:
    """The first level past which throughput grows by less than ``gain``; None if it
    keeps growing (or there are fewer than two measured levels)."""
    measured = [(c, t) for c, t in sorted(zip(levels, throughputs, strict=True)) if t]
    for (level, value), (_, following) in itertools.pairwise(measured):
        if following < value * (1.0 + gain):
            return level
    return None
