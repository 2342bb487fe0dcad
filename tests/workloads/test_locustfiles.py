"""Each locustfile, headless for a few seconds on both backends, as a user runs it.

The embedded defaults (a SQLite file and a MagnetoDB server the run starts)
serve every test. A run must exit 0, write a results directory that
``load_results`` reads, measure every backend, count exactly the requests
locust counted (``--json-file``), and leave no harness failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.measure.results import load_results
from tests.workloads.support import SMALL, explain, locust, locust_counts

WORKLOADS = ("attach_heavy", "list_filters", "quota_churn", "snapshot_lifecycle", "mixed")


def check_results(path: Path, backends: list[str]) -> None:
    """A complete results directory of a run on ``backends`` with work on each."""
    results = load_results(path)
    assert results.meta["command"] == "locust"
    assert results.backends == backends
    assert results.meta["totals"]["harness_failures"] == 0, results.meta["harness_failures"]
    assert results.meta["operations"] > 0
    for backend in backends:
        counts = [per[backend]["count"] for per in results.operations.values() if backend in per]
        assert sum(counts) > 0, f"no operation measured on {backend}"
        assert results.histogram("op", next(iter(results.operations)), backend) is not None
        assert set(results.floor) == set(backends)
    executed = sum(per[backends[0]]["count"] for per in results.operations.values())
    assert executed == results.meta["operations"]
    assert results.timeseries(), "no per-second rows"
    if len(backends) == 2:
        assert results.comparison is not None
        assert results.comparison["operations"]


@pytest.mark.parametrize("workload", WORKLOADS)
def test_locustfile_on_both_backends(workload: str, tmp_path: Path) -> None:
    done = locust(
        "-f", f"workloads/{workload}.py", "--headless", "-u", "4", "-r", "4", "-t", "4s",
        *SMALL, "--results-dir", tmp_path / "results", "--json-file", tmp_path / "locust",
    )  # fmt: skip
    assert done.returncode == 0, explain(done)
    check_results(tmp_path / "results", ["sqlite", "magnetodb"])
    results = load_results(tmp_path / "results")
    ours = {
        (backend, op): (stats["count"], stats["errors"])
        for op, per in results.operations.items()
        for backend, stats in per.items()
    }
    assert locust_counts(tmp_path / "locust.json") == ours  # one request event per execution
    assert f"cinderbench results: {tmp_path / 'results'}" in done.stdout.splitlines()[-1]
    assert (tmp_path / "results" / "oplog.jsonl").stat().st_size > 0


def test_one_backend_and_a_paced_step_ramp(tmp_path: Path) -> None:
    """``--backend magnetodb`` alone, users added by the step ramp, a paced schedule."""
    done = locust(
        "-f", "workloads/attach_heavy.py,workloads/step_ramp.py", "--headless",
        "-u", "4", "-r", "4", "-t", "4s", "--step-users", "2", "--step-time", "2",
        "--backend", "magnetodb", "--pace", "20", "--no-validate", *SMALL,
        "--results-dir", tmp_path / "results",
    )  # fmt: skip
    assert done.returncode == 0, explain(done)
    check_results(tmp_path / "results", ["magnetodb"])
    results = load_results(tmp_path / "results")
    assert results.meta["locust"]["shape"] == "StepRamp"
    assert results.meta["locust"]["peak_users"] == 4
    assert "Shape test updating to 2 users" in done.stderr
    intended = [
        stats["intended_us"] for per in results.operations.values() for stats in per.values()
    ]
    assert all(summary is not None for summary in intended), "paced runs record intended time"


def test_options_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``LOCUST_<OPTION>`` sets a cinderbench option, as it does locust's own."""
    monkeypatch.setenv("LOCUST_BACKEND", "sql")
    monkeypatch.setenv("LOCUST_MIX", "read_only")
    done = locust(
        "-f", "workloads/mixed.py", "--headless", "-u", "2", "-r", "2", "-t", "2s",
        "--no-validate", *SMALL, "--results-dir", tmp_path / "results",
    )  # fmt: skip
    assert done.returncode == 0, explain(done)
    results = load_results(tmp_path / "results")
    assert results.backends == ["sqlite"]
    assert results.meta["parameters"]["mix"] == "read_only"
    assert set(results.operations) <= set(results.meta["parameters"]["mix_weights"])


def test_against_mysql_the_embedded_magnetodb_matches_its_durability(tmp_path: Path) -> None:
    """``--sql-url`` MySQL at ``innodb_flush_log_at_trx_commit=1``: the MagnetoDB server the
    run starts fsyncs every commit too, and the run measures both."""
    from bench.drive.scratch import scratch_database
    from cinderdb import open_backend

    with scratch_database(prefix="cbtest_locust") as url:
        done = locust(
            "-f", "workloads/attach_heavy.py", "--headless", "-u", "2", "-r", "2", "-t", "3s",
            "--sql-url", url, "--no-validate", *SMALL, "--results-dir", tmp_path / "results",
        )  # fmt: skip
        with open_backend(url) as backend:
            durable = backend.durable_commits()
    assert done.returncode == 0, explain(done)
    check_results(tmp_path / "results", ["mysql", "magnetodb"])
    expected = (
        "fsync per commit, as the SQL side (mysql"
        if durable
        else "no fsync per commit: survives a process crash, as the SQL side (mysql"
    )
    assert f"magnetodb: a store of its own ({expected}" in done.stderr, explain(done)
