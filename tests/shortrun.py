"""The short compare CI runs (arguments in ``ci/compare.args``), once per test session.

The report, gate and CI tests all read the results directory of one real
``cinderbench compare``; it runs once per session even under pytest-xdist
(the workers share a directory and a file lock, pytest-xdist's recipe).
"""

from __future__ import annotations

import fcntl
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ARGS_FILE = REPO / "ci" / "compare.args"
BASELINE = REPO / "ci" / "baseline.json"
GATE_CONFIG = REPO / "ci" / "gate.toml"
CLI = (sys.executable, "-m", "cinderbench")


@dataclass(frozen=True)
class ShortRun:
    path: Path
    output: str
    seconds: float


def compare_args() -> list[str]:
    return shlex.split(ARGS_FILE.read_text())


def cli(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``cinderbench ARGS`` in a subprocess, as CI runs it."""
    return subprocess.run(
        [*CLI, *(str(a) for a in args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        check=False,
    )


def _once_per_session(
    tmp_path_factory: pytest.TempPathFactory, name: str, args: tuple[str, ...]
) -> ShortRun:
    """``cinderbench compare ARGS -o ROOT/NAME``, run by the first xdist worker that asks
    (a file lock): the others, and later asks, read what it logged."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    target = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        log = target / "compare.log"
        if not log.exists():
            started = time.monotonic()
            done = cli("compare", *args, "-o", target, "--quiet", timeout=300)
            if done.returncode != 0:
                pytest.fail(
                    f"cinderbench compare {name} failed ({done.returncode}):\n"
                    f"{done.stdout}\n{done.stderr}"
                )
            log.write_text(f"{time.monotonic() - started:.1f}\n{done.stdout}")
        seconds_text, _, output = log.read_text().partition("\n")
        return ShortRun(target, output, float(seconds_text))


def short_compare(tmp_path_factory: pytest.TempPathFactory) -> ShortRun:
    return _once_per_session(tmp_path_factory, "ci-compare", tuple(compare_args()))


#: The designs the short design compare runs (``design_run``), and its options beyond
#: ``ci/compare.args``'s: a smaller dataset and log, as the report and gate tests need.
DESIGN_ARGS = (
    *("--design", "seed", "--design", "improved"),
    *("--volumes", "120", "--projects", "3", "--operations", "150", "--threads", "1"),
    *("--seed", "1", "--dataset-seed", "42"),
)


def design_compare(tmp_path_factory: pytest.TempPathFactory) -> ShortRun:
    """``cinderbench compare --design seed --design improved``, once per session (as
    ``short_compare``)."""
    return _once_per_session(tmp_path_factory, "design-compare", DESIGN_ARGS)
