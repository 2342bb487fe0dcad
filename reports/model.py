"""The report's building blocks: cells and tables, and which backend plays which side.

Everything the report shows is a ``Table`` of ``Cell``s (text plus a CSS class
and a tooltip) or a chart; the template renders both with Jinja2's autoescape,
so no value ever reaches the page unescaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.measure.results import Results


@dataclass(frozen=True)
class Cell:
    """One table cell: its text, a CSS class (``win``, ``loss``...) and a tooltip."""

    text: str
    cls: str = ""
    title: str = ""


@dataclass
class Table:
    """Rows of cells under column labels; ``groups`` is an optional header row of
    ``(label, span)`` above the columns (one group per backend)."""

    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    groups: list[tuple[str, int]] = field(default_factory=list)
    caption: str = ""

    def add(self, *cells: Cell | str) -> None:
        self.rows.append([c if isinstance(c, Cell) else Cell(str(c)) for c in cells])


def _engine(results: Results, label: str) -> Mapping[str, Any]:
    """What the backend behind ``label`` reported of itself (``engine_info``; {} if none)."""
    for backend in results.meta.get("backends", []):
        if backend.get("label") == label:
            return backend.get("engine") or {}
    return {}


def side_of_label(results: Results, label: str) -> str:
    """``sql`` or ``magnetodb`` as the backend reported itself (``engine_info``)."""
    return str(_engine(results, label).get("backend") or "unknown")


def on_network(results: Results, label: str) -> bool | None:
    """Whether the backend's calls crossed a network (``engine_info``'s ``network``);
    None when its run.json does not say."""
    return _engine(results, label).get("network")


def engine_name(results: Results, label: str) -> str:
    """The engine behind a label: ``sqlite``, ``mysql``, ``magnetodb``."""
    return str(_engine(results, label).get("engine") or label)


def ratio_sides(results: Results) -> tuple[str, str] | None:
    """``(baseline, candidate)`` of the first paired ratio (candidate / baseline), if two ran."""
    comparison = results.comparison or {}
    if comparison.get("baseline") and comparison.get("candidate"):
        return str(comparison["baseline"]), str(comparison["candidate"])
    backends = results.backends
    return (backends[0], backends[1]) if len(backends) >= 2 else None


def all_sides(results: Results) -> list[tuple[str, str]]:
    """``(baseline, candidate)`` of every paired ratio, the first one first (each arm
    against its own baseline arm: ``RunSpec.baselines``)."""
    sides = [(str(p["baseline"]), str(p["candidate"])) for p in results.pairings]
    first = ratio_sides(results)
    return sides or ([first] if first else [])


def baseline_of(results: Results, label: str) -> str | None:
    """The arm ``label``'s ratios are taken against (None: it has none)."""
    return next((base for base, arm in all_sides(results) if arm == label), None)


def ratio_of(results: Results, operation: str, arm: str | None = None) -> Mapping[str, Any]:
    """comparison.json's entry for ``operation`` of ``arm``'s pairing (default: the first
    pairing); {} when none."""
    pairing = results.comparison or {}
    if arm is not None:
        pairing = next((p for p in results.pairings if p.get("candidate") == arm), {})
    return (pairing.get("operations") or {}).get(operation) or {}


def judge(entry: Mapping[str, Any]) -> str:
    """``win`` (candidate faster: the whole 95% CI below 1), ``loss`` (CI above 1),
    ``even`` (CI spans 1) or ``na`` (too few pairs for a CI)."""
    ci = entry.get("ci95")
    if entry.get("median") is None or not ci:
        return "na"
    if ci[1] < 1:
        return "win"
    if ci[0] > 1:
        return "loss"
    return "even"


def operation_order(results: Results) -> list[str]:
    """Operations, most executed first (what the mix weighs most, the reader reads first)."""
    per_op = results.operations

    def executed(name: str) -> int:
        return max((stats.get("count") or 0 for stats in per_op[name].values()), default=0)

    return sorted(per_op, key=lambda name: (-executed(name), name))


def counter_mean(stats: Mapping[str, Any] | None, name: str) -> float | None:
    """Mean of one counter per event, None when the backend does not count it."""
    entry = ((stats or {}).get("counters") or {}).get(name)
    return None if entry is None else float(entry["mean"])


def service_mean(stats: Mapping[str, Any] | None) -> float | None:
    service = (stats or {}).get("service_us") or {}
    return service.get("mean")
