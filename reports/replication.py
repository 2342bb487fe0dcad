"""The replication cost of dual writes: each write operation's ratio on clusters next to its
single-node ratio (issue 16).

A run with a MagnetoDB arm and an SQL arm on single nodes, and a MagnetoDB arm
and an SQL arm on clusters, each MagnetoDB arm paired with its topology's SQL
arm (``compare --cluster N --with-single``), gives per operation two paired
ratios. Their quotient, clustered / single, is what replication does to the
design's cost relative to SQL's: above 1, each extra item the design writes
(a dual write is one more Raft round on etcd) costs more than the one
certification round a Galera transaction pays, however many rows it writes.
The SQL arms' own pairing (cluster / single node), when the run has it, says
how much replication costs the SQL side alone.
"""

from __future__ import annotations

from typing import Any

from bench.measure.results import Results
from reports import format as fmt
from reports.facts import topology
from reports.model import Cell, Table, all_sides, ratio_of, side_of_label
from reports.tables import write_rows


def _clustered(results: Results, label: str) -> bool:
    return bool(topology(results, label))


def topology_pairs(results: Results) -> dict[str, tuple[str, str]] | None:
    """``{"single": (sql arm, magnetodb arm), "clustered": (...)}`` of the run's pairings
    that pit MagnetoDB against SQL on the same topology; None unless it has both."""
    found: dict[str, tuple[str, str]] = {}
    for baseline, candidate in all_sides(results):
        sides = (side_of_label(results, baseline), side_of_label(results, candidate))
        if sides != ("sql", "magnetodb"):
            continue
        shape = (_clustered(results, baseline), _clustered(results, candidate))
        if shape == (False, False):
            found.setdefault("single", (baseline, candidate))
        elif shape == (True, True):
            found.setdefault("clustered", (baseline, candidate))
    return found if len(found) == 2 else None


def _sql_replication(results: Results, single: str, clustered: str) -> str | None:
    """The SQL cluster arm when the run pairs it with the single SQL arm."""
    return clustered if (single, clustered) in all_sides(results) else None


def replication_rows(results: Results) -> list[dict[str, Any]]:
    """Per write operation: the single-node and the clustered ratio, their quotient, the
    SQL arms' own ratio, and the design's items written and dual writes."""
    pairs = topology_pairs(results)
    if pairs is None:
        return []
    (sql_single, mdb_single), (sql_cluster, mdb_cluster) = pairs["single"], pairs["clustered"]
    sql_arm = _sql_replication(results, sql_single, sql_cluster)
    rows = []
    for row in write_rows(results):
        name = row["operation"]
        single = ratio_of(results, name, mdb_single)
        clustered = ratio_of(results, name, mdb_cluster)
        if not single.get("median") or not clustered.get("median"):
            continue
        rows.append(
            {
                "operation": name,
                "single": single,
                "clustered": clustered,
                "quotient": clustered["median"] / single["median"],
                "sql_replication": ratio_of(results, name, sql_arm) if sql_arm else {},
                "written": row["magnetodb"].get("written"),
                "dual": row["magnetodb"].get("dual"),
                "dml": row["sql"].get("dml"),
            }
        )
    return rows


def replication_table(results: Results) -> Table | None:
    """The report's table (None when the run has no single and clustered pairings)."""
    rows = replication_rows(results)
    if not rows:
        return None
    pairs = topology_pairs(results)
    assert pairs is not None
    (sql_single, mdb_single), (sql_cluster, mdb_cluster) = pairs["single"], pairs["clustered"]
    table = Table(
        [
            "operation",
            f"single node: {mdb_single} / {sql_single}",
            f"clustered: {mdb_cluster} / {sql_cluster}",
            "clustered / single",
            f"{sql_cluster} / {sql_single}",
            "items written (dual)",
            "SQL DML statements",
        ]
    )
    for row in rows:
        quotient = row["quotient"]
        table.add(
            row["operation"],
            _ratio(row["single"]),
            _ratio(row["clustered"]),
            Cell(
                fmt.ratio(quotient),
                "loss" if quotient > 1.25 else "win" if quotient < 0.8 else "",
                "the clustered ratio over the single-node ratio (medians)",
            ),
            _ratio(row["sql_replication"]),
            f"{fmt.mean(row['written'])} ({fmt.mean(row['dual'])})",
            fmt.mean(row["dml"]),
        )
    table.caption = (
        "paired ratios (median of per-pair ratios, 95% bootstrap interval) of the same planned"
        " operations, interleaved in one run; clustered / single above 1: replication costs"
        " the design more than it costs SQL (each item MagnetoDB writes is one more replicated"
        " write, a Galera transaction pays one certification round for all its rows)"
    )
    return table


def _ratio(entry: dict[str, Any]) -> Cell:
    if not entry.get("median"):
        return Cell(fmt.DASH)
    ci = entry.get("ci95")
    cls = "win" if ci and ci[1] < 1 else "loss" if ci and ci[0] > 1 else ""
    return Cell(f"{fmt.ratio(entry['median'])} {fmt.interval(ci)}", cls, f"n={entry.get('n')}")
