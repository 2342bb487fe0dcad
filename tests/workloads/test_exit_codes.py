"""Exit codes: 1 when operations fail, 3 when a validator reports divergence, 4 on a harness bug.

A rejection (a Cinder 4xx such as ``InvalidVolume``) is behaviour under test
and exits 0: the locustfile runs above see plenty of them.
"""

from __future__ import annotations

from pathlib import Path

from bench.measure.results import load_results
from tests.workloads.support import SMALL, explain, locust, locust_counts

BROKEN = "tests/workloads/broken.py"


def run(tmp_path: Path, *args: str) -> tuple[int, str]:
    done = locust(
        "--headless", "-u", "2", "-r", "2", "-t", "3s", *SMALL,
        "--results-dir", tmp_path / "results", "--json-file", tmp_path / "locust", *args,
    )  # fmt: skip
    return done.returncode, explain(done)


def test_operation_errors_exit_1(tmp_path: Path) -> None:
    code, output = run(tmp_path, "-f", BROKEN, "ErringUser", "--no-validate")
    assert code == 1, output
    results = load_results(tmp_path / "results")
    for backend in ("sqlite", "magnetodb"):
        stats = results.operations["test_erring"][backend]
        assert stats["errors"] == stats["count"] > 0
        assert stats["failures"] == {"RuntimeError": stats["count"]}
        assert (
            locust_counts(tmp_path / "locust.json")[(backend, "test_erring")][1] == stats["count"]
        )
    assert results.meta["totals"]["harness_failures"] == 0


def test_harness_failures_exit_4(tmp_path: Path) -> None:
    code, output = run(tmp_path, "-f", BROKEN, "BuggyUser", "--no-validate")
    assert code == 4, output
    results = load_results(tmp_path / "results")
    assert results.meta["totals"]["harness_failures"] > 0
    assert "a harness bug, on purpose" in results.meta["harness_failures"][0]
    assert "harness failures" in output


def test_validator_divergence_exits_3(tmp_path: Path) -> None:
    """Every attach fails between its two MagnetoDB writes: the dual-write validation finds
    the attachment rows no volume lists, and blames the injected faults."""
    code, output = run(
        tmp_path, "-f", "workloads/attach_heavy.py", "--fault-rate", "1", "--fault-plan", "attach"
    )
    assert code == 3, output
    results = load_results(tmp_path / "results")
    validation = results.findings("validation")
    assert validation is not None
    assert not validation["ok"]
    assert results.meta["faults"]["rate"] == 1.0
    assert (tmp_path / "results" / "faults.jsonl").stat().st_size > 0
    assert results.operations["attach"]["magnetodb"]["errors"] > 0
