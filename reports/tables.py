"""The per-operation tables: latency side by side, join avoidance, writes, transport share.

Each function reads one ``Results`` (through ``bench.measure.results``) and returns a
``Table``; the figures are the ones in operations.json / calls.json /
comparison.json, never recomputed from anything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.measure.results import Results
from reports import format as fmt
from reports.model import (
    Cell,
    Table,
    all_sides,
    counter_mean,
    judge,
    operation_order,
    ratio_of,
    service_mean,
    side_of_label,
)

PERCENTILE_KEYS = ("p50", "p90", "p99", "p99.9", "max")
#: Counters of each side of the join-avoidance table: (counter, column label).
SQL_COUNTERS = (
    ("statements", "statements"),
    ("joins", "JOINs"),
    ("tables", "tables"),
    ("rows", "rows"),
)
MAGNETO_COUNTERS = (
    ("requests", "requests"),
    ("items_read", "items read"),
    ("items_written", "items written"),
    ("dual_writes", "dual writes"),
)
REQUEST_ABBREVIATIONS = {
    "get_item": "get",
    "batch_get_item": "batch_get",
    "query": "query",
    "scan": "scan",
    "put_item": "put",
    "update_item": "update",
    "delete_item": "delete",
    "batch_write_item": "batch_write",
}
VERDICT_TITLES = {
    "win": "95% CI entirely below 1",
    "loss": "95% CI entirely above 1",
    "even": "95% CI contains 1: no difference shown",
    "na": "fewer than 3 pairs: no confidence interval",
}


def _outcomes(stats: Mapping[str, Any]) -> Cell:
    rejected, errors = stats.get("rejected", 0), stats.get("errors", 0)
    failures = ", ".join(f"{name} {n}" for name, n in (stats.get("failures") or {}).items())
    return Cell(f"{rejected} / {errors}", "loss" if errors else "", failures)


def operations_table(results: Results) -> Table:
    """Per operation and backend: ops/s, rejected/errors, service-time percentiles (ms),
    and the paired ratio with its 95% CI."""
    backends = results.backends
    pairs = all_sides(results)
    per_backend = ["ops/s", "rej / err", "p50", "p90", "p99", "p99.9", "max"]
    columns = ["operation", "n"] + per_backend * len(backends)
    groups = [("", 2)] + [(f"{label} (ms)", len(per_backend)) for label in backends]
    for baseline, arm in pairs:
        columns += ["median ratio", "95% CI", "reading"]
        groups.append((f"{arm} / {baseline} (paired)", 3))
    table = Table(columns, groups=groups)
    for name in operation_order(results):
        per = results.operations[name]
        row: list[Cell] = [Cell(name), Cell(fmt.count(max(s["count"] for s in per.values())))]
        for label in backends:
            stats = per.get(label)
            if not stats:
                row += [Cell(fmt.DASH)] * len(per_backend)
                continue
            service = stats.get("service_us") or {}
            row.append(Cell(fmt.number(stats.get("throughput_per_s"))))
            row.append(_outcomes(stats))
            row += [Cell(fmt.ms(service.get(key))) for key in PERCENTILE_KEYS]
        for sides in pairs:
            row += ratio_cells(ratio_of(results, name, sides[1]), sides)
        table.rows.append(row)
    return table


def ratio_cells(entry: Mapping[str, Any], sides: tuple[str, str]) -> list[Cell]:
    """Median ratio, 95% CI and its reading, classed by the verdict (``judge``)."""
    verdict = judge(entry)
    title = f"n = {entry.get('n', 0)} pairs; {VERDICT_TITLES[verdict]}"
    return [
        Cell(fmt.ratio(entry.get("median")), verdict, title),
        Cell(fmt.interval(entry.get("ci95")), verdict, title),
        Cell(_reading(entry, verdict, sides), verdict, title),
    ]


def _reading(entry: Mapping[str, Any], verdict: str, sides: tuple[str, str]) -> str:
    if verdict == "na":
        return "too few pairs"
    if verdict == "even":
        return "no clear difference"
    return fmt.speed(entry.get("median"), sides[1], sides[0])


def intended_table(results: Results) -> Table | None:
    """Intended-start latency (paced runs only: YCSB's coordinated-omission correction)."""
    backends = results.backends
    rows = []
    for name in operation_order(results):
        per = results.operations[name]
        if not any((per.get(b) or {}).get("intended_us") for b in backends):
            continue
        row = [Cell(name)]
        for label in backends:
            intended = (per.get(label) or {}).get("intended_us") or {}
            row += [Cell(fmt.ms(intended.get(key))) for key in ("p50", "p99", "p99.9", "max")]
        rows.append(row)
    if not rows:
        return None
    columns = ["operation"] + ["p50", "p99", "p99.9", "max"] * len(backends)
    groups = [("", 1)] + [(f"{label} intended (ms)", 4) for label in backends]
    return Table(columns, rows, groups)


def _request_mix(stats: Mapping[str, Any] | None) -> Cell:
    """``2 get, 1 scan``: the requests of one event by type (means)."""
    counters = (stats or {}).get("counters") or {}
    parts = []
    for name, entry in sorted(counters.items()):
        if name.startswith("requests.") and entry["sum"]:
            short = REQUEST_ABBREVIATIONS.get(name.split(".", 1)[1], name.split(".", 1)[1])
            parts.append(f"{fmt.counter(entry)} {short}")
    return Cell(", ".join(parts) or fmt.DASH, "text")


def _scans(stats: Mapping[str, Any] | None) -> Cell:
    scans = ((stats or {}).get("counters") or {}).get("requests.scan")
    return Cell(
        fmt.counter(scans) if scans else "0",
        "loss" if scans and scans["sum"] else "",
        "full table scans",
    )


def _counter_columns(side: str) -> tuple[tuple[str, str], ...]:
    return SQL_COUNTERS if side == "sql" else MAGNETO_COUNTERS if side == "magnetodb" else ()


def _counter_cells(side: str, stats: Mapping[str, Any] | None) -> list[Cell]:
    counters = (stats or {}).get("counters") or {}
    cells = [
        Cell(fmt.counter(counters.get(name)), title=_range(counters.get(name)))
        for name, _ in _counter_columns(side)
    ]
    if side == "magnetodb":
        cells[1:1] = [_request_mix(stats), _scans(stats)]
    return cells


def _range(stats: Mapping[str, Any] | None) -> str:
    if not stats:
        return ""
    return f"per event {stats['min']}..{stats['max']}, total {stats['sum']}"


def _join_header(results: Results) -> tuple[list[str], list[tuple[str, int]]]:
    columns: list[str] = []
    groups: list[tuple[str, int]] = []
    for label in results.backends:
        side = side_of_label(results, label)
        labels = [column for _, column in _counter_columns(side)]
        if side == "magnetodb":
            labels[1:1] = ["by type", "scans"]
        columns += labels
        groups.append((f"{label} ({side})", len(labels)))
    return columns, groups


def join_table(results: Results) -> Table:
    """Per operation, mean per execution: SQL statements/JOINs/tables/rows, MagnetoDB
    requests (by type)/items/dual writes. ``~`` marks a mean over differing counts."""
    columns, groups = _join_header(results)
    table = Table(["operation", *columns], groups=[("", 1), *groups])
    for name in operation_order(results):
        per = results.operations[name]
        row = [Cell(name)]
        for label in results.backends:
            row += _counter_cells(side_of_label(results, label), per.get(label))
        table.rows.append(row)
    return table


def call_join_table(results: Results) -> Table:
    """The same per DB API call and caller context (the exact query shapes)."""
    columns, groups = _join_header(results)
    table = Table(["call", "context", *columns], groups=[("", 2), *groups])
    for name in sorted(results.calls):
        per = results.calls[name]
        contexts = sorted({c for s in per.values() for c in (s.get("by_context") or {})})
        for context in contexts:
            row = [Cell(name), Cell(context)]
            for label in results.backends:
                stats = ((per.get(label) or {}).get("by_context") or {}).get(context)
                row += _counter_cells(side_of_label(results, label), stats)
            table.rows.append(row)
    return table


def write_rows(results: Results) -> list[dict[str, Any]]:
    """Per operation that writes: SQL DML statements and MagnetoDB items written (and how
    many of them are dual writes), means per execution."""
    rows = []
    for name in operation_order(results):
        per = results.operations[name]
        row: dict[str, Any] = {"operation": name, "sql": {}, "magnetodb": {}}
        for label in results.backends:
            side, stats = side_of_label(results, label), per.get(label)
            if side == "sql" and not row["sql"]:
                parts = {
                    k: counter_mean(stats, k) or 0.0 for k in ("inserts", "updates", "deletes")
                }
                row["sql"] = {"label": label, **parts, "dml": sum(parts.values())}
            elif side == "magnetodb" and not row["magnetodb"]:
                written = counter_mean(stats, "items_written") or 0.0
                dual = counter_mean(stats, "dual_writes") or 0.0
                row["magnetodb"] = {"label": label, "written": written, "dual": dual}
        if row["sql"].get("dml") or row["magnetodb"].get("written"):
            rows.append(row)
    return rows


def writes_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(
        [
            "operation",
            "INSERT",
            "UPDATE",
            "DELETE",
            "DML statements",
            "items written",
            "of which dual writes",
            "dual share",
            "items written / DML statement",
        ],
        groups=[("", 1), ("SQL, per execution", 4), ("MagnetoDB, per execution", 3), ("", 1)],
    )
    for row in rows:
        sql, mdb = row["sql"], row["magnetodb"]
        written, dual = mdb.get("written"), mdb.get("dual")
        share = dual / written if written else None
        amplification = written / sql["dml"] if written and sql.get("dml") else None
        table.add(
            row["operation"],
            *(fmt.mean(sql.get(k)) for k in ("inserts", "updates", "deletes", "dml")),
            fmt.mean(written),
            fmt.mean(dual),
            fmt.percent(share),
            Cell(fmt.ratio(amplification), "loss" if (amplification or 0) > 1.5 else ""),
        )
    return table


def transport_rows(results: Results) -> list[dict[str, Any]]:
    """Per operation: round trips x the measured floor of each side, against its mean
    service time, and the ratio of means with and without that transport cost."""
    floor = results.floor
    sql = next((b for b in results.backends if side_of_label(results, b) == "sql"), None)
    mdb = next((b for b in results.backends if side_of_label(results, b) == "magnetodb"), None)
    if mdb is None or mdb not in floor:
        return []
    rows = []
    for name in operation_order(results):
        per = results.operations[name]
        side: dict[str, dict[str, float | None]] = {}
        for label, trips_counter in ((mdb, "requests"), (sql, "round_trips")):
            if label is None or label not in per:
                continue
            trips = counter_mean(per[label], trips_counter)
            mean = service_mean(per[label])
            floor_us = (floor.get(label) or {}).get("p50_us")
            transport = trips * floor_us if trips is not None and floor_us is not None else None
            side[label] = {"trips": trips, "mean": mean, "floor": floor_us, "transport": transport}
        if mdb not in side or side[mdb]["mean"] is None:
            continue
        row = {
            "operation": name,
            "count": int(per[mdb].get("count") or 0),
            "mdb": side[mdb],
            "sql": side.get(sql) if sql else None,
        }
        row["share"] = _share(side[mdb])
        row["ratio"], row["net_ratio"] = _net_ratio(side[mdb], row["sql"])
        rows.append(row)
    return rows


def _share(side: Mapping[str, float | None]) -> float | None:
    if side.get("transport") is None or not side.get("mean"):
        return None
    return min(side["transport"] / side["mean"], 1.0)


def _net_ratio(
    mdb: Mapping[str, float | None], sql: Mapping[str, float | None] | None
) -> tuple[float | None, float | None]:
    if not sql or not sql.get("mean") or not mdb.get("mean"):
        return None, None
    gross = mdb["mean"] / sql["mean"]
    if mdb.get("transport") is None or sql.get("transport") is None:
        return gross, None
    net_mdb, net_sql = mdb["mean"] - mdb["transport"], sql["mean"] - sql["transport"]
    return gross, (net_mdb / net_sql if net_mdb > 0 and net_sql > 0 else None)


def transport_table(rows: list[dict[str, Any]], mdb: str, sql: str | None) -> Table:
    table = Table(
        [
            "operation",
            "requests",
            "transport",
            "mean service",
            "transport share",
            "round trips",
            "transport",
            "mean service",
            "ratio of means",
            "net of transport",
        ],
        groups=[("", 1), (f"{mdb} (ms)", 4), (f"{sql or 'SQL'} (ms)", 3), (f"{mdb} / SQL", 2)],
    )
    for row in rows:
        m, s = row["mdb"], row["sql"] or {}
        share = row["share"]
        table.add(
            row["operation"],
            fmt.mean(m["trips"]),
            fmt.ms(m["transport"]),
            fmt.ms(m["mean"]),
            Cell(fmt.percent(share), "loss" if (share or 0) >= 0.5 else ""),
            fmt.mean(s.get("trips")),
            fmt.ms(s.get("transport")),
            fmt.ms(s.get("mean")),
            fmt.ratio(row["ratio"]),
            Cell(
                fmt.ratio(row["net_ratio"]),
                title="(mean \u2212 round trips \u00d7 floor) on each side",
            ),
        )
    return table


def kills_table(results: Results) -> Table | None:
    """Per node kill and backend it served: when it served again (any operation, a
    writing one) and the errors of the failover window, per operation and class
    (``bench.measure.failover``); None for a run without kills."""
    kills = [kill for kill in results.meta.get("node_kills") or () if kill.get("killed")]
    if not kills:
        return None
    table = Table(
        [
            "kill",
            "backend",
            "at second",
            "served again",
            "writes served again",
            "errors in failover",
            "failed calls in failover",
            "errors after the kill",
        ]
    )
    for kill in kills:
        for label, effect in (kill.get("effects") or {}).items():
            table.add(
                f"{kill.get('side')} {kill.get('name')} ({kill.get('address')})",
                label,
                fmt.number(kill.get("second")),
                _seconds(effect.get("served_again_s"), effect.get("first_ok_operation")),
                _seconds(effect.get("writes_served_again_s"), effect.get("first_ok_write")),
                _errors(effect.get("errors") or {}),
                _errors(effect.get("call_errors") or {}),
                _errors(effect.get("errors_after_kill") or {}),
            )
    table.caption = (
        "served again: from the kill to the end of the first operation started after it that"
        " succeeded (writes: the first that writes); failover: operations in flight at the"
        " kill or started before writes were served again; failed calls count those whose"
        " operation went on (Cinder swallows a failed quota commit)"
    )
    return table


def _seconds(value: float | None, operation: str | None) -> Cell:
    if value is None:
        return Cell("never", "loss")
    return Cell(f"{fmt.number(value)} s", "", f"first: {operation}")


def _errors(errors: Mapping[str, Mapping[str, int]]) -> Cell:
    if not errors:
        return Cell("none")
    parts = [f"{op} {name} {count}" for op, per in errors.items() for name, count in per.items()]
    return Cell(", ".join(parts), "loss")
