"""The sweep report: growth with the data, saturation with concurrency, item sizes vs the limit.

Reads only ``sweep.json`` (``bench.drive.sweep``: each point's figures were
taken from its results directory when it finished) and renders
``sweep.html.j2`` into ``sweep.html`` next to it. Per operation and arm:

- latency (p50) vs the volume count on log-log axes, with the growth exponent
  fitted over every concurrency level (``reports.growth.fit_power_within``: one
  slope, an intercept per level, so queueing does not bend it), from the points
  where the operation ran ``MIN_SAMPLES`` times at least; since projects grow
  as volumes ** 0.5 (``bench.drive.sweep.projects_for``), an O(project) cost shows 0.5 against
  volumes and 1.0 against the project size, an O(data) cost 1.0 and 2.0; the
  operations whose cost grows fastest come first;
- how client CPU and the store's time grow (each point's ``time_split``,
  ``reports.time_split.split_means``): the exponent of the mean and of each of
  its parts, fitted as p50's, and whose the growth is (``time_split.whose``):
  the client's when client CPU makes most of the change in the mean from the
  smallest to the largest size, the design's when the store and the requests
  do; the same sentences end the command's console output (``console_summary``);
- the arm's throughput vs concurrency at the largest size, with the saturation
  point (``reports.growth.saturation_point``), and p99 vs concurrency;
- the largest item of each inverted and index table at each size against the
  16 MiB item limit, and where the fit of the watched item crosses it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bench.drive.sweep import INDEX_NAME, PROJECT_EXPONENT, read_index
from reports import format as fmt
from reports.contention import sweep_contention_table
from reports.growth import SATURATION_GAIN, Fit, fit_power, fit_power_within, saturation_point
from reports.model import Cell, Table
from reports.sweep_charts import Panel, curve_grid
from reports.time_split import whose

TEMPLATE = "sweep.html.j2"
REPORT_NAME = "sweep.html"
#: An exponent past this is "grows with the data" (the table's highlight).
GROWING = 0.25
#: Fewer samples of an operation at a point than this: its p50 is left out of the fit.
MIN_SAMPLES = 5
#: A cell with nothing to show.
NONE = fmt.DASH
#: The parts of a point's mean time the sweep fits (``reports.time_split.split_means``).
SPLIT_PARTS = (
    ("mean_us", "k mean"),
    ("client_cpu_us", "k client CPU"),
    ("store_us", "k store"),
    ("rest_us", "k rest"),
)
#: How the page and the console name whose a growth is (``time_split.whose``).
WHOSE = {"client": "the client's", "design": "the design's"}


def _points(index: Mapping[str, Any]) -> list[dict[str, Any]]:
    return sorted(index["points"].values(), key=lambda p: (p["volumes"], p["threads"]))


def _stat(point: Mapping[str, Any], operation: str, arm: str, name: str) -> float | None:
    row = point["summary"]["operations"].get(operation, {}).get(arm)
    return row.get(name) if row else None


def _fits(
    index: Mapping[str, Any], value: Callable[[Mapping[str, Any], str, str], float | None]
) -> dict[str, dict[str, Any]]:
    """Per operation and arm: the exponent of ``value(point, operation, arm)`` on volumes,
    fitted over every concurrency level at once (an intercept per level,
    ``fit_power_within``), from the points of ``MIN_SAMPLES`` at least, and the lowest
    level's points (drawn, with the line at that level's intercept)."""
    points = _points(index)
    levels = sorted({p["threads"] for p in points})
    operations = sorted({op for p in points for op in p["summary"]["operations"]})
    table: dict[str, dict[str, Any]] = {}
    for operation in operations:
        for arm in index["arms"]:
            by_level = {
                level: [
                    (p["volumes"], measured)
                    for p in points
                    if p["threads"] == level
                    and (_stat(p, operation, arm, "count") or 0) >= MIN_SAMPLES
                    and (measured := value(p, operation, arm))
                ]
                for level in levels
            }
            fit = fit_power_within(by_level)
            lowest = by_level[levels[0]] if levels else []
            table.setdefault(operation, {})[arm] = {"fit": fit, "points": lowest}
    return table


def growth(index: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per operation and arm: the fit of p50 on volumes (``_fits``)."""
    return _fits(index, lambda p, operation, arm: _stat(p, operation, arm, "p50_us"))


