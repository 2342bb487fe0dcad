"""The replication-cost table: write ratios on clusters next to single nodes, per operation."""

from __future__ import annotations

from pathlib import Path

from bench.measure.results import Results
from reports.replication import replication_rows, replication_table, topology_pairs

ARMS = ("sql", "magnetodb", "sql-cluster", "magnetodb-cluster")


def _backend(label: str) -> dict:
    side = "magnetodb" if label.startswith("magnetodb") else "sql"
    engine = {"backend": side}
    if label.endswith("cluster"):
        engine["topology"] = {"kind": "cluster", "nodes": 3}
    return {"label": label, "url": f"{side}://x", "engine": engine}


def _pair(baseline: str, candidate: str, ratios: dict[str, float]) -> dict:
    operations = {
        op: {"n": 20, "median": r, "ci95": [r * 0.9, r * 1.1]} for op, r in ratios.items()
    }
    return {"baseline": baseline, "candidate": candidate, "operations": operations}


def _results(pairs: list[dict]) -> Results:
    writes = {"sql": {"counters": {"inserts": {"mean": 3}}}}
    design = {"magnetodb": {"counters": {"items_written": {"mean": 8}, "dual_writes": {"mean": 3}}}}
    operations = {
        "create": {
            label: (writes["sql"] if "sql" in label else design["magnetodb"]) for label in ARMS
        },
        "show": {label: {"counters": {}} for label in ARMS},
    }
    meta = {"backends": [_backend(label) for label in ARMS]}
    comparison = {**pairs[0], "pairs": pairs}
    return Results(Path("."), meta, operations, {}, comparison)


def test_each_write_operation_gets_both_ratios_and_their_quotient() -> None:
    results = _results(
        [
            _pair("sql", "magnetodb", {"create": 0.5, "show": 0.9}),
            _pair("sql", "sql-cluster", {"create": 1.2, "show": 1.0}),
            _pair("sql-cluster", "magnetodb-cluster", {"create": 0.8, "show": 0.9}),
        ]
    )
    assert topology_pairs(results) == {
        "single": ("sql", "magnetodb"),
        "clustered": ("sql-cluster", "magnetodb-cluster"),
    }
    (row,) = replication_rows(results)  # show writes nothing
    assert row["operation"] == "create"
    assert round(row["quotient"], 6) == 1.6
    assert row["sql_replication"]["median"] == 1.2
    table = replication_table(results)
    assert table is not None
    cells = [cell.text for cell in table.rows[0]]
    assert cells[:4] == [
        "create",
        "0.50\u00d7 [0.45\u20130.55]",
        "0.80\u00d7 [0.72\u20130.88]",
        "1.60\u00d7",
    ]
    assert cells[5] == "8 (3)"


def test_no_table_without_both_topologies() -> None:
    results = _results([_pair("sql", "magnetodb", {"create": 0.5})])
    assert topology_pairs(results) is None
    assert replication_table(results) is None
