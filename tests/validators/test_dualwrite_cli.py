"""``cinderbench run --fault-rate`` then ``cinderbench validate``, as a CI would run them:
findings with their causes and exit status 1, a repair that leaves exit status 0, and
status 2 when there is nothing to validate."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from cinderbench import main as cinderbench


def _url(server_url: str) -> str:
    return f"magnetodb://{server_url.removeprefix('http://')}/cli{uuid.uuid4().hex[:10]}"


def test_a_fault_run_is_validated_attributed_and_repaired(
    magnetodb_server_url: str, tmp_path: Path
) -> None:
    url, results = _url(magnetodb_server_url), tmp_path / "run"
    dataset = ["--volumes", "40", "--projects", "2", "--dataset-seed", "5"]
    run = ["run", "--backend", url, *dataset, "--mix", "attach_heavy", "--operations", "120"]
    assert (
        cinderbench(
            [*run, "--fault-rate", "1", "--fault-plan", "attach", "--quiet", "-o", str(results)]
        )
        == 0
    )
    meta = json.loads((results / "run.json").read_text())
    assert meta["faults"]["plan"] == "attach"
    injected = meta["faults"]["injected"]
    assert injected > 0

    assert cinderbench(["validate", str(results), "--no-quotas"]) == 1
    report = json.loads((results / "validation.json").read_text())
    assert report["ok"] is False
    assert report["url"] == url
    row = next(check for check in report["checks"] if check["name"] == "volume_attachments")
    assert row["orphan"] == injected  # one row no volume lists per failed attach
    assert {check["name"] for check in report["checks"]} >= {
        "volumes_by_project",
        "qos_specs_by_name",
    }
    for finding in report["findings"]:
        assert finding["class"] == "orphan"
        assert finding["attributed_to"][0]["operation"] == "attach"
        assert "volume_attach failed at its write 2 (update_item volumes)" in finding["explanation"]

    assert cinderbench(["validate", str(results), "--no-quotas", "--repair"]) == 1  # dry run
    planned = json.loads((results / "validation.json").read_text())["repair"]
    assert (planned["planned"], planned["applied"]) == (injected, 0)
    assert cinderbench(["validate", str(results), "--no-quotas", "--repair", "--execute"]) == 0
    repaired = json.loads((results / "validation.json").read_text())["repair"]
    assert repaired["applied"] == injected
    assert repaired["revalidation"]["ok"] is True
    assert cinderbench(["validate", str(results), "--no-quotas"]) == 0


def test_online_mode_on_a_quiet_store(magnetodb_server_url: str, tmp_path: Path) -> None:
    url = _url(magnetodb_server_url)
    load = ["run", "--backend", url, "--volumes", "20", "--projects", "2", "--operations", "5"]
    assert cinderbench([*load, "--quiet", "-o", str(tmp_path / "run")]) == 0
    out = tmp_path / "online"
    argv = ["validate", "--url", url, "--online", "--duration", "0.3", "--settle", "0.5"]
    assert cinderbench([*argv, "-o", str(out), "--quiet"]) == 0
    report = json.loads((out / "validation.json").read_text())
    assert (report["mode"], report["ok"], report["reads"]["settle_s"]) == ("online", True, 0.5)


def test_nothing_to_validate_is_an_error(tmp_path: Path) -> None:
    assert cinderbench(["validate", str(tmp_path)]) == 2  # no run.json
    run_json = {
        "format": "cinderbench-results/1",
        "backends": [{"label": "sqlite", "url": "sqlite://"}],
    }
    (tmp_path / "run.json").write_text(json.dumps(run_json))
    assert cinderbench(["validate", str(tmp_path)]) == 2  # no MagnetoDB backend
    assert cinderbench(["validate", "--url", "magnetodb+inproc:///gone"]) == 2  # memory store
    gone = "magnetodb://127.0.0.1:9/cinderbench"  # nothing listens on port 9
    assert cinderbench(["validate", str(tmp_path), "--url", gone]) == 2
