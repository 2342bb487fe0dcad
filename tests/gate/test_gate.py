"""The gate passes an A/A pair and fails a synthetic regression of each gated figure.

The regressions are made by editing a copy of a real short compare's results
directory (one counter, one operation's latency, one findings file), and the
copy is gated against the untouched original as the baseline directory.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bench.gate.baseline import load_baseline, snapshot, write_baseline
from bench.gate.config import load_config, parse_config
from bench.measure.results import load_results
from cinderbench.gate import gate
from tests.gate.support import _copy, _failed, _slow_down
from tests.shortrun import BASELINE, GATE_CONFIG, ShortRun, cli


def test_ci_short_compare_passes_the_stored_baseline(short_run: ShortRun, tmp_path: Path) -> None:
    """What CI runs: the short compare, then the gate against ci/baseline.json. The two are an
    A/A pair: the same workload, run at another time on this machine."""
    junit = tmp_path / "gate.xml"
    done = cli(
        "gate", short_run.path, "--baseline", BASELINE, "--config", GATE_CONFIG, "--junit", junit
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("gate: PASS")
    report = json.loads((short_run.path / "gate.json").read_text())
    assert report["ok"] is True
    assert report["summary"]["counter"]["passed"] > 500
    assert report["summary"]["latency"]["passed"] >= 5
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "0"
    assert int(root.get("tests")) == len(report["checks"])


@pytest.mark.parametrize(
    ("file", "name", "backend", "context", "counter", "check"),
    [
        (
            "calls.json",
            "volume_get",
            "sqlite",
            "admin",
            "joins",
            "counter volume_get[admin].joins (sqlite)",
        ),
        (
            "operations.json",
            "show",
            "magnetodb",
            None,
            "requests.scan",
            "counter op:show.requests.scan (magnetodb)",
        ),
    ],
)
def test_a_changed_counter_fails(
    short_run: ShortRun,
    tmp_path: Path,
    file: str,
    name: str,
    backend: str,
    context: str | None,
    counter: str,
    check: str,
) -> None:
    current = _copy(short_run, tmp_path / "current")
    data = json.loads((current / file).read_text())
    stats = data[name][backend]
    if context:
        stats = stats["by_context"][context]
    entry = stats["counters"][counter]
    before = dict(entry)
    entry.update(sum=entry["sum"] + stats["count"], min=entry["min"] + 1, max=entry["max"] + 1)
    (current / file).write_text(json.dumps(data))
    junit = tmp_path / "gate.xml"
    done = cli(
        "gate", current, "--baseline", short_run.path, "--config", GATE_CONFIG, "--junit", junit
    )
    assert done.returncode == 1
    assert f"FAILED {check}:" in done.stdout
    report = json.loads((current / "gate.json").read_text())
    failed = {c["name"]: c for c in report["checks"] if c["ok"] is False}
    assert list(failed) == [check]
    assert failed[check]["baseline"]["max"] == before["max"]
    assert failed[check]["value"]["max"] == before["max"] + 1
    after_mean = (before["sum"] + stats["count"]) / stats["count"]
    assert f"-> {after_mean:g} per event" in failed[check]["detail"]
    cases = ET.parse(junit).getroot().iter("testcase")
    assert [c.get("name") for c in cases if c.find("failure") is not None] == [check]


def test_a_slower_operation_fails_on_its_latency_ratio(short_run: ShortRun, tmp_path: Path) -> None:
    current = _copy(short_run, tmp_path / "current")
    _slow_down(current, "show", "magnetodb", 3.0)
    ok, checks, text = gate(current, short_run.path, GATE_CONFIG)
    assert not ok
    failed = _failed(checks)
    assert list(failed) == ["latency show (magnetodb/sqlite)"]
    assert "(x3.00)" in failed["latency show (magnetodb/sqlite)"]
    assert "regressed" in text


def test_a_slowdown_within_the_tolerance_passes(short_run: ShortRun, tmp_path: Path) -> None:
    current = _copy(short_run, tmp_path / "current")
    _slow_down(current, "show", "magnetodb", 1.4)  # significant, but below the x2 tolerance
    ok, checks, _ = gate(current, short_run.path, GATE_CONFIG)
    assert ok, _failed(checks)
    show = next(c for c in checks if c.name == "latency show (magnetodb/sqlite)")
    assert show.ok is True
    assert "within tolerance" in show.detail


FINDINGS = {
    "validation": {
        "format": "cinderbench-findings/1",
        "ok": False,
        "mode": "offline",
        "backend": "magnetodb",
        "checks": [],
        "findings": [
            {
                "check": "volume_metadata",
                "class": "stale",
                "table": "volume_metadata",
                "key": {"property": '["k", "v"]'},
                "field": "volume_ids",
                "expected": ["v1"],
                "actual": [],
                "transient": False,
                "attributed_to": [],
            }
        ],
    },
    "diff": {
        "format": "cinderbench-findings/1",
        "ok": False,
        "mode": "differential",
        "first": "sqlite",
        "second": "magnetodb",
        "divergences": [
            {
                "seq": 4,
                "operation": "list",
                "call": "volume_get_all",
                "difference": "second lacks v1",
            }
        ],
        "final_state": {"compared": 10, "differences": 0, "examples": []},
    },
}


@pytest.mark.parametrize("kind", ["validation", "diff"])
def test_any_validator_finding_fails(short_run: ShortRun, tmp_path: Path, kind: str) -> None:
    current = _copy(short_run, tmp_path / "current")
    (current / f"{kind}.json").write_text(json.dumps(FINDINGS[kind]))
    ok, checks, _ = gate(current, short_run.path, GATE_CONFIG)
    assert not ok
    assert list(_failed(checks)) == [f"finding {kind}"]


def test_a_clean_validation_passes(short_run: ShortRun, tmp_path: Path) -> None:
    current = _copy(short_run, tmp_path / "current")
    clean = {**FINDINGS["validation"], "ok": True, "findings": []}
    (current / "validation.json").write_text(json.dumps(clean))
    ok, checks, _ = gate(current, short_run.path, GATE_CONFIG)
    assert ok, _failed(checks)
    assert next(c for c in checks if c.name == "finding validation").ok is True


def test_another_workload_is_not_compared(short_run: ShortRun, tmp_path: Path) -> None:
    current = _copy(short_run, tmp_path / "current")
    meta = json.loads((current / "run.json").read_text())
    meta["parameters"]["seed"] = 2
    (current / "run.json").write_text(json.dumps(meta))
    ok, checks, _ = gate(current, short_run.path, GATE_CONFIG)
    assert not ok
    assert "workload" in _failed(checks)
    assert "seed" in _failed(checks)["workload"]


def test_a_stored_baseline_is_the_snapshot_it_was_written_from(
    short_run: ShortRun, tmp_path: Path
) -> None:
    config = load_config(GATE_CONFIG)
    results = load_results(short_run.path)
    path = write_baseline(results, config, tmp_path / "baseline.json")
    assert load_baseline(path, config) == snapshot(results, config)
    assert load_baseline(short_run.path, config) == snapshot(results, config)


def test_exempt_counters_are_reported_not_gated(short_run: ShortRun) -> None:
    config = load_config(GATE_CONFIG)
    results = snapshot(load_results(short_run.path), config)
    from bench.gate.checks import counter_checks

    checks = {c.name: c for c in counter_checks(results, results, config)}
    reserve = checks["counter quota_reserve[user].statements (sqlite)"]
    assert reserve.ok is None
    assert reserve.detail.startswith("exempt:")
    delete = checks["counter op:delete.statements (sqlite)"]  # inherits from the calls it makes
    assert delete.ok is None
    assert "quota_reserve" in delete.detail or "reservation_commit" in delete.detail
    assert checks["counter op:delete.joins (sqlite)"].ok is True


def test_gate_toml_is_the_documented_config() -> None:
    config = load_config(GATE_CONFIG)
    assert config.source == str(GATE_CONFIG)
    assert config.rule("show").tolerance == config.latency.tolerance
    assert config.rule("detach").tolerance == 1.5
    assert config.rule("detach").alpha == config.latency.alpha  # overrides inherit the rest
    assert config.gated("requests.get_item")
    assert not config.gated("rows")
    with pytest.raises(ValueError, match="unknown latency settings"):
        parse_config({"latency": {"tolerence": 0.5}})
    with pytest.raises(ValueError, match="fail_on"):
        parse_config({"latency": {"fail_on": "sometimes"}})


def test_fail_on_change_also_fails_a_faster_ratio(short_run: ShortRun, tmp_path: Path) -> None:
    """``fail_on = "change"``: a ratio that shrank beyond the tolerance fails too (the
    comparison moved: the baseline no longer describes the designs)."""
    current = _copy(short_run, tmp_path / "current")
    _slow_down(current, "show", "magnetodb", 0.3)
    config = tmp_path / "gate.toml"
    config.write_text(GATE_CONFIG.read_text().replace('fail_on = "increase"', 'fail_on = "change"'))
    ok, checks, _ = gate(current, short_run.path, GATE_CONFIG)
    assert ok, _failed(checks)
    ok, checks, _ = gate(current, short_run.path, config)
    assert list(_failed(checks)) == ["latency show (magnetodb/sqlite)"]


def _double_client_cpu(results: Path, operation: str, backend: str) -> None:
    path = results / "operations.json"
    operations = json.loads(path.read_text())
    summary = operations[operation][backend]["client_cpu_us"]
    for key in ("min", "mean", "p50", "p90", "p99", "p99.9", "max"):
        summary[key] *= 2
    path.write_text(json.dumps(operations))


def test_a_doubled_client_cpu_fails_exactly_the_cpu_check(
    short_run: ShortRun, tmp_path: Path
) -> None:
    """Opt-in ([cpu] enabled): doubling one operation's client CPU on one backend fails that
    check and nothing else; off (the default) the same change is not looked at."""
    current = _copy(short_run, tmp_path / "current")
    _double_client_cpu(current, "show", "magnetodb")
    config = tmp_path / "gate.toml"
    config.write_text(GATE_CONFIG.read_text().replace("enabled = false", "enabled = true"))
    ok, checks, _ = gate(current, short_run.path, config)
    assert not ok
    assert list(_failed(checks)) == ["cpu show (magnetodb)"]
    assert "(x2.00)" in _failed(checks)["cpu show (magnetodb)"]
    assert sum(1 for c in checks if c.kind == "cpu" and c.ok) >= 5
    ok, checks, _ = gate(current, short_run.path, GATE_CONFIG)
    assert ok, _failed(checks)
    assert not [c for c in checks if c.kind == "cpu"]


def test_cpu_check_settings_are_validated() -> None:
    assert not load_config(GATE_CONFIG).cpu.enabled
    rule = parse_config({"cpu": {"enabled": True, "operations": ["list*"]}}).cpu
    assert rule.covers("list_filtered")
    assert not rule.covers("show")
    with pytest.raises(ValueError, match="unknown cpu settings"):
        parse_config({"cpu": {"tolerence": 0.1}})
