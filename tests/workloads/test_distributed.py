"""Distributed runs: a master and two workers in separate processes, and ``--processes``.

Each worker writes what its own histograms counted (``--worker-totals``, given
to the master, which forwards its options); the merged results must count
exactly their sum, histogram by histogram, and exactly what locust counted.
The master writes one operation log in start order for the whole run.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from bench.measure.results import load_results
from tests.workloads.support import SMALL, explain, free_port, locust, locust_counts, spawn


def merged_counts(path: Path) -> dict[str, int]:
    """``backend|kind|name -> count`` of every histogram of a results directory."""
    results = load_results(path)
    return {
        f"{backend}|{kind}|{name}": results.histogram(kind, name, backend).get_total_count()
        for kind in ("op", "call")
        for name, per in results._histograms[kind].items()
        for backend in per
    }


@pytest.mark.slow
def test_master_and_two_workers(tmp_path: Path) -> None:
    port, totals = free_port(), tmp_path / "totals"
    command = ("-f", "workloads/attach_heavy.py", "--worker", "--master-port", port)
    workers = [spawn(*command, log=tmp_path / f"worker-{i}.log") for i in range(2)]
    try:
        done = locust(
            "-f", "workloads/attach_heavy.py", "--master", "--master-bind-port", port,
            "--expect-workers", "2", "--headless", "-u", "6", "-r", "6", "-t", "5s", *SMALL,
            "--results-dir", tmp_path / "results", "--json-file", tmp_path / "locust",
            "--worker-totals", totals,
        )  # fmt: skip
        for worker in workers:
            worker.wait(timeout=30)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=10)
    logs = "".join((tmp_path / f"worker-{i}.log").read_text() for i in range(2))
    assert done.returncode == 0, explain(done) + logs
    own = [json.loads(path.read_text()) for path in sorted(totals.glob("worker-*.json"))]
    assert len(own) == 2, own
    assert all(worker["operations"] > 0 for worker in own), own
    summed: dict[str, int] = {}
    for worker in own:
        for key, count in worker.items():
            summed[key] = summed.get(key, 0) + count
    results = load_results(tmp_path / "results")
    assert summed.pop("operations") == results.meta["operations"]
    assert merged_counts(tmp_path / "results") == summed
    ours = {
        (backend, op): (stats["count"], stats["errors"])
        for op, per in results.operations.items()
        for backend, stats in per.items()
    }
    assert locust_counts(tmp_path / "locust.json") == ours
    assert results.meta["locust"]["workers"] == [0, 1]
    lines = list(results.oplog())
    assert [line["seq"] for line in lines] == list(range(results.meta["operations"]))
    assert [line["t"] for line in lines] == sorted(line["t"] for line in lines)
    assert {line["worker"] for line in lines} == {0, 1}
    diff = results.findings("diff")
    assert diff is not None
    assert diff["ok"], diff  # the merged log replays without divergence


@pytest.mark.slow
def test_processes(tmp_path: Path) -> None:
    """``--processes 2``: locust forks the workers; the master writes the results."""
    done = locust(
        "-f", "workloads/list_filters.py", "--processes", "2", "--headless",
        "-u", "4", "-r", "4", "-t", "4s", "--no-validate", *SMALL,
        "--results-dir", tmp_path / "results",
    )  # fmt: skip
    assert done.returncode == 0, explain(done)
    results = load_results(tmp_path / "results")
    assert results.meta["locust"]["workers"] == [0, 1]
    assert results.meta["operations"] > 0
    assert results.meta["totals"]["harness_failures"] == 0
    for backend in ("sqlite", "magnetodb"):
        assert sum(per[backend]["count"] for per in results.operations.values()) > 0
