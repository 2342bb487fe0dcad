"""What the gate tests share: a results directory copied, slowed down, and its failures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.shortrun import ShortRun


def _copy(run: ShortRun, target: Path) -> Path:
    shutil.copytree(run.path, target, ignore=shutil.ignore_patterns("report.html", "gate.json"))
    return target


def _failed(checks) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {check.name: check.detail for check in checks if check.ok is False}


def _slow_down(results: Path, operation: str, backend: str, factor: float) -> None:
    lines = []
    with open(results / "oplog.jsonl") as stream:
        for line in stream:
            record = json.loads(line)
            if record["op"] == operation:
                record["runs"][backend]["us"] = int(record["runs"][backend]["us"] * factor)
            lines.append(json.dumps(record))
    (results / "oplog.jsonl").write_text("\n".join(lines) + "\n")
