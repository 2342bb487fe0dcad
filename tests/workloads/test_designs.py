"""``--design`` on a locust workload: one MagnetoDB arm per design (a project each on the
server the run starts), each paired with the SQL arm and validated."""

from __future__ import annotations

import json
from pathlib import Path

from bench.measure.results import load_results
from tests.workloads.support import SMALL, explain, locust

ARMS = ["sqlite", "magnetodb.seed", "magnetodb.seed+type_index"]


def test_a_workload_runs_each_design_side_by_side(tmp_path: Path) -> None:
    done = locust(
        "-f", "workloads/attach_heavy.py", "--headless", "-u", "2", "-r", "2", "-t", "4s",
        *SMALL, "--design", "seed", "--design", "seed+type_index",
        "--results-dir", tmp_path / "results",
    )  # fmt: skip
    assert done.returncode == 0, explain(done)
    results = load_results(tmp_path / "results")
    assert results.backends == ARMS
    designs = {b["label"]: (b["engine"] or {}).get("design") for b in results.meta["backends"]}
    assert designs == {ARMS[0]: None, ARMS[1]: "seed", ARMS[2]: "seed+type_index"}
    assert [(p["baseline"], p["candidate"]) for p in results.pairings] == [
        ("sqlite", ARMS[1]),
        ("sqlite", ARMS[2]),
    ]
    assert all(p["operations"] for p in results.pairings)
    validation = json.loads((tmp_path / "results" / "validation.json").read_text())
    assert set(validation["arms"]) >= set(ARMS[1:])
