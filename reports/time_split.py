"""Where each millisecond goes: per operation and arm, client CPU / store / the rest.

From operations.json: the mean service time, the mean client CPU time of the
calling thread (``client_cpu_us``, the sum over the operation's calls) and the
mean time the store reported (``store_us``: MagnetoDB's
``X-Magnetodb-Handling-Time``; MySQL and SQLite report none). Means, not
percentiles, because only means add up to the stack. The rest is the service
time neither spent on the client's CPU nor reported by the store: network,
waiting (queueing, locks, a MariaDB statement's server time, which the client
cannot separate from the network without performance_schema) and the
operation's own code between its calls.

When the store runs in the calling thread (``magnetodb+inproc``), its time is
also client CPU: the bar then shows client CPU net of the store. SQLite's time
is client CPU and cannot be told apart from the client's own.

A paired ratio is called *the design's* when the store and the requests (store
+ the rest) make most of the difference in mean time between the arms, and
*the client's* when client CPU does (ORM hydration against JSON decoding, the
design's Python): a Python-side cost a faster client would remove.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.measure.results import Results
from reports import charts
from reports import format as fmt
from reports.model import Table, all_sides, on_network, operation_order

#: The three parts of the bar, in stack order, with their colours (charts.PALETTE).
PARTS = (
    ("client", "client CPU", charts.PALETTE[1]),
    ("store", "store (reported)", charts.PALETTE[2]),
    ("rest", "the rest: network, waiting, a SQL server's own time", charts.PALETTE[4]),
)
#: Operations drawn in the chart (most executed first).
CHART_OPERATIONS = 14


@dataclass(frozen=True)
class Split:
    """Mean µs of one operation on one arm, split three ways (store None: not reported)."""

    operation: str
    arm: str
    service: float
    client: float
    store: float | None
    rest: float


def _mean(stats: dict[str, Any], key: str) -> float | None:
    """Mean µs of ``key`` per execution of the operation: an execution whose calls made no
    request reported no store time, and counts as 0 of it."""
    summary = stats.get(key) or {}
    executions = (stats.get("service_us") or {}).get("count")
    if summary.get("mean") is None or not executions:
        return None
    return summary["mean"] * summary["count"] / executions


def split_of(results: Results, operation: str, arm: str) -> Split | None:
    """The split of one operation on one arm (None when client CPU was not measured)."""
    stats = (results.operations.get(operation) or {}).get(arm) or {}
    service, cpu = _mean(stats, "service_us"), _mean(stats, "client_cpu_us")
    if service is None or cpu is None:
        return None
    store = _mean(stats, "store_us")
    if store is not None and on_network(results, arm) is False:
        cpu = max(cpu - store, 0.0)  # the store ran on the calling thread
    client = min(cpu, service)
    stored = min(store, service - client) if store is not None else None
    return Split(operation, arm, service, client, stored, service - client - (stored or 0.0))


def split_means(results: Results, operation: str, arm: str) -> dict[str, float | None] | None:
    """The split of one operation on one arm as an index holds it (``sweep.json``): mean µs
    of client CPU, store (None: not reported) and the rest; None when CPU was not measured."""
    split = split_of(results, operation, arm)
    if split is None:
        return None
    return {
        "client_cpu_us": round(split.client, 1),
        "store_us": round(split.store, 1) if split.store is not None else None,
        "rest_us": round(split.rest, 1),
    }


def whose(client: float, requests: float) -> str | None:
    """Whose a difference in mean time is: ``client`` when the change in client CPU makes
    most of it, ``design`` when the change in the rest (store + requests) does; None for
    no difference."""
    if not client and not requests:
        return None
    return "client" if abs(client) > abs(requests) else "design"


def split_rows(results: Results) -> list[Split]:
    """Every operation (most executed first) on every arm that measured client CPU."""
    rows = []
    for operation in operation_order(results):
        for arm in results.backends:
            split = split_of(results, operation, arm)
            if split is not None:
                rows.append(split)
    return rows


def split_chart(rows: list[Split]) -> str | None:
    """Stacked horizontal bars, one per operation and arm: client CPU / store / the rest (ms)."""
    operations = list(dict.fromkeys(r.operation for r in rows))[:CHART_OPERATIONS]
    shown = [r for r in rows if r.operation in operations]
    return charts.stacked_barh(
        [f"{r.operation} · {r.arm}" for r in shown],
        [(label, [(getattr(r, key) or 0.0) / 1000 for r in shown], c) for key, label, c in PARTS],
        "mean time per operation, ms",
    )


def split_table(rows: list[Split]) -> Table:
    table = Table(["operation", "arm", "mean", "client CPU", "store", "the rest", "CPU share"])
    for r in rows:
        table.add(
            r.operation,
            r.arm,
            fmt.ms(r.service),
            fmt.ms(r.client),
            fmt.ms(r.store) if r.store is not None else "not reported",
            fmt.ms(r.rest),
            fmt.percent(r.client / r.service if r.service else None),
        )
    table.caption = (
        "Means per operation (µs shown as ms). Client CPU: thread CPU time of the calling thread "
        "summed over the operation's DB API calls. Store: MagnetoDB's X-Magnetodb-Handling-Time; "
        "MySQL reports none the client can separate from the network, SQLite's is client CPU."
    )
    return table


def attribution(results: Results, baseline: str, arm: str) -> dict[str, list[str]]:
    """Operations whose arm/baseline difference in mean time is mostly client CPU
    (``client``) or mostly store and requests (``design``)."""
    found: dict[str, list[str]] = {"client": [], "design": []}
    for operation in operation_order(results):
        base, cand = split_of(results, operation, baseline), split_of(results, operation, arm)
        if base is None or cand is None:
            continue
        cpu = cand.client - base.client
        rest = (cand.service - cand.client) - (base.service - base.client)
        side = whose(cpu, rest)
        if side is not None:
            found[side].append(operation)
    return found


def verdict_points(results: Results) -> list[tuple[str, str]]:
    """One sentence per pairing: which ratios are the design's and which the client's."""
    points = []
    for baseline, arm in all_sides(results):
        found = attribution(results, baseline, arm)
        if not found["client"] and not found["design"]:
            continue
        design = ", ".join(found["design"][:8]) or "none"
        client = ", ".join(found["client"][:8]) or "none"
        points.append(
            (
                "even",
                f"{arm} vs {baseline}: {len(found['design'])} ratios are the design's (store time "
                f"and requests make most of the difference: {design}); {len(found['client'])} are "
                f"the client's (client CPU makes most of it: {client})."
                + "".join(
                    f" {label} runs its store in the calling thread and reports no store time, "
                    "so its store's work counts as client CPU here."
                    for label in (baseline, arm)
                    if _embedded_silent(results, label)
                ),
            )
        )
    return points


def _embedded_silent(results: Results, label: str) -> bool:
    """An in-process store that reports no time of its own (SQLite)."""
    if on_network(results, label) is not False:
        return False
    return not any((per.get(label) or {}).get("store_us") for per in results.operations.values())


@dataclass
class TimeSplitSection:
    chart: str | None
    table: Table
    points: list[tuple[str, str]]


def time_split_section(results: Results) -> TimeSplitSection | None:
    """The report's section, None for a run that did not measure client CPU."""
    rows = split_rows(results)
    if not rows:
        return None
    return TimeSplitSection(split_chart(rows), split_table(rows), verdict_points(results))
