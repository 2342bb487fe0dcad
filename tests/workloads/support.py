"""Running ``locust`` as users do: a subprocess from the repository root."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: A small cloud: seeding takes a fraction of a second, every workload finds targets.
SMALL = ("--volumes", "200", "--projects", "4")


def locust(*args: str | Path, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """``locust ARGS`` from the repository root (where the README runs it)."""
    return subprocess.run(
        [sys.executable, "-m", "locust", *(str(a) for a in args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def spawn(*args: str | Path, log: Path) -> subprocess.Popen[bytes]:
    """``locust ARGS`` in the background, output to ``log``."""
    return subprocess.Popen(
        [sys.executable, "-m", "locust", *(str(a) for a in args)],
        cwd=REPO,
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def locust_counts(path: Path) -> dict[tuple[str, str], tuple[int, int]]:
    """``(request_type, name) -> (requests, failures)`` of locust's own final stats
    (``--json-file``; its ``--csv`` files are rewritten each second, not at exit)."""
    entries = json.loads(Path(path).read_text())
    return {(e["method"], e["name"]): (e["num_requests"], e["num_failures"]) for e in entries}


def explain(done: subprocess.CompletedProcess[str]) -> str:
    """The end of a run's output, for assertion messages."""
    out, err = done.stdout[-4000:], done.stderr[-6000:]
    return f"exit {done.returncode}\n--- stdout\n{out}\n--- stderr\n{err}"
