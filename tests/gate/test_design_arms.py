"""The gate gates a design arm like any other: its counters strictly, its latency ratio to
SQL statistically, on a copy of a short design compare gated against the original."""

from __future__ import annotations

import json
from pathlib import Path

from cinderbench.gate import gate
from tests.gate.support import _copy, _failed, _slow_down
from tests.shortrun import GATE_CONFIG, ShortRun

ARM = "magnetodb.improved"


def _config(tmp_path: Path) -> Path:
    """ci/gate.toml without failing on findings: the design's own behaviours land over
    time, and what is gated here is the arm's latency and counters."""
    config = tmp_path / "gate.toml"
    config.write_text(
        GATE_CONFIG.read_text().replace("fail_on_findings = true", "fail_on_findings = false")
    )
    return config


def test_an_unchanged_design_run_passes(design_run: ShortRun, tmp_path: Path) -> None:
    current = _copy(design_run, tmp_path / "current")
    ok, checks, _ = gate(current, design_run.path, _config(tmp_path))
    assert ok, _failed(checks)
    latency = {c.name for c in checks if c.kind == "latency" and c.ok}
    assert any(name.endswith(f"({ARM}/sqlite)") for name in latency)
    assert any(name.endswith("(magnetodb.seed/sqlite)") for name in latency)


def test_a_slower_design_arm_fails_on_its_ratio(design_run: ShortRun, tmp_path: Path) -> None:
    current = _copy(design_run, tmp_path / "current")
    _slow_down(current, "show", ARM, 3.0)
    ok, checks, _ = gate(current, design_run.path, _config(tmp_path))
    assert not ok
    assert list(_failed(checks)) == [f"latency show ({ARM}/sqlite)"]


def test_a_changed_counter_of_a_design_arm_fails(design_run: ShortRun, tmp_path: Path) -> None:
    current = _copy(design_run, tmp_path / "current")
    data = json.loads((current / "operations.json").read_text())
    stats = data["show"][ARM]
    entry = stats["counters"]["requests"]
    entry.update(sum=entry["sum"] + stats["count"], min=entry["min"] + 1, max=entry["max"] + 1)
    (current / "operations.json").write_text(json.dumps(data))
    ok, checks, _ = gate(current, design_run.path, _config(tmp_path))
    assert not ok
    assert list(_failed(checks)) == [f"counter op:show.requests ({ARM})"]
