"""``validate_quotas`` on a finished run: quota rows and findings join validation.json, and a
finding names the logged quota calls that last changed its project."""

from __future__ import annotations

import json

import sqlalchemy as sa

from bench.drive.job import run_job
from bench.drive.spec import RunSpec
from cinderdb import get_admin_context, open_backend
from tests.validators.replay_support import SMALL
from validators.findings import CheckSummary, Finding, write_validation
from validators.pipeline import validate_quotas
from validators.quota_causes import QUOTA_WRITES


def test_quota_findings_join_validation_json_with_their_causes(tmp_path):
    sql_url = f"sqlite:///{tmp_path / 'run.sqlite'}"
    mdb_url = f"magnetodb+inproc:///run?data_dir={tmp_path / 'lmdb'}"
    backends = [("sqlite", sql_url), ("magnetodb", mdb_url)]
    spec = RunSpec(
        backends=tuple(backends),
        dataset=SMALL,
        mix="quota_churn",
        duration=None,
        operations=40,
        threads=1,
        seed=4,
    )
    results = run_job(spec, tmp_path, progress=False, command="compare")
    reserved_for = [
        call["kwargs"]["project_id"]
        for line in results.oplog()
        for call in line["runs"]["sqlite"]["calls"]
        if call["fn"] == "quota_reserve" and call["outcome"]["ok"]
    ]
    project = reserved_for[-1]
    with open_backend(sql_url) as api:  # drift behind the API, on the SQL side only
        in_use = api.quota_usage_get(get_admin_context(), project, "gigabytes")["in_use"]
        with api.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "UPDATE quota_usages SET in_use = in_use + 7 "
                    "WHERE project_id = :p AND resource = 'gigabytes' AND deleted = 0"
                ),
                {"p": project},
            )
    earlier = Finding("volumes_by_host", "orphan", "volumes_by_host", {"host": "h"})
    write_validation(
        tmp_path,
        backend="magnetodb",
        mode="offline",
        checks=[CheckSummary("volumes_by_host", "index", checked=3, orphan=1)],
        findings=[earlier],
        seconds=0.5,
    )

    found = validate_quotas(tmp_path, backends)

    assert [r.label for r in found] == ["sqlite", "magnetodb"]
    assert found[1].findings == []
    data = json.loads((tmp_path / "validation.json").read_text())
    assert data["ok"] is False
    assert data["backends"] == ["magnetodb", "sqlite"]
    assert data["findings"][0]["check"] == "volumes_by_host"  # the dual-write finding stays
    (quota,) = data["findings"][1:]
    assert quota["check"] == "quota:sqlite"
    assert quota["class"] == "usage_mismatch"
    assert quota["key"] == {"project_id": project, "resource": "gigabytes"}
    assert (quota["field"], quota["expected"], quota["actual"]) == ("in_use", in_use, in_use + 7)
    assert quota["attributed_to"], quota
    cause = quota["attributed_to"][-1]
    assert set(cause["calls"]) & QUOTA_WRITES
    assert cause["backend"] == "sqlite"
    assert quota["explanation"]
    rows = {row["name"]: row for row in data["checks"]}
    assert rows["quota:sqlite:in_use"]["usage_mismatch"] == 1
    assert rows["quota:magnetodb:reservations_set"]["checked"] > 0
    assert "quota:sqlite:reservations_set" not in rows  # a MagnetoDB-only invariant