def _part(point: Mapping[str, Any], operation: str, arm: str, key: str) -> float | None:
    """One part of the point's time split (``reports.time_split.split_means``), or its mean."""
    if key == "mean_us":
        return _stat(point, operation, arm, key)
    split = _stat(point, operation, arm, "time_split")
    return split.get(key) if split else None


def split_growth(index: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per operation and arm whose points measured client CPU: the fit of each part of the
    mean (``SPLIT_PARTS``) on volumes, and, where the mean grows (k past ``GROWING``),
    whose the growth is (``time_split.whose``): from
    the smallest to the largest size, on the fitted lines (at the lowest concurrency's
    intercept), the change in client CPU against the change in the rest of the mean
    (store and requests)."""
    fits = {
        key: _fits(index, lambda p, operation, arm, key=key: _part(p, operation, arm, key))
        for key, _ in SPLIT_PARTS
    }
    sizes = [p["volumes"] for p in _points(index)]
    out: dict[str, dict[str, Any]] = {}
    for operation, arms in fits["client_cpu_us"].items():
        for arm, client in arms.items():
            cpu, mean = client["fit"], fits["mean_us"][operation][arm]["fit"]
            if cpu is None:
                continue
            deltas = None
            if mean is not None:
                low, high = min(sizes), max(sizes)
                grown = cpu.at(high) - cpu.at(low)
                deltas = (grown, mean.at(high) - mean.at(low) - grown)
            out.setdefault(operation, {})[arm] = {
                "fits": {key: fits[key][operation][arm]["fit"] for key, _ in SPLIT_PARTS},
                "deltas": deltas,
                "whose": whose(*deltas) if deltas and mean.exponent > GROWING else None,
            }
    return out


def growth_order(fits: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Operations by their steepest arm's exponent, steepest first; those whose fits rest on
    fewer than three points (too few samples at most sizes) after the others, unfitted last."""

    def rank(operation: str) -> tuple[int, float, str]:
        fitted = [row["fit"] for row in fits[operation].values() if row["fit"]]
        if not fitted:
            return (2, 0.0, operation)
        steepest = max(fit.exponent for fit in fitted)
        return (0 if min(fit.points for fit in fitted) >= 3 else 1, -steepest, operation)

    return sorted(fits, key=rank)


def _exponent_cell(fit: Fit | None) -> Cell:
    if fit is None:
        return Cell(NONE)
    r2 = f"r² {fit.r2:.2f}" if fit.r2 is not None else "as many parameters as points: no r²"
    cls = "loss" if fit.exponent > GROWING else ""
    return Cell(f"{fit.exponent:.2f}", cls, f"{r2}; {fit.points} points")


def growth_table(index: Mapping[str, Any], fits: Mapping[str, Any], order: list[str]) -> Table:
    arms = index["arms"]
    table = Table(
        ["operation"] + [c for _ in arms for c in ("k (volumes)", "k (project)", "p50 ms")],
        groups=[("", 1)] + [(arm, 3) for arm in arms],
        caption=(
            "k: the exponent of p50 ~ size^k (least squares on log-log over every "
            "concurrency level, each with its own intercept; points of at least "
            f"{MIN_SAMPLES} samples); k (project) is k against the mean project size "
            "(projects grow as "
            f"volumes^{PROJECT_EXPONENT:g}, so it is k / {1 - PROJECT_EXPONENT:g}). "
            "O(project) shows k (project) ≈ 1, O(all volumes) k (volumes) ≈ 1, O(limit) ≈ 0. "
            "p50 at the lowest concurrency: smallest size → largest."
        ),
    )
    for operation in order:
        cells: list[Cell | str] = [operation]
        for arm in arms:
            row = fits[operation][arm]
            fit: Fit | None = row["fit"]
            cells.append(_exponent_cell(fit))
            per_project = fit.exponent / (1 - PROJECT_EXPONENT) if fit else None
            cells.append(fmt.number(per_project, 2) if per_project is not None else NONE)
            ys = [y for _, y in sorted(row["points"])]
            cells.append(f"{fmt.ms(ys[0])} → {fmt.ms(ys[-1])}" if ys else NONE)
        table.add(*cells)
    return table


def _k(fit: Fit | None) -> str:
    return f"{fit.exponent:.2f}" if fit else NONE


def split_table(index: Mapping[str, Any], split: Mapping[str, Any], order: list[str]) -> Table:
    arms = index["arms"]
    table = Table(
        ["operation"] + [c for _ in arms for c in [label for _, label in SPLIT_PARTS] + ["growth"]],
        groups=[("", 1)] + [(arm, len(SPLIT_PARTS) + 1) for arm in arms],
        caption=(
            "k: the exponent of each part of the mean time ~ volumes^k (fitted as above); "
            "client CPU: the calling thread's CPU time over the operation's DB API calls; "
            "store: the time the store reported (MagnetoDB's X-Magnetodb-Handling-Time; MySQL "
            "and SQLite report none); the rest: network, waiting, a SQL server's own time. "
            "growth (of a mean whose k is past "
            f"{GROWING:g}): the client's when client CPU makes most of the change in the mean from "
            "the smallest to the largest size (on the fitted lines, at the lowest "
            "concurrency), the design's when the store and the requests do (hover for the "
            "changes). SQLite runs in the calling thread: its engine's time is client CPU, so "
            "its growth shows as the client's. On a loaded machine the rest includes waiting "
            "for a CPU: client CPU and store exponents are the steadier figures."
        ),
    )
    for operation in order:
        if operation not in split:
            continue
        cells: list[Cell | str] = [operation]
        for arm in arms:
            row = split[operation].get(arm)
            if row is None:
                cells.extend([NONE] * (len(SPLIT_PARTS) + 1))
                continue
            for key, _ in SPLIT_PARTS:
                cells.append(_exponent_cell(row["fits"][key]))
            if row["deltas"]:
                client, requests = row["deltas"]
                title = (
                    f"client CPU {client / 1000:+.2f} ms, store and requests "
                    f"{requests / 1000:+.2f} ms"
                )
                cells.append(Cell(WHOSE.get(row["whose"] or "", "no growth"), "", title))
            else:
                cells.append(NONE)
        table.add(*cells)
    return table


def split_sentences(arms: list[str], split: Mapping[str, Any], order: list[str]) -> list[str]:
    """Per arm, of the operations whose mean grows with the data (k past ``GROWING``): whose
    each growth is, with the exponents of the mean, client CPU and store."""
    sentences = []
    for arm in arms:
        found: dict[str, list[str]] = {}
        for operation in order:
            row = split.get(operation, {}).get(arm)
            if row is None or not row["whose"]:
                continue
            fits = row["fits"]
            found.setdefault(row["whose"], []).append(
                f"{operation} (k {_k(fits['mean_us'])}: client CPU {_k(fits['client_cpu_us'])},"
                f" store {_k(fits['store_us'])}, rest {_k(fits['rest_us'])})"
            )
        if found:
            sentences.append(
                f"{arm}: "
                + "; ".join(
                    f"{WHOSE[side]} {', '.join(found[side])}"
                    for side in ("design", "client")
                    if side in found
                )
                + "."
            )
    return sentences


def console_summary(index: Mapping[str, Any]) -> list[str]:
    """The lines ``cinderbench sweep`` prints at its end: whose each growing operation's
    growth is, per arm (nothing for a sweep without client CPU)."""
    split = split_growth(index)
    sentences = split_sentences(index["arms"], split, growth_order(growth(index)))
    if not sentences:
        return []
    return [f"growth with the data (mean time, k past {GROWING:g}), per arm:", *sentences]


def concurrency(index: Mapping[str, Any], volumes: int) -> dict[str, dict[str, Any]]:
    """At one size, per operation and arm: (threads, arm throughput) and (threads, p99),
    and the saturation point."""
    points = [p for p in _points(index) if p["volumes"] == volumes]
    operations = sorted({op for p in points for op in p["summary"]["operations"]})
    out: dict[str, dict[str, Any]] = {}
    for operation in operations:
        for arm in index["arms"]:
            rate = [
                (p["threads"], _stat(p, operation, arm, "arm_throughput_per_s")) for p in points
            ]
            p99 = [(p["threads"], _stat(p, operation, arm, "p99_us")) for p in points]
            out.setdefault(operation, {})[arm] = {
                "throughput": [(c, t) for c, t in rate if t],
                "p99": [(c, v / 1000) for c, v in p99 if v],
                "saturation": saturation_point([c for c, _ in rate], [t for _, t in rate]),
            }
    return out


def saturation_table(index: Mapping[str, Any], order: list[str]) -> Table:
    sizes = sorted({p["volumes"] for p in _points(index)})
    arms = index["arms"]
    table = Table(
        ["operation"] + [f"{v:,} vol." for _ in arms for v in sizes],
        groups=[("", 1)] + [(arm, len(sizes)) for arm in arms],
        caption=(
            "The saturation point: the concurrency past which the arm's throughput grows by "
            f"less than {SATURATION_GAIN:.0%} (the arm's throughput is drivers / mean latency, "
            "Little's law: each planned operation runs on every arm back to back, so the "
            "run's own rate is shared). '>' : still growing at the grid's last level."
        ),
    )
    by_size = {volumes: concurrency(index, volumes) for volumes in sizes}
    top = max((p["threads"] for p in _points(index)), default=0)
    for operation in order:
        cells: list[Cell | str] = [operation]
        for arm in arms:
            for volumes in sizes:
                row = by_size[volumes].get(operation, {}).get(arm)
                if not row or len(row["throughput"]) < 2:
                    cells.append(NONE)
                elif row["saturation"] is None:
                    cells.append(f">{top}")
                else:
                    cells.append(str(row["saturation"]))
        table.add(*cells)
    return table


def item_rows(index: Mapping[str, Any]) -> tuple[Table, list[Panel], dict[str, Any]]:
    """The largest item per table and size, their chart, and the watched item's crossing."""
    sizes = sorted(index["sizes"], key=int)
    limit = None
    per_table: dict[tuple[str, str], list[tuple[int, int]]] = {}
    watched: dict[str, list[tuple[int, int]]] = {}
    watched_name = ""
    for size in sizes:
        for arm, measured in (index["sizes"][size].get("item_sizes") or {}).items():
            limit = measured["limit_bytes"]
            for table, row in measured["tables"].items():
                if row["largest_bytes"]:
                    per_table.setdefault((arm, table), []).append((int(size), row["largest_bytes"]))
            mark = measured["watched"]
            watched_name = f"{mark['table']} {mark['property']}"
            if mark["bytes"]:
                watched.setdefault(arm, []).append((int(size), mark["bytes"]))
    table = Table(
        ["arm", "table"] + [f"{int(v):,} vol." for v in sizes] + ["k", "16 MiB at"],
        caption="Largest item per inverted or index table, bytes as the server counts them"
        " (compact typed JSON); k: growth exponent on volumes; the volume count where the fit"
        " reaches the limit.",
    )
    panels: list[Panel] = []
    for (arm, name), xy in sorted(per_table.items(), key=lambda kv: -kv[1][-1][1]):
        fit = fit_power([x for x, _ in xy], [y for _, y in xy])
        crossing = fit.solve(limit) if fit and limit else None
        by_size = dict(xy)
        table.add(
            arm,
            name,
            *[fmt.count(by_size.get(int(v))) if by_size.get(int(v)) else NONE for v in sizes],
            fmt.number(fit.exponent, 2) if fit else NONE,
            f"{crossing:,.0f}" if crossing else "never (flat)" if fit else NONE,
        )
        if fit is not None and fit.exponent > GROWING:  # flat ones are the table's
            panels.append(Panel(f"{arm}: {name}", {arm: xy}, {arm: fit} if fit else {}, limit))
    crossing_of = {}
    for arm, xy in watched.items():
        fit = fit_power([x for x, _ in xy], [y for _, y in xy])
        crossing_of[arm] = {
            "points": xy,
            "exponent": fit.exponent if fit else None,
            "volumes": fit.solve(limit) if fit and limit else None,
        }
    return table, panels, {"name": watched_name, "arms": crossing_of, "limit": limit}


def points_table(index: Mapping[str, Any]) -> Table:
    table = Table(
        [
            "point",
            "volumes",
            "projects",
            "threads",
            "operations",
            "ops/s",
            "rejected+errors",
            "invariants",
            "wall",
        ],
        caption="Each point is a results directory (cinderbench report DIR draws it). "
        "rejected+errors on the first arm; a point not on a fresh dataset (*) starts from "
        "the state the level before left (large sizes are loaded once per size); its quota "
        "invariants are checked with the size's last level, whose state holds every "
        "level's writes.",
    )
    for point in _points(index):
        summary = point["summary"]
        first = index["arms"][0] if index["arms"] else None
        failed = sum(
            (arms.get(first) or {}).get("rejected", 0) + (arms.get(first) or {}).get("errors", 0)
            for arms in summary["operations"].values()
        )
        invariants = point["invariants"]
        verdict = (
            Cell("hold" if invariants.get("quotas", True) else "dual writes hold", "win")
            if invariants["ok"]
            else Cell(
                f"{invariants['findings']} findings",
                "loss",
                "; ".join(f"{k}: {v}" for k, v in invariants["failed_steps"].items()),
            )
        )
        table.add(
            point["directory"] + ("" if point.get("fresh_dataset", True) else " *"),
            fmt.count(point["volumes"]),
            str(point["projects"]),
            str(point["threads"]),
            fmt.count(summary["operations_total"]),
            fmt.number(summary["throughput_per_s"], 1),
            fmt.count(failed),
            verdict,
            f"{point['wall_s']:.0f} s",
        )
    return table


def context(index: Mapping[str, Any]) -> dict[str, Any]:
    arms = index["arms"]
    fits = growth(index)
    order = growth_order(fits)
    sizes = sorted({p["volumes"] for p in _points(index)})
    largest = concurrency(index, sizes[-1]) if sizes else {}
    growth_panels = [
        Panel(
            f"{op}: k "
            + " / ".join(
                f"{fits[op][arm]['fit'].exponent:.2f}" if fits[op][arm]["fit"] else NONE
                for arm in arms
            ),
            {arm: [(x, y / 1000) for x, y in fits[op][arm]["points"]] for arm in arms},
            {
                arm: Fit(f.exponent, f.scale / 1000, f.r2, f.points)
                for arm in arms
                if (f := fits[op][arm]["fit"])
            },
        )
        for op in order
    ]
    rate_panels = [
        Panel(f"{op}", {arm: largest[op][arm]["throughput"] for arm in arms})
        for op in order
        if op in largest
    ]
    p99_panels = [
        Panel(f"{op}", {arm: largest[op][arm]["p99"] for arm in arms})
        for op in order
        if op in largest
    ]
    item_table, item_panels, watched = item_rows(index)
    split = split_growth(index)
    wall = sum(p["wall_s"] for p in index["points"].values())
    loads = sum(sum((s.get("load_seconds") or {}).values()) for s in index["sizes"].values())
    return {
        "title": "cinderbench sweep",
        "facts": [
            ("arms", ", ".join(arms)),
            ("volumes", ", ".join(f"{v:,}" for v in index["grid"]["volumes"])),
            ("threads", ", ".join(str(t) for t in index["grid"]["threads"])),
            ("measured per point", f"{index['grid']['duration']:g} s"),
            ("points done", f"{len(index['points'])}"),
            ("time in points / in loads", f"{wall:.0f} s / {loads:.0f} s"),
            *[("note", note) for note in index.get("notes", [])],
        ],
        "growing": [
            op
            for op in order
            if any((row["fit"] and row["fit"].exponent > GROWING) for row in fits[op].values())
        ],
        "growth_table": growth_table(index, fits, order),
        "growth_chart": curve_grid(growth_panels, arms, "volumes", "p50 ms"),
        "split_table": split_table(index, split, order) if split else None,
        "split_sentences": split_sentences(arms, split, order),
        "largest_size": sizes[-1] if sizes else None,
        "saturation_table": saturation_table(index, order),
        "rate_chart": curve_grid(rate_panels, arms, "threads", "ops/s", log_y=False),
        "p99_chart": curve_grid(p99_panels, arms, "threads", "p99 ms"),
        "item_table": item_table,
        "item_chart": curve_grid(item_panels, arms, "volumes", "bytes"),
        "watched": watched,
        "points_table": points_table(index),
        "contention_table": sweep_contention_table(index),
    }


def render(index: Mapping[str, Any]) -> str:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return environment.get_template(TEMPLATE).render(**context(index))


def write_sweep_report(directory: str | Path, output: str | Path | None = None) -> Path:
    """Render the sweep of ``directory`` (its ``sweep.json``) into ``output``
    (default: ``sweep.html`` in it)."""
    directory = Path(directory)
    index = read_index(directory / INDEX_NAME)
    target = Path(output) if output else directory / REPORT_NAME
    target.write_text(render(index), encoding="utf-8")
    return target
