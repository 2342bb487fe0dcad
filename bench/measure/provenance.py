"""Where a run ran: package versions, the checkout's revision, the machine.

Recorded once per run in ``run.json`` so that a figure can be traced to the
code and hardware that produced it (``cinderbench run``, ``compare`` and the
locust workloads all record the same facts).
"""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

#: Distributions whose versions a run records.
PACKAGES = (
    "cinderbench",
    "SQLAlchemy",
    "PyMySQL",
    "hdrhistogram",
    "lmdb",
    "orjson",
    "httptools",
    "rich",
    "numpy",
)


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def git_revision() -> dict[str, Any]:
    """The checkout's revision and whether it had uncommitted changes (None outside git)."""
    root = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    revision = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if revision else None
    return {"revision": revision, "dirty": bool(status) if status is not None else None}


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "hostname": platform.node(),
    }
    try:
        with open("/proc/cpuinfo") as stream:
            models = [line.split(":", 1)[1].strip() for line in stream if "model name" in line]
        info["cpu_model"] = models[0] if models else None
        with open("/proc/meminfo") as stream:
            total_kb = next(int(line.split()[1]) for line in stream if line.startswith("MemTotal"))
        info["memory_bytes"] = total_kb * 1024
    except (OSError, StopIteration, ValueError):
        info.setdefault("cpu_model", None)
    return info
